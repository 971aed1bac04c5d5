import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import RegistryCore

/// What a handler gets: the parsed request, its body bytes and the authenticated caller.
struct APIRequest: Sendable {
    let request: Request
    let context: ServerContext
    let body: [UInt8]

    /// The caller of a route that requires a role (public routes have none).
    var caller: Caller {
        get throws(RegistryError) {
            guard let caller = context.caller else { throw RegistryError(.unauthenticated, "this route needs a bearer token") }
            return caller
        }
    }

    func parameter(_ name: String) throws(RegistryError) -> String {
        guard let value = context.parameters.get(name) else { throw RegistryError(.invalidArgument, "the path has no \(name)") }
        // Bytes, not `String.contains(_:)`: Foundation's substring search cost ~4,800 instructions
        // on every request with a path parameter.
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
    /// Creating POSTs honour `Idempotency-Key`.
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
    /// Authenticates, checks the role, reads the body, applies idempotency, runs the handler and
    /// renders registry errors as problem documents: the same for every route.
    func respond(to request: Request, context: ServerContext, registry: Registry) async throws -> Response {
        var context = context
        let operation = "\(method.rawValue) \(path)"
        if let role {
            let caller = try authenticate(request, registry: registry)
            context.caller = caller
            context.record.actor = caller.name
            guard caller.role >= role else {
                let reason = "\(operation) needs the \(role.rawValue) role; \(caller.name) is \(caller.role.rawValue)"
                try await registry.recordDenied(caller, operation: operation, reason: reason, model: context.parameters.get("name"))
                throw RegistryError(.permissionDenied, reason)
            }
        }
        let body = method == .get ? [] : try await Array(buffer: request.body.collect(upTo: maxBodyBytes))
        let apiRequest = APIRequest(request: request, context: context, body: body)
        if method == .get { return try await run(apiRequest, registry: registry, operation: operation).hummingbird }
        return try await change(apiRequest, registry: registry, operation: operation).hummingbird
    }

    /// Runs a changing request, honouring `Idempotency-Key` on the routes that take one.
    private func change(_ apiRequest: APIRequest, registry: Registry, operation: String) async throws -> APIResponse {
        let request = apiRequest.request
        guard idempotent, let key = request.headers[.idempotencyKey], let caller = apiRequest.context.caller else {
            return try await run(apiRequest, registry: registry, operation: operation)
        }
        // The key identifies one request: the same key with another target, query or body is a
        // client error, not a replay.
        let target = "\(request.method.rawValue) \(request.uri.description)\n\(request.headers[.contentType] ?? "")\n"
        let requestHash = AuditChain.sha256(Array(target.utf8) + apiRequest.body)
        switch try await registry.claimIdempotencyKey(
            key, actor: caller.name, method: request.method.rawValue, path: request.uri.path, requestHash: requestHash)
        {
        case .replay(let status, let contentType, let headers, let body):
            var response = APIResponse(status: HTTPResponse.Status(code: status), contentType: contentType, body: body)
            for (name, value) in headers { if let field = HTTPField.Name(name) { response.headers[field] = value } }
            response.headers[.idempotentReplayed] = "true"
            return response
        case .conflict(let message):
            throw RegistryError(.conflict, message)
        case .inProgress(let message):
            // A client that lost the first answer retries with the key; this tells it when.
            var problem = Problem(RegistryError(.conflict, message))
            problem.requestID = apiRequest.context.requestID
            var response = problem.response
            response.headers[.retryAfter] = "1"
            return response
        case .claimed:
            let response = try await run(apiRequest, registry: registry, operation: operation)
            if response.status.code >= 500 {
                try? await registry.releaseIdempotencyKey(key, actor: caller.name)
            } else {
                let replayed = Dictionary(response.headers.map { ($0.name.canonicalName, $0.value) }, uniquingKeysWith: { first, _ in first })
                try await registry.completeIdempotencyKey(
                    key, actor: caller.name, status: response.status.code, contentType: response.contentType, headers: replayed,
                    body: response.body)
            }
            return response
        }
    }

    private func run(_ request: APIRequest, registry: Registry, operation: String) async throws -> APIResponse {
        do {
            return try await handler(request)
        } catch let error as RegistryError {
            if error.code == .permissionDenied, let caller = request.context.caller {
                try? await registry.recordDenied(caller, operation: operation, reason: error.message, model: request.context.parameters.get("name"))
            }
            var problem = Problem(error)
            problem.requestID = request.context.requestID
            return problem.response
        }
    }

    private func authenticate(_ request: Request, registry: Registry) throws(RegistryError) -> Caller {
        guard let header = request.headers[.authorization] else {
            throw RegistryError(.unauthenticated, "this route needs a bearer token: Authorization: Bearer mreg_…")
        }
        guard let token = Self.bearerToken(header), let caller = try registry.caller(forToken: token) else {
            throw RegistryError(.unauthenticated, "the bearer token is unknown or revoked")
        }
        return caller
    }

    private static let bearerScheme = Array("bearer ".utf8)

    /// The token of `Bearer <token>` (scheme case-insensitive, RFC 9110 §11.1), read on the
    /// UTF-8 bytes: this runs on every request. (Through `zip`, `drop` and `reversed` on the
    /// `UTF8View` it cost ~3,800 instructions; on the buffer, a few hundred.)
    static func bearerToken(_ header: String) -> String? {
        var header = header
        return header.withUTF8 { bytes -> String? in
            let scheme = bearerScheme
            guard bytes.count > scheme.count else { return nil }
            for (byte, expected) in zip(bytes, scheme) where byte | 0x20 != expected { return nil }
            var start = scheme.count
            var end = bytes.count
            while start < end, bytes[start] == 0x20 { start += 1 }
            while end > start, bytes[end - 1] == 0x20 { end -= 1 }
            return start == end ? nil : String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
    }
}

extension HTTPField.Name {
    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!
    static let idempotentReplayed = HTTPField.Name("Idempotent-Replayed")!
    static let requestID = HTTPField.Name("X-Request-ID")!
}
