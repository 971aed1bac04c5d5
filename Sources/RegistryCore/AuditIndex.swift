import SQLite

/// How audit entries are found by model, actor and action (docs/AUDIT.md, "Finding entries"):
/// through `audit_index`, which is filled `batch` entries at a time, and for the entries after it
/// by reading them. A lookup by time alone reads the log backwards, newest first, as SQLite
/// always did with the time index schema version 1 had.
///
/// An index per lookup made every change write a B-tree page for each (four pages of a
/// registration's sixteen, BENCHMARKS.md "#18"). Here a change writes its entry alone; the change
/// whose entry completes a batch also adds the batch's rows, which land together on a few pages.
/// The index is derived from `audit_log`: the chain, not the index, is what `audit verify` checks.
enum AuditIndex {
    /// Entries added to the index together. A lookup reads fewer than this many one by one.
    static let batch = 256

    /// What a row of `audit_index` indexes by (its `facet` column).
    enum Facet: Int {
        case model = 1, actor, action
    }

    /// Adds the entries up to `seq`, the one just appended, once they make a batch. Runs in
    /// the transaction that appended it.
    static func catchUp(through seq: Int, on connection: Connection) throws {
        let indexed = try indexedThrough(connection)
        guard seq - indexed >= batch else { return }
        try connection.execute(
            """
            INSERT INTO audit_index (facet, value, seq)
            SELECT 1, model, seq FROM audit_log WHERE seq > ?1 AND seq <= ?2 AND model IS NOT NULL
            UNION ALL SELECT 2, actor, seq FROM audit_log WHERE seq > ?1 AND seq <= ?2
            UNION ALL SELECT 3, action, seq FROM audit_log WHERE seq > ?1 AND seq <= ?2
            """, [indexed, seq])
        try connection.execute("UPDATE audit_index_state SET indexed_through = ?", [seq])
    }

    /// `AuditEntry.columns` of `audit_log a`.
    private static let columns = AuditEntry.columns.split(separator: ", ").map { "a." + $0 }.joined(separator: ", ")

    static func indexedThrough(_ connection: Connection) throws -> Int {
        try connection.queryFirst("SELECT indexed_through FROM audit_index_state")?.int(0) ?? 0
    }

    /// The entries matching `query` with `seq < before`, newest first, at most `count`: those
    /// past the index read one by one, then the older ones through the index on the first of
    /// model, actor or action the query names, or by reading on when it names none.
    static func entries(_ query: AuditQuery, before: Int64, count: Int, on connection: Connection) throws -> [AuditEntry] {
        var conditions: [String] = []
        var arguments: [any SQLiteBindable] = []
        if let model = query.model { conditions.append("a.model = ?"); arguments.append(model) }
        if let actor = query.actor { conditions.append("a.actor = ?"); arguments.append(actor) }
        if let action = query.action { conditions.append("a.action = ?"); arguments.append(action) }
        if let since = query.since { conditions.append("a.at >= ?"); arguments.append(since.millisecondsSinceEpoch) }
        if let until = query.until { conditions.append("a.at <= ?"); arguments.append(until.millisecondsSinceEpoch) }
        let filter = conditions.map { " AND " + $0 }.joined()

        var entries: [AuditEntry] = []
        let indexed = Int64(try indexedThrough(connection))
        if before > indexed + 1 {
            try connection.forEachRow(
                "SELECT \(columns) FROM audit_log a WHERE a.seq > ? AND a.seq < ?\(filter) ORDER BY a.seq DESC LIMIT ?",
                [indexed, before] + arguments + [count]
            ) { entries.append(try AuditEntry(row: $0)) }
        }
        guard entries.count < count else { return entries }
        let below = min(before, indexed + 1)
        let remaining = count - entries.count
        let driving: (Facet, any SQLiteBindable)? =
            query.model.map { (.model, $0) } ?? query.actor.map { (.actor, $0) } ?? query.action.map { (.action, $0) }
        if let (facet, value) = driving {
            try connection.forEachRow(
                """
                SELECT \(columns) FROM audit_index i JOIN audit_log a ON a.seq = i.seq
                WHERE i.facet = ? AND i.value = ? AND i.seq < ?\(filter) ORDER BY i.seq DESC LIMIT ?
                """, [facet.rawValue, value, below] + arguments + [remaining]
            ) { entries.append(try AuditEntry(row: $0)) }
        } else {
            try connection.forEachRow(
                "SELECT \(columns) FROM audit_log a WHERE a.seq < ?\(filter) ORDER BY a.seq DESC LIMIT ?",
                [below] + arguments + [remaining]
            ) { entries.append(try AuditEntry(row: $0)) }
        }
        return entries
    }
}
