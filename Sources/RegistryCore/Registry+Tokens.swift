import Crypto
import Foundation
import SQLite

/// An API token as listed (never the token itself).
public struct APIToken: Sendable, Codable, Hashable, JSONWritable {
    public let id: String
    public let name: String
    public let role: Role
    public let createdBy: String
    public let createdAt: Timestamp
    public let revokedAt: Timestamp?

    enum CodingKeys: String, CodingKey {
        case id, name, role
        case createdBy = "created_by"
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
    }
}

/// A newly created token: the only time the secret is shown.
public struct IssuedToken: Sendable, Codable, Hashable, JSONWritable {
    public let id: String
    public let name: String
    public let role: Role
    public let token: String
}

/// The body of `POST /v1/tokens`.
public struct TokenRequest: Sendable, Codable, Hashable, JSONWritable {
    public let name: String
    public let role: Role

    public init(name: String, role: Role) {
        self.name = name
        self.role = role
    }
}

extension Registry {
    /// Token secrets start with this, so they are recognisable in logs and secret scanners.
    public static let tokenPrefix = "mreg_"

    /// Creates a token; only its SHA-256 is stored.
    /// - Throws: `PERMISSION_DENIED` below admin, `INVALID_ARGUMENT` for an empty name.
    public func createToken(name: String, role: Role, by caller: Caller) async throws(RegistryError) -> IssuedToken {
        try caller.require(.admin, to: "create tokens")
        guard (1...128).contains(name.utf8.count), !name.contains(where: \.isNewline) else {
            throw RegistryError(.invalidArgument, "a token name must be 1 to 128 characters on one line")
        }
        let token = Self.newToken(name: name, role: role)
        let now = clock()
        try await write { connection in try connection.insertToken(token, by: caller.name, at: now) }
        return token
    }

    /// An admin token named `admin`, created by `system` when the registry has no token at all
    /// (the server's first start), in one transaction with that check: two servers starting on
    /// a new file create one between them.
    /// - Returns: the new token, or `nil` when a token already exists.
    public func createFirstAdminToken() async throws(RegistryError) -> IssuedToken? {
        let token = Self.newToken(name: "admin", role: .admin)
        let now = clock()
        let created = try await write { connection in
            guard try connection.queryFirst("SELECT 1 FROM tokens LIMIT 1") == nil else { return false }
            try connection.insertToken(token, by: "system", at: now)
            return true
        }
        return created ? token : nil
    }

    /// A new secret and id; only the secret's SHA-256 is ever stored.
    private static func newToken(name: String, role: Role) -> IssuedToken {
        var random = SystemRandomNumberGenerator()
        let secretBytes = (0..<24).map { _ in UInt8.random(in: .min ... .max, using: &random) }
        let idBytes = (0..<6).map { _ in UInt8.random(in: .min ... .max, using: &random) }
        return IssuedToken(id: "tok_" + AuditChain.hex(idBytes), name: name, role: role, token: tokenPrefix + AuditChain.hex(secretBytes))
    }

    /// Every token, revoked ones included.
    public func tokens() throws(RegistryError) -> [APIToken] {
        try read { connection in
            try connection.query("SELECT id, name, role, created_by, created_at, revoked_at FROM tokens ORDER BY created_at, id").map { row in
                APIToken(
                    id: try row.string(0), name: try row.string(1), role: try row.value(2, as: Role.self),
                    createdBy: try row.string(3), createdAt: Timestamp(millisecondsSinceEpoch: Int64(try row.int(4))),
                    revokedAt: try row.optionalInt(5).map { Timestamp(millisecondsSinceEpoch: Int64($0)) })
            }
        }
    }

    /// Revokes a token at once.
    /// - Throws: `NOT_FOUND`, `CONFLICT` when already revoked.
    public func revokeToken(id: String, by caller: Caller) async throws(RegistryError) -> APIToken {
        try caller.require(.admin, to: "revoke tokens")
        let now = clock()
        try await write { connection in
            guard let row = try connection.queryFirst("SELECT revoked_at FROM tokens WHERE id = ?", [id]) else {
                throw RegistryError(.notFound, "there is no token \(id)")
            }
            guard row[0].isNull else { throw RegistryError(.conflict, "token \(id) is already revoked") }
            try connection.execute("UPDATE tokens SET revoked_at = ? WHERE id = ?", [now.millisecondsSinceEpoch, id])
            try connection.appendAudit(
                at: now, actor: caller.name, action: "token.revoke", model: nil, version: nil, branch: nil,
                details: ["token_id": .string(id)])
        }
        guard let token = try tokens().first(where: { $0.id == id }) else { throw RegistryError(.notFound, "there is no token \(id)") }
        return token
    }

    /// The caller a bearer token stands for, or `nil` when it is unknown or revoked.
    /// The token's name becomes the actor of every change it makes.
    public func caller(forToken secret: String) throws(RegistryError) -> Caller? {
        guard secret.hasPrefix(Self.tokenPrefix) else { return nil }
        return try readSingleStatement { connection in
            guard let row = try connection.queryFirst(
                "SELECT name, role FROM tokens WHERE hash = ? AND revoked_at IS NULL", [Self.tokenHash(secret)])
            else { return nil }
            return Caller(name: try row.string(0), role: try row.value(1, as: Role.self))
        }
    }

    /// Records a request refused for its role: a `denied` audit entry (contract section 3).
    public func recordDenied(_ caller: Caller, operation: String, reason: String, model: String? = nil) async throws(RegistryError) {
        let now = clock()
        try await write { connection in
            try connection.appendAudit(
                at: now, actor: caller.name, action: "denied", model: model, version: nil, branch: nil,
                details: ["operation": .string(operation), "role": .string(caller.role.rawValue), "reason": .string(reason)])
        }
    }

    static func tokenHash(_ secret: String) -> [UInt8] { Array(SHA256.hash(data: Array(secret.utf8))) }
}

extension Connection {
    /// Stores `token` (its hash, never its secret) and its audit entry.
    fileprivate func insertToken(_ token: IssuedToken, by actor: String, at now: Timestamp) throws {
        try execute(
            "INSERT INTO tokens (id, name, role, hash, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            [token.id, token.name, token.role.rawValue, Registry.tokenHash(token.token), actor, now.millisecondsSinceEpoch])
        try appendAudit(
            at: now, actor: actor, action: "token.create", model: nil, version: nil, branch: nil,
            details: ["token_id": .string(token.id), "name": .string(token.name), "role": .string(token.role.rawValue)])
    }
}
