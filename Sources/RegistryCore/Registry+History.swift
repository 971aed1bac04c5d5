import Foundation
import SQLite

extension Registry {
    /// The transitions of a model (optionally of one branch), newest first.
    public func history(model name: String, branch: Branch? = nil, limit: Int = 50, cursor: String? = nil) throws(RegistryError) -> History {
        try validate(limit: limit)
        let before = try cursor.map { (c: String) throws(RegistryError) in try Cursor.decodeInteger(c) } ?? Int64.max
        return try read { connection in
            let model = try connection.modelRow(named: name)
            let sql = branch == nil
                ? "SELECT \(Transition.columns) FROM transitions WHERE model_id = ? AND id < ? ORDER BY id DESC LIMIT ?"
                : "SELECT \(Transition.columns) FROM transitions WHERE model_id = ? AND id < ? AND branch = ? ORDER BY id DESC LIMIT ?"
            var arguments: [Value] = [.integer(model.id), .integer(before)]
            if let branch { arguments.append(.text(branch.rawValue)) }
            arguments.append(.integer(Int64(limit + 1)))
            var transitions = try connection.query(sql, arguments).map { try Transition(model: name, row: $0) }
            let more = transitions.count > limit
            if more { transitions.removeLast() }
            return History(
                model: name, transitions: transitions,
                nextCursor: more ? transitions.last.map { Cursor.encode(Int64($0.id)) } : nil)
        }
    }

    /// The version each branch held at `time`.
    public func branches(model name: String, at time: Timestamp) throws(RegistryError) -> BranchesAt {
        try read { connection in
            let model = try connection.modelRow(named: name)
            var heads = BranchHeads()
            for branch in Branch.allCases { heads[branch] = try connection.versionOn(model, branch, at: time) }
            return BranchesAt(model: name, at: time, branches: heads)
        }
    }

    /// One branch pointer as it stands now, with the transition that set it.
    public func branch(model name: String, _ branch: Branch) throws(RegistryError) -> BranchState {
        try read { connection in try connection.branchState(connection.modelRow(named: name), branch) }
    }
}

extension Connection {
    func branchState(_ model: ModelRow, _ branch: Branch) throws -> BranchState {
        guard let row = try queryFirst(
            """
            SELECT b.version, b.updated_at,
                   (SELECT max(id) FROM transitions WHERE model_id = b.model_id AND branch = b.name)
            FROM branches b WHERE b.model_id = ? AND b.name = ?
            """, [.integer(model.id), .text(branch.rawValue)])
        else { throw RegistryError.notFound("model \"\(model.name)\" has no branch \(branch.rawValue)") }
        return BranchState(
            model: model.name, branch: branch, version: row.optionalInt(0), transitionID: row.optionalInt(2),
            updatedAt: Timestamp(millisecondsSinceEpoch: Int64(try row.int(1))))
    }

    /// Refuses a change when the branch moved since the caller read its entity tag.
    func checkETag(_ ifMatch: String?, _ model: ModelRow, _ branch: Branch) throws {
        guard let ifMatch, ifMatch != "*" else { return }
        let state = try branchState(model, branch)
        let offered = ifMatch.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard offered.contains(state.etag) || offered.contains("W/" + state.etag) else {
            throw RegistryError(
                .preconditionFailed,
                "branch \(branch.rawValue) of model \"\(model.name)\" changed since it was read (it is now \(state.etag), not \(ifMatch)); reload and retry")
        }
    }
}

extension Transition {
    static let columns = "id, kind, branch, from_version, to_version, actor, reason, at, gates"

    init(model: String, row: Row) throws {
        self.init(
            id: try row.int(0), model: model, kind: Kind(rawValue: try row.string(1)) ?? .promote,
            branch: Branch(rawValue: try row.string(2)) ?? .develop, fromVersion: row.optionalInt(3),
            toVersion: try row.int(4), actor: try row.string(5), reason: try row.string(6),
            at: Timestamp(millisecondsSinceEpoch: Int64(try row.int(7))),
            gates: try JSONCoding.decode([GateResult].self, from: try row.string(8)))
    }
}
