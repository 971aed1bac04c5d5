import Foundation
import HTTPTypes
import Hummingbird
import RegistryCore

/// What a handler gets: the parsed request, its body bytes and the authenticated caller.
struct APIRequest: Sendable {
    let request: Request
    /// The caller is set on it by `Authentication`.
    var context: ServerContext
    /// Read by `RequestBody`; empty before, and for GET.
    var body: [UInt8]
    /// Set by `Idempotency` on a creating route's request that carries an `Idempotency-Key`.
    var idempotencyKey: IdempotencyKey? = nil

    /// The caller of a route that requires a role (public routes have none).
    var caller: Caller {
        get throws(RegistryError) {
            guard let caller = context.caller else { throw RegistryError(.unauthenticated, "this route needs a bearer token") }
            return caller
        }
    }

    func parameter(_ name: String) throws(RegistryError) -> String {
        guard let value = context.parameters.get(name) else { throw RegistryError(.invalidArgument, "the path has no \(name)") }
        // Bytes, not `String.contains(_:)`: Foundation's substring search was measurable on every
        // request with a path parameter (BENCHMARKS.md).
        return value.utf8.contains(UInt8(ascii: "%")) ? value.removingPercentEncoding ?? value : value
    }

    func intParameter(_ name: String) throws(RegistryError) -> Int {
        let text = try parameter(name)
        guard let value = Int(text), value > 0 else {
            throw RegistryError(.invalidArgument, "\(name) must be a positive whole number, not \"\(text)\"")
        }
        return value
    }

    func query(_ name: String) -> String? {
        request.uri.queryParameters[Substring(name)].map(String.init)
    }

    func intQuery(_ name: String, default value: Int) throws(RegistryError) -> Int {
        guard let text = query(name) else { return value }
        guard let number = Int(text) else { throw RegistryError(.invalidArgument, "\(name) must be a whole number, not \"\(text)\"") }
        return number
    }

    func boolQuery(_ name: String, default value: Bool) throws(RegistryError) -> Bool {
        switch query(name) {
        case nil: return value
        case "true"?: return true
        case "false"?: return false
        case let text?: throw RegistryError(.invalidArgument, "\(name) must be true or false, not \"\(text)\"")
        }
    }

    func timeQuery(_ name: String) throws(RegistryError) -> Timestamp? {
        guard let text = query(name) else { return nil }
        guard let time = Timestamp(rfc3339: text) else {
            throw RegistryError(.invalidArgument, "\(name) must be an RFC 3339 time such as 2026-11-22T16:48:55Z, not \"\(text)\"")
        }
        return time
    }

    /// The repeated `metric=name=number` query parameters.
    func metricQueries() throws(RegistryError) -> [String: Double] {
        try request.uri.queryParameters.getAll("metric").map { (text: String) throws(RegistryError) in
            guard let metric = MetricAssignment(text) else {
                throw RegistryError(.invalidArgument, "metric must be name=number, not \"\(text)\"")
            }
            return metric
        }.dictionary()
    }

    func header(_ name: HTTPField.Name) -> String? { request.headers[name] }

    /// Decodes the JSON body, naming the field that is wrong.
    func decode<T: Decodable>(_ type: T.Type, allowedKeys: Set<String>? = nil) throws(RegistryError) -> T {
        try RequestDecoding.decode(type, from: Data(body), allowedKeys: allowedKeys)
    }
}

/// One endpoint of the API: its method, path, the role it needs, and its handler.
/// `APIRoutes.all` lists every one of them; the OpenAPI test checks the document against it.
struct Route: Sendable {
    typealias Handler = @Sendable (APIRequest) async throws -> APIResponse

    let method: HTTPRequest.Method
    /// With `{parameter}` placeholders, as in the OpenAPI document.
    let path: String
    /// `nil`: public, no token needed.
    let role: Role?
    /// Creating POSTs honour `Idempotency-Key`: their handlers make their change with
    /// `Registry.answer(_:applying:_:)`.
    let idempotent: Bool
    let maxBodyBytes: Int
    let handler: Handler

    static let defaultMaxBody = 1 << 20

    init(
        _ method: HTTPRequest.Method, _ path: String, role: Role?, idempotent: Bool = false, maxBodyBytes: Int = defaultMaxBody,
        handler: @escaping Handler
    ) {
        self.method = method
        self.path = path
        self.role = role
        self.idempotent = idempotent
        self.maxBodyBytes = maxBodyBytes
        self.handler = handler
    }
}

extension Route {
    /// `METHOD /path/{template}`, as refusals and the audit name the operation.
    var operation: String { "\(method.rawValue) \(path)" }
}
