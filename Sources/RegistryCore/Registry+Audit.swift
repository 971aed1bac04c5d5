import Foundation
import SQLite

extension Registry {
    /// Audit entries matching `query`, newest first.
    public func auditLog(_ query: AuditQuery) throws(RegistryError) -> Page<AuditEntry> {
        try validate(limit: query.limit)
        let before = try query.cursor.map { (c: String) throws(RegistryError) in try Cursor.decodeInteger(c) } ?? Int64.max
        var conditions = ["seq < ?"]
        var arguments: [Value] = [.integer(before)]
        if let model = query.model { conditions.append("model = ?"); arguments.append(.text(model)) }
        if let actor = query.actor { conditions.append("actor = ?"); arguments.append(.text(actor)) }
        if let action = query.action { conditions.append("action = ?"); arguments.append(.text(action)) }
        if let since = query.since { conditions.append("at >= ?"); arguments.append(.integer(since.millisecondsSinceEpoch)) }
        if let until = query.until { conditions.append("at <= ?"); arguments.append(.integer(until.millisecondsSinceEpoch)) }
        arguments.append(.integer(Int64(query.limit + 1)))
        let sql = "SELECT \(AuditEntry.columns) FROM audit_log WHERE \(conditions.joined(separator: " AND ")) ORDER BY seq DESC LIMIT ?"
        return try read { connection in
            var items: [AuditEntry] = []
            try connection.forEachRow(sql, arguments) { items.append(AuditEntry(row: $0)) }
            let more = items.count > query.limit
            if more { items.removeLast() }
            return Page(items: items, nextCursor: more ? items.last.map { Cursor.encode(Int64($0.seq)) } : nil)
        }
    }

    /// Calls `body` with every audit entry, oldest first, from one snapshot (for export).
    public func forEachAuditEntry(_ body: (AuditEntry) throws -> Void) throws(RegistryError) {
        try read { connection in
            try connection.forEachRow("SELECT \(AuditEntry.columns) FROM audit_log ORDER BY seq") { try body(AuditEntry(row: $0)) }
        }
    }

    /// Recomputes the whole hash chain and names the first entry that does not verify.
    public func verifyAudit() throws(RegistryError) -> AuditVerification {
        try walkAuditChain(capturing: nil).verification
    }

    /// The chain verification, and the hash of entry `seq` when the walk got there.
    struct ChainWalk {
        let verification: AuditVerification
        let capturedHash: String?
    }

    func walkAuditChain(capturing capturedSeq: Int?) throws(RegistryError) -> ChainWalk {
        try read { connection in
            var captured: String? = capturedSeq == 0 ? AuditChain.hex(AuditChain.genesis) : nil
            var expectedSeq = 1
            var previous = AuditChain.genesis
            var canonical: [UInt8] = []
            canonical.reserveCapacity(1024)
            var failure: (seq: Int, problem: String)?
            try connection.forEachRow(
                "SELECT seq, at, actor, action, model, version, branch, details, prev_hash, hash FROM audit_log ORDER BY seq"
            ) { row in
                guard failure == nil else { return }
                let seq = Int(row.int64(0))
                guard seq == expectedSeq else {
                    failure = (expectedSeq, "entry \(expectedSeq) is missing (the next entry is \(seq))")
                    return
                }
                let storedPrevious = row.withBytes(8) { Array($0) }
                guard storedPrevious == previous else {
                    failure = (seq, "its prev_hash does not match the hash of entry \(seq - 1)")
                    return
                }
                canonical.removeAll(keepingCapacity: true)
                AuditChain.canonicalBytes(
                    seq: seq, at: row.int64(1), actor: row.text(2), action: row.text(3),
                    model: row.isNull(4) ? nil : row.text(4), version: row.isNull(5) ? nil : Int(row.int64(5)),
                    branch: row.isNull(6) ? nil : row.text(6), details: row.text(7), into: &canonical)
                let computed = AuditChain.hash(previous: previous, canonical: canonical)
                guard row.withBytes(9, { $0.elementsEqual(computed) }) else {
                    failure = (seq, "its contents do not match its hash (the entry was changed)")
                    return
                }
                previous = computed
                if seq == capturedSeq { captured = AuditChain.hex(computed) }
                expectedSeq += 1
            }
            return ChainWalk(
                verification: AuditVerification(
                    ok: failure == nil, entries: expectedSeq - 1, head: AuditChain.hex(previous), firstBadSeq: failure?.seq,
                    problem: failure.map { "entry \($0.seq) does not verify: \($0.problem)" }),
                capturedHash: captured)
        }
    }

    /// Writes an online, consistent copy of the database to a new file.
    /// - Throws: `ALREADY_EXISTS` when `path` exists, `UNAVAILABLE` when it cannot be written.
    public func backup(to path: String) throws(RegistryError) {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw RegistryError(.alreadyExists, "\(path) already exists; choose a new file for the backup")
        }
        do {
            try database.backup(to: path)
        } catch {
            try? FileManager.default.removeItem(atPath: path)
            throw RegistryError(.unavailable, "cannot write the backup to \(path): \((error as? SQLiteError)?.message ?? "\(error)")")
        }
    }
}

extension AuditEntry {
    static let columns = "seq, at, actor, action, model, version, branch, details, prev_hash, hash"

    init(row: Statement) {
        self.init(
            seq: Int(row.int64(0)), at: Timestamp(millisecondsSinceEpoch: row.int64(1)), actor: row.text(2), action: row.text(3),
            model: row.isNull(4) ? nil : row.text(4), version: row.isNull(5) ? nil : Int(row.int64(5)),
            branch: row.isNull(6) ? nil : row.text(6), details: row.text(7),
            prevHash: row.withBytes(8) { AuditChain.hex($0) }, hash: row.withBytes(9) { AuditChain.hex($0) })
    }
}
