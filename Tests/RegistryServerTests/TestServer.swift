import Foundation
import MregTestSupport
import Hummingbird
import HummingbirdTesting
import RegistryCore
import Testing

@testable import RegistryServer

/// One bearer token per role, created through the registry as an operator would. A token's
/// name is the actor of every change made with it.
struct Tokens: Sendable {
    private let secrets: [Role: String]
    /// A second release manager (approvals need distinct actors).
    let secondReleaseManager: String
    /// An engineer token that has been revoked.
    let revoked: String

    static let names: [Role: String] = [
        .reader: "reed", .auditor: "audrey", .engineer: "eddie", .releaseManager: "rita", .admin: "ada",
    ]
    static let secondReleaseManagerName = "remy"

    init(_ registry: Registry) async throws {
        let operatorCaller = Caller(name: "operator", role: .admin)
        var secrets: [Role: String] = [:]
        for role in Role.allCases {
            secrets[role] = try await registry.createToken(name: Self.names[role] ?? role.rawValue, role: role, by: operatorCaller).token
        }
        self.secrets = secrets
        secondReleaseManager = try await registry.createToken(name: Self.secondReleaseManagerName, role: .releaseManager, by: operatorCaller).token
        let revoked = try await registry.createToken(name: "gone", role: .engineer, by: operatorCaller)
        _ = try await registry.revokeToken(id: revoked.id, by: operatorCaller)
        self.revoked = revoked.token
    }

    subscript(role: Role) -> String { secrets[role] ?? "" }
}

/// What the server answered to one request.
struct Reply: Sendable, CustomStringConvertible {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let bytes: [UInt8]

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// The body as a JSON object (empty when it is not one).
    var object: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]) ?? [:] }

    subscript(key: String) -> Any? { object[key] }

    /// The `items` of a list answer.
    var items: [[String: Any]] { object["items"] as? [[String: Any]] ?? [] }

    /// `next_cursor` of a list answer: `nil` on the last page.
    var nextCursor: String? { object["next_cursor"] as? String }

    /// A problem document's stable `code`.
    var code: String? { object["code"] as? String }

    /// A problem document's `detail`.
    var detail: String { object["detail"] as? String ?? "" }

    var description: String { "\(status.code) \(headers[.contentType] ?? "-") \(text.prefix(600))" }

    /// Expects `status` and, for an error, the problem `code` and words of its `detail`.
    func expect(
        _ status: HTTPResponse.Status, code: String? = nil, detailMentions words: String...,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(self.status == status, "\(self)", sourceLocation: sourceLocation)
        if let code {
            #expect(self.code == code, "\(self)", sourceLocation: sourceLocation)
        }
        for word in words {
            #expect(detail.contains(word), "detail should mention \(word): \(self)", sourceLocation: sourceLocation)
        }
    }
}

/// A registry on a real file in a temporary directory, the application built on it as
/// `mreg serve` builds it, and a client that sends requests straight to its router.
struct TestServer: Sendable {
    let registry: Registry
    let client: any TestClientProtocol
    let tokens: Tokens

    /// Sends a request and checks what every answer must have: an `X-Request-ID`, no 5xx
    /// (unless `serverError` allows it), and for every error a complete problem document whose
    /// `request_id` matches.
    /// - Parameters:
    ///   - role: whose token goes in `Authorization` (`nil`: none; pass your own in `headers`).
    ///   - json: the body, sent as `application/json`.
    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ uri: String, as role: Role? = .admin, json: String? = nil, body: [UInt8]? = nil,
        headers: HTTPFields = [:], serverError: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Reply {
        var fields = headers
        if let role, fields[.authorization] == nil { fields[.authorization] = "Bearer \(tokens[role])" }
        var payload = body
        if let json {
            payload = Array(json.utf8)
            if fields[.contentType] == nil { fields[.contentType] = "application/json" }
        }
        let reply = try await client.execute(uri: uri, method: method, headers: fields, body: payload.map { ByteBuffer(bytes: $0) }) {
            Reply(status: $0.status, headers: $0.headers, bytes: Array(buffer: $0.body))
        }
        let requestID = reply.headers[.requestID] ?? ""
        #expect(!requestID.isEmpty, "no X-Request-ID on \(method) \(uri)", sourceLocation: sourceLocation)
        #expect(serverError || reply.status.code < 500, "\(method) \(uri) → \(reply)", sourceLocation: sourceLocation)
        if reply.status.code >= 400 {
            expectProblem(reply, requestID: requestID, sourceLocation: sourceLocation)
        }
        return reply
    }

    /// The fields RFC 9457 and the contract ask of every error.
    private func expectProblem(_ reply: Reply, requestID: String, sourceLocation: SourceLocation) {
        #expect(reply.headers[.contentType] == "application/problem+json", "\(reply)", sourceLocation: sourceLocation)
        let problem = reply.object
        #expect((problem["type"] as? String)?.isEmpty == false, "no type: \(reply)", sourceLocation: sourceLocation)
        #expect((problem["title"] as? String)?.isEmpty == false, "no title: \(reply)", sourceLocation: sourceLocation)
        #expect(problem["status"] as? Int == reply.status.code, "status differs: \(reply)", sourceLocation: sourceLocation)
        #expect(!reply.detail.isEmpty, "no detail: \(reply)", sourceLocation: sourceLocation)
        let codes = Set(RegistryError.Code.allCases.map(\.rawValue))
        #expect(reply.code.map(codes.contains) == true, "unknown code: \(reply)", sourceLocation: sourceLocation)
        if reply.headers[.idempotentReplayed] == "true" {
            // A replay is the first response, with the first request's id.
            #expect((problem["request_id"] as? String)?.isEmpty == false, "no request_id: \(reply)", sourceLocation: sourceLocation)
        } else {
            #expect(problem["request_id"] as? String == requestID, "request_id differs from X-Request-ID: \(reply)", sourceLocation: sourceLocation)
        }
    }

    // MARK: Setting the stage through the registry

    static let setup = Caller(name: "setup", role: .admin)

    /// Registers a version of `model` (creating the model) and returns its number.
    @discardableResult
    func registerVersion(_ model: String = "m", metrics: [String: Double] = [:], digest: String? = nil) async throws -> Int {
        try await registry.register(
            model: model, RegisterRequest(artifactURI: "s3://models/\(model)/\(UUID().uuidString)", digest: digest, metrics: metrics),
            by: Self.setup
        ).version
    }

    func promote(_ model: String = "m", to branch: Branch, version: Int? = nil) async throws {
        _ = try await registry.promote(model: model, PromoteRequest(to: branch, version: version), by: Self.setup)
    }

    /// Registers a version and walks it up to master.
    @discardableResult
    func ship(_ model: String = "m") async throws -> Int {
        let version = try await registerVersion(model)
        try await promote(model, to: .release, version: version)
        try await promote(model, to: .master, version: version)
        return version
    }

    /// How many entries the audit log holds.
    func auditCount() throws -> Int { try registry.verifyAudit().entries }

    /// The newest audit entry.
    func newestAudit() throws -> AuditEntry? { try registry.auditLog(AuditQuery(limit: 1)).items.first }

    /// How many versions the whole registry holds.
    func versionCount() throws -> Int { try registry.counts().versions }

    func head(_ model: String = "m", _ branch: Branch) throws -> Int? { try registry.branch(model: model, branch).version }
}

/// Runs `body` against a fresh server whose database lives in a temporary directory, removed
/// afterwards whether `body` returns or throws.
/// - Parameters:
///   - checkpointKey: the audit checkpoint signing key (`mreg serve --checkpoint-key`).
///   - prepare: runs on the database file's path before the server opens it.
/// - Parameter webhooks: by default a fresh secrets key, and loopback targets allowed.
func withTestServer(
    checkpointKey: String? = nil, webhooks: WebhookSettings = WebhookSettings(secretsKey: .generate(), allowPrivate: true),
    prepare: (String) throws -> Void = { _ in },
    _ body: @escaping @Sendable (TestServer) async throws -> Void
) async throws {
    try await withTemporaryDirectory { directory in
        try prepare(directory.file("mreg.db"))
        let registry = try Registry(path: directory.file("mreg.db"), workload: .server)
        let tokens = try await Tokens(registry)
        // Warnings only: the access log of hundreds of requests would bury the test output.
        let app = try buildApplication(
            ServerArguments(logLevel: .warning, checkpointKey: checkpointKey, webhooks: webhooks), registry: registry)
        try await app.test(.router) { client in
            try await body(TestServer(registry: registry, client: client, tokens: tokens))
        }
    }
}

/// `{name}`, `{ref}` and `{branch}` of a route path filled with `m`, `1` and `develop`.
func concretePath(_ template: String) -> String {
    template.replacingOccurrences(of: "{name}", with: "m").replacingOccurrences(of: "{ref}", with: "1")
        .replacingOccurrences(of: "{branch}", with: "develop")
}

/// `sha256:` and 64 hex digits made from `seed`.
func digest(_ seed: Int) -> String {
    let hex = String(seed, radix: 16)
    return "sha256:" + String(repeating: "0", count: 64 - hex.count) + hex
}
