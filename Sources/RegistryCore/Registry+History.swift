import Foundation
import SQLite

extension Registry {
    /// The transitions of a model (optionally of one branch), newest first.
    public func history(model name: String, branch: Branch? = nil, limit: Int = 50, cursor: String? = nil) throws(RegistryError) -> History {
        var transitions: [Transition] = []
        transitions.reserveCapacity(limit)
        let nextCursor = try forEachTransition(model: name, branch: branch, limit: limit, cursor: cursor) { model, statement in
            transitions.append(try Transition(model: model, statement: statement))
            return transitions[transitions.count - 1].id
        }
        return History(model: name, transitions: transitions, nextCursor: nextCursor)
    }

    /// Calls `body` on the rows of a page of a model's transitions (selected with
    /// `Transition.columns`), newest first; `body` answers the row's id. Returns the next
    /// page's cursor.
    private func forEachTransition(
        model name: String, branch: Branch?, limit: Int, cursor: String?, _ body: (_ model: String, Statement) throws -> Int
    ) throws(RegistryError) -> String? {
        try validate(limit: limit)
        let before = try cursor.map { (c: String) throws(RegistryError) in try Cursor.decodeInteger(c) } ?? Int64.max
        return try read { connection in
            let model = try connection.modelRow(named: name)
            let sql = branch == nil
                ? "SELECT \(Transition.columns) FROM transitions WHERE model_id = ? AND id < ? ORDER BY id DESC LIMIT ?"
                : "SELECT \(Transition.columns) FROM transitions WHERE model_id = ? AND id < ? AND branch = ? ORDER BY id DESC LIMIT ?"
            var arguments: [any SQLiteBindable] = [model.id, before]
            if let branch { arguments.append(branch.rawValue) }
            return try connection.forEachRowOfPage(sql, arguments, limit: limit) { statement in try body(name, statement) }
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
            """, [model.id, branch.rawValue])
        else { throw RegistryError(.notFound, "model \"\(model.name)\" has no branch \(branch.rawValue)") }
        return BranchState(
            model: model.name, branch: branch, version: try row.optionalInt(0), transitionID: try row.optionalInt(2),
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

    /// Builds a transition from the row `statement` is on (selected with `columns`).
    init(model: String, statement: Statement) throws {
        self.init(
            id: try statement.int(0), model: model, kind: try statement.value(1, as: Kind.self),
            branch: try statement.value(2, as: Branch.self), fromVersion: try statement.optionalInt(3),
            toVersion: try statement.int(4), actor: try statement.text(5), reason: try statement.text(6),
            at: Timestamp(millisecondsSinceEpoch: try statement.int64(7)),
            gates: try JSONCoding.decode([GateResult].self, from: try statement.text(8)))
    }
}
