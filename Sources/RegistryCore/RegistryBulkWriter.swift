import SQLite

/// Writes registry changes straight onto a connection, as many per transaction as its caller
/// likes, with the registry's own row writers: the same rows, transitions and hash-chained
/// audit entries as `Registry`'s operations, so `verifyAudit` accepts the result and a schema
/// change reaches it without a second copy of the inserts. It checks nothing the operations
/// check (roles, digests, policy, gates): it is for building large databases to measure
/// (`mreg-bench`'s scale runs), never for a registry in use.
public struct RegistryBulkWriter {
    private let connection: Connection

    /// - Parameter connection: open on a database the registry has migrated.
    public init(connection: Connection) { self.connection = connection }

    /// Creates model `name` with its three empty branches.
    public func createModel(_ name: String, actor: String, at: Timestamp) throws {
        _ = try connection.insertModel(name: name, description: "", actor: actor, at: at)
    }

    /// Registers the model's next version and moves `develop` to it.
    /// - Returns: the version's number.
    public func register(model name: String, _ request: RegisterRequest, actor: String, at: Timestamp) throws -> Int {
        let model = try connection.modelRow(named: name)
        let number = try connection.queryFirst(
            "SELECT coalesce(max(version), 0) + 1 FROM versions WHERE model_id = ?", [model.id])?.int(0) ?? 1
        return try connection.insertVersion(model, number: number, request, actor: actor, at: at).version
    }

    /// Moves `branch` to `version` as a promotion that passed gates with nothing to report.
    public func promote(model name: String, to branch: Branch, version: Int, actor: String, at: Timestamp) throws {
        let model = try connection.modelRow(named: name)
        _ = try connection.moveBranch(
            model, branch, from: try connection.branchHeads(model)[branch], to: version, kind: .promote, actor: actor, reason: "",
            gates: [], at: at, auditAction: "branch.promote")
    }
}
