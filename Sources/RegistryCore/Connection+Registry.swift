import Foundation
import SQLite

/// A model's row.
struct ModelRow {
    let id: Int64
    let name: String
}

/// Queries and writes shared by the registry's operations, always run inside the caller's
/// transaction.
extension Connection {
    func modelRow(named name: String) throws -> ModelRow {
        guard let row = try queryFirst("SELECT id FROM models WHERE name = ?", [name]) else {
            throw RegistryError(.notFound, "model \"\(name)\" does not exist")
        }
        return ModelRow(id: try row.int64(0), name: name)
    }

    func insertModel(name: String, description: String, actor: String, at: Timestamp) throws -> ModelRow {
        try execute(
            "INSERT INTO models (name, description, created_by, created_at) VALUES (?, ?, ?, ?)",
            [name, description, actor, at.millisecondsSinceEpoch])
        let id = lastInsertRowID
        for branch in Branch.allCases {
            try execute(
                "INSERT INTO branches (model_id, name, version, updated_at) VALUES (?, ?, NULL, ?)",
                [id, branch.rawValue, at.millisecondsSinceEpoch])
        }
        try appendAudit(
            at: at, actor: actor, action: "model.create", model: name, version: nil, branch: nil,
            details: ["description": .string(description)])
        return ModelRow(id: id, name: name)
    }

    /// Writes version `number` of `model` (checked by the caller) and moves `develop` to it,
    /// with the transition and audit entry of a registration.
    func insertVersion(_ model: ModelRow, number: Int, _ request: RegisterRequest, actor: String, at: Timestamp) throws -> ModelVersion {
        let content = VersionContent(
            artifactURI: request.artifactURI, digest: request.digest, params: JSONCoding.text(request.params),
            metrics: JSONCoding.text(request.metrics), tags: JSONCoding.text(request.tags), parent: request.parent,
            description: request.description)
        try execute(
            """
            INSERT INTO versions (model_id, version, artifact_uri, digest, params, metrics, tags, parent, description,
                                  status, created_by, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)
            """,
            [
                model.id, number, content.artifactURI,
                content.digest, content.params,
                content.metrics, content.tags,
                content.parent, content.description, actor,
                at.millisecondsSinceEpoch,
            ])
        _ = try moveBranch(
            model, .develop, from: try branchHeads(model).develop, to: number, kind: .register, actor: actor, reason: "", gates: [],
            at: at, auditAction: "version.register",
            auditDetails: [
                "artifact_uri": .string(request.artifactURI), "digest": JSONValue(request.digest),
                "parent": JSONValue(request.parent), "content_sha256": .string(content.sha256),
            ])
        return ModelVersion(
            model: model.name, version: number, artifactURI: request.artifactURI, digest: request.digest, params: request.params,
            metrics: request.metrics, tags: request.tags, parent: request.parent, description: request.description,
            status: .active, createdBy: actor, createdAt: at)
    }

    func branchHeads(_ model: ModelRow) throws -> BranchHeads {
        var heads = BranchHeads()
        try forEachRow("SELECT name, version FROM branches WHERE model_id = ?", [model.id]) { row in
            if let version = try row.optionalInt(1) { heads[try row.value(0, as: Branch.self)] = version }
        }
        return heads
    }

    func version(_ model: ModelRow, _ number: Int) throws -> ModelVersion {
        var found: ModelVersion?
        try forEachRow(
            "SELECT \(ModelVersion.columns) FROM versions WHERE model_id = ? AND version = ?",
            [model.id, number]
        ) { (statement: Statement) throws in found = try ModelVersion(model: model.name, statement: statement) }
        guard let found else { throw RegistryError(.notFound, "model \"\(model.name)\" has no version \(number)") }
        return found
    }

    /// Whether `version` has ever been on `branch`.
    func hasBeenOn(_ model: ModelRow, _ branch: Branch, version: Int) throws -> Bool {
        try queryFirst(
            "SELECT 1 FROM transitions WHERE model_id = ? AND branch = ? AND to_version = ? LIMIT 1",
            [model.id, branch.rawValue, version]) != nil
    }

    /// The version `branch` held at `time` (the target of its last transition at or before it).
    func versionOn(_ model: ModelRow, _ branch: Branch, at time: Timestamp) throws -> Int? {
        try queryFirst(
            """
            SELECT to_version FROM transitions WHERE model_id = ? AND branch = ? AND at <= ?
            ORDER BY at DESC, id DESC LIMIT 1
            """, [model.id, branch.rawValue, time.millisecondsSinceEpoch]
        )?.optionalInt(0)
    }

    /// Resolves a reference to a version number.
    func resolve(_ model: ModelRow, _ ref: VersionRef) throws -> Int {
        switch ref {
        case .number(let number):
            return number
        case .branch(let branch):
            guard let number = try branchHeads(model)[branch] else {
                throw RegistryError(.notFound, "branch \(branch.rawValue) of model \"\(model.name)\" holds no version")
            }
            return number
        case .branchAt(let branch, let time):
            guard let number = try versionOn(model, branch, at: time) else {
                throw RegistryError(.notFound, "branch \(branch.rawValue) of model \"\(model.name)\" held no version at \(time)")
            }
            return number
        }
    }

    /// Moves a branch and records the transition and its audit entry.
    func moveBranch(
        _ model: ModelRow, _ branch: Branch, from: Int?, to: Int, kind: Transition.Kind, actor: String, reason: String,
        gates: [GateResult], at: Timestamp, auditAction: String, auditDetails: [String: JSONValue] = [:]
    ) throws -> Int {
        try execute(
            "UPDATE branches SET version = ?, updated_at = ? WHERE model_id = ? AND name = ?",
            [to, at.millisecondsSinceEpoch, model.id, branch.rawValue])
        try execute(
            """
            INSERT INTO transitions (model_id, kind, branch, from_version, to_version, actor, reason, at, gates)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                model.id, kind.rawValue, branch.rawValue, from,
                to, actor, reason, at.millisecondsSinceEpoch,
                JSONCoding.text(gates),
            ])
        let transitionID = Int(lastInsertRowID)
        var details = auditDetails
        details.reserveCapacity(auditDetails.count + 6)  // one allocation for the keys below
        details["transition_id"] = JSONValue(transitionID)
        details["kind"] = .string(kind.rawValue)
        details["from_version"] = JSONValue(from)
        details["to_version"] = JSONValue(to)
        if !reason.isEmpty { details["reason"] = .string(reason) }
        if !gates.isEmpty { details["gates"] = .array(gates.map(\.jsonValue)) }
        try appendAudit(at: at, actor: actor, action: auditAction, model: model.name, version: to, branch: branch.rawValue, details: details)
        return transitionID
    }

    /// Appends one entry to the audit log, chained to the previous one (docs/AUDIT.md), and
    /// indexes the entries before it when it completes a batch (`AuditIndex`).
    func appendAudit(
        at: Timestamp, actor: String, action: String, model: String?, version: Int?, branch: String?,
        details: [String: JSONValue]
    ) throws {
        var seq = 1
        var previous = AuditChain.genesis
        try forEachRow("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1") { row in
            seq = try row.int(0) + 1
            previous = row.withBytes(1) { Array($0) }
        }
        let detailsText = JSONCoding.text(details)
        var canonical: [UInt8] = []
        canonical.reserveCapacity(256 + detailsText.utf8.count)
        AuditChain.canonicalBytes(
            form: AuditChain.currentForm, seq: seq, at: at.millisecondsSinceEpoch, actor: actor, action: action, model: model, version: version,
            branch: branch, details: detailsText, into: &canonical)
        let hash = AuditChain.hash(previous: previous, canonical: canonical)
        try execute(
            """
            INSERT INTO audit_log (seq, at, actor, action, model, version, branch, details, prev_hash, hash, form)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            [
                seq, at.millisecondsSinceEpoch, actor, action,
                model, version,
                branch, detailsText, previous, hash, AuditChain.currentForm,
            ])
        try AuditIndex.catchUp(through: seq, on: self)
    }
}


extension Connection {
    /// Runs `sql`, a page query whose last parameter is its `LIMIT`, with `limit + 1` for it:
    /// `body` sees the first `limit` rows and answers each one's key. The row past the page,
    /// if there is one, says another page follows. Returns that page's cursor (the last key
    /// seen), or nil.
    func forEachRowOfPage(
        _ sql: String, _ arguments: [any SQLiteBindable], limit: Int, _ body: (Statement) throws -> Int
    ) throws -> String? {
        var count = 0
        var last: Int?
        var more = false
        try forEachRow(sql, arguments + [limit + 1]) { (statement: Statement) throws in
            guard count < limit else { more = true; return }
            last = try body(statement)
            count += 1
        }
        return more ? last.map { Cursor.encode(Int64($0)) } : nil
    }
}

extension ModelVersion {
    /// The columns `init(model:statement:)` and `appendJSON(model:statement:to:)` read, in order.
    static let columns = "version, artifact_uri, digest, params, metrics, tags, parent, description, status, created_by, created_at"

    /// Builds a version from the row `statement` is on (selected with `columns`).
    /// - Throws: `SQLITE_MISMATCH` naming the column when a stored map is not a JSON object.
    init(model: String, statement: Statement) throws {
        let map = { (column: Int) throws -> JSONValue in
            let value = try statement.withBytes(column) { try JSONParser.parse($0) }
            guard case .object = value else { throw statement.mismatch(column, "a JSON object") }
            return value
        }
        self.init(
            model: model,
            version: try statement.int(0),
            artifactURI: try statement.text(1),
            digest: try statement.optionalText(2),
            params: try JSONValueDecoder.decode([String: String].self, from: try map(3), at: []),
            metrics: try JSONValueDecoder.decode([String: Double].self, from: try map(4), at: []),
            tags: try JSONValueDecoder.decode([String: String].self, from: try map(5), at: []),
            parent: try statement.optionalInt(6),
            description: try statement.text(7),
            status: try statement.value(8, as: Status.self),
            createdBy: try statement.text(9),
            createdAt: Timestamp(millisecondsSinceEpoch: try statement.int64(10)))
    }

    /// Writes what `ModelVersion(model:statement:).appendJSON(to:)` writes, for pages of
    /// versions, without building the version: the stored params, metrics and tags are copied
    /// as they are. The registry stores them with the writer the API answers with
    /// (`JSONCoding.text`), and the schema's `json_valid` checks make them valid JSON. Decoding
    /// them into dictionaries and writing them again made a page of 50 versions four times as
    /// slow (BENCHMARKS.md, "#17: one JSON path"); this is the one fast path of the reads. A
    /// map not stored as a bare `{…}` is read and written again.
    /// - Throws: `SQLITE_MISMATCH` naming the column when a stored map is not a JSON object.
    static func appendJSON(model: String, statement: Statement, to out: inout [UInt8]) throws {
        let bare = { (column: Int) in statement.withBytes(column) { $0.first == UInt8(ascii: "{") && $0.last == UInt8(ascii: "}") } }
        guard bare(3), bare(4), bare(5) else {
            // Stored by something other than the registry: read and written again.
            try ModelVersion(model: model, statement: statement).appendJSON(to: &out)
            return
        }
        let copy = { (column: Int) in { (out: inout [UInt8]) in statement.withBytes(column) { out.append(contentsOf: $0) } } }
        appendJSON(
            to: &out, model: model, version: try statement.int(0), artifactURI: try statement.text(1),
            digest: try statement.optionalText(2), parent: try statement.optionalInt(6),
            description: try statement.text(7), status: try statement.value(8, as: Status.self), createdBy: try statement.text(9),
            createdAt: Timestamp(millisecondsSinceEpoch: try statement.int64(10)), params: copy(3), metrics: copy(4), tags: copy(5))
    }
}
