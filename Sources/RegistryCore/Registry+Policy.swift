import Foundation
import SQLite

/// One stored revision of a model's policy.
public struct PolicyRevision: Sendable, Codable, JSONWritable {
    public let model: String
    public let revision: Int
    /// SHA-256 (hex) of the document as submitted.
    public let sha256: String
    public let policy: Policy
    public let createdBy: String
    public let createdAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case model, revision, sha256, policy
        case createdBy = "created_by"
        case createdAt = "created_at"
    }
}

/// A recorded approval and where the version now stands.
public struct Approval: Sendable, Codable, JSONWritable {
    public let model: String
    public let version: Int
    public let to: Branch
    public let actor: String
    public let comment: String
    public let createdAt: Timestamp
    /// Distinct approvers of this version for `to`, the registrant included.
    public let approvers: [String]

    enum CodingKeys: String, CodingKey {
        case model, version, to, actor, comment, approvers
        case createdAt = "created_at"
    }
}

extension Registry {
    /// Validates and stores a new policy revision; earlier revisions stay readable.
    /// - Parameter document: YAML or JSON text (docs/POLICY.md).
    /// - Throws: `PERMISSION_DENIED` below admin, `INVALID_ARGUMENT` naming the line and key that
    ///   are wrong, `NOT_FOUND` for an unknown model.
    public func setPolicy(model name: String, document: String, by caller: Caller) async throws(RegistryError) -> PolicyRevision {
        try caller.require(.admin, to: "set policies")
        let policy = try PolicyDocument.parse(document)
        let sha256 = AuditChain.sha256(Array(document.utf8))
        // The stored form is the parsed policy; the entry commits to it as well as to the upload.
        let stored = JSONCoding.text(policy)
        let now = clock()
        return try await write { connection in
            let model = try connection.modelRow(named: name)
            let revision = (try connection.queryFirst(
                "SELECT coalesce(max(revision), 0) + 1 FROM policies WHERE model_id = ?", [model.id])?.int(0)) ?? 1
            try connection.execute(
                "INSERT INTO policies (model_id, revision, document, sha256, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [model.id, revision, stored, sha256,
                 caller.name, now.millisecondsSinceEpoch])
            try connection.appendAudit(
                at: now, actor: caller.name, action: "policy.set", model: name, version: nil, branch: nil,
                details: [
                    "revision": JSONValue(revision), "sha256": .string(sha256), "content_sha256": .string(AuditChain.sha256(Array(stored.utf8))),
                ])
            return PolicyRevision(model: name, revision: revision, sha256: sha256, policy: policy, createdBy: caller.name, createdAt: now)
        }
    }

    /// The current policy revision (or the one numbered `revision`).
    /// - Throws: `NOT_FOUND` when the model has no policy (or no such revision).
    public func policy(model name: String, revision: Int? = nil) throws(RegistryError) -> PolicyRevision {
        try read { connection in
            let model = try connection.modelRow(named: name)
            let row = try connection.queryFirst(
                """
                SELECT revision, document, sha256, created_by, created_at FROM policies
                WHERE model_id = ? AND (? IS NULL OR revision = ?) ORDER BY revision DESC LIMIT 1
                """, [model.id, revision, revision])
            guard let row else {
                throw RegistryError(.notFound, 
                    revision.map { "model \"\(name)\" has no policy revision \($0)" } ?? "model \"\(name)\" has no policy; set one with mreg policy set")
            }
            return PolicyRevision(
                model: name, revision: try row.int(0), sha256: try row.string(2),
                policy: try JSONCoding.decode(Policy.self, from: try row.string(1)), createdBy: try row.string(3),
                createdAt: Timestamp(millisecondsSinceEpoch: Int64(try row.int(4))))
        }
    }

    /// Records an approval of a version for a target branch.
    /// - Throws: `PERMISSION_DENIED` below release-manager, `NOT_FOUND`, `ALREADY_EXISTS` when
    ///   this actor already approved it (an approval counts once).
    public func approve(model name: String, version number: Int, to: Branch, comment: String = "", by caller: Caller) async throws(RegistryError) -> Approval {
        try await apply(approving(model: name, version: number, to: to, comment: comment, by: caller))
    }

    /// The change ``approve(model:version:to:comment:by:)`` makes.
    public func approving(model name: String, version number: Int, to: Branch, comment: String = "", by caller: Caller) throws(RegistryError) -> Change<Approval> {
        try caller.require(.releaseManager, to: "approve versions")
        guard to != .develop else { throw RegistryError(.invalidArgument, "approvals are for release or master") }
        let now = clock()
        return Change { connection in
            let model = try connection.modelRow(named: name)
            let versionID = try connection.versionID(model, number)
            if try connection.approvers(model, number, target: to).contains(caller.name) {
                throw RegistryError(.alreadyExists, "\(caller.name) already approved version \(number) of model \"\(name)\" for \(to.rawValue)")
            }
            try connection.execute(
                "INSERT INTO approvals (version_id, branch, actor, comment, created_at) VALUES (?, ?, ?, ?, ?)",
                [versionID, to.rawValue, caller.name, comment, now.millisecondsSinceEpoch])
            try connection.appendAudit(
                at: now, actor: caller.name, action: "approval.add", model: name, version: number, branch: to.rawValue,
                details: comment.isEmpty ? [:] : ["comment": .string(comment)])
            return Approval(
                model: name, version: number, to: to, actor: caller.name, comment: comment, createdAt: now,
                approvers: try connection.approvers(model, number, target: to))
        }
    }
}
