/// The whole audit log as a document, oldest entry first: JSON lines or CSV.
///
/// `mreg audit export` on a file and `GET /v1/audit/export` write it with this one formatter, a
/// page of entries at a time, so the two are byte for byte the same. Every field is written as
/// it is stored and hashed — `at` in milliseconds, `details` as its stored text, NULL apart
/// from an empty text — so that the chain can be recomputed from an export alone (docs/AUDIT.md,
/// "Re-verifying an export").
public enum AuditExport {
    public enum Format: String, Sendable, CaseIterable {
        case jsonl, csv

        public var contentType: String {
            switch self {
            case .jsonl: "application/x-ndjson"
            case .csv: "text/csv; charset=utf-8"
            }
        }
    }

    /// Entries read per page: enough to keep the per-page cost small, few enough to keep the
    /// memory of an export of millions of entries flat.
    public static let pageSize = 2_000

    /// What comes before the first entry.
    public static func header(_ format: Format) -> String {
        switch format {
        case .jsonl: ""
        case .csv: "seq,at,at_iso,actor,action,model,version,branch,details,prev_hash,hash,form\n"
        }
    }

    /// One entry, with its line end.
    public static func line(_ entry: AuditEntry, _ format: Format) -> String {
        switch format {
        case .jsonl:
            return JSONCoding.text(Line(entry)) + "\n"
        case .csv:
            let cells: [String?] = [
                String(entry.seq), String(entry.at.millisecondsSinceEpoch), "\(entry.at)", entry.actor, entry.action, entry.model,
                entry.version.map(String.init), entry.branch, entry.details, entry.prevHash, entry.hash, String(entry.form),
            ]
            return cells.map(csvCell).joined(separator: ",") + "\n"
        }
    }

    /// A JSON line: the entry's fields as stored, and `at_iso`, its time as people read it.
    struct Line: Encodable, JSONWritable {
        let entry: AuditEntry

        init(_ entry: AuditEntry) { self.entry = entry }

        enum CodingKeys: String, CodingKey {
            case seq, at, actor, action, model, version, branch, details, hash, form
            case atISO = "at_iso"
            case prevHash = "prev_hash"
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(entry.seq, forKey: .seq)
            try c.encode(entry.at.millisecondsSinceEpoch, forKey: .at)
            try c.encode(entry.at, forKey: .atISO)
            try c.encode(entry.actor, forKey: .actor)
            try c.encode(entry.action, forKey: .action)
            try c.encode(entry.model, forKey: .model)
            try c.encode(entry.version, forKey: .version)
            try c.encode(entry.branch, forKey: .branch)
            try c.encode(entry.details, forKey: .details)
            try c.encode(entry.prevHash, forKey: .prevHash)
            try c.encode(entry.hash, forKey: .hash)
            try c.encode(entry.form, forKey: .form)
        }
    }

    /// RFC 4180 quoting; NULL is an empty cell and an empty text a quoted one (`""`), as
    /// PostgreSQL's CSV format tells them apart.
    static func csvCell(_ text: String?) -> String {
        guard let text else { return "" }
        guard text.isEmpty || text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension Registry {
    /// The audit log's last `seq` now (0 when empty): an export stops there, so that entries
    /// appended while it runs do not stretch it.
    public func auditHead() throws(RegistryError) -> Int {
        try readSingleStatement { connection in
            guard let row = try connection.queryFirst("SELECT coalesce(max(seq), 0) FROM audit_log") else { return 0 }
            return try row.int(0)
        }
    }

    /// Up to `limit` audit entries after `seq`, through `last`, oldest first. The log is
    /// append-only, so pages read one after another describe one state.
    public func auditEntries(after seq: Int, through last: Int, limit: Int = AuditExport.pageSize) throws(RegistryError) -> [AuditEntry] {
        try read { connection in
            var entries: [AuditEntry] = []
            try connection.forEachRow(
                "SELECT \(AuditEntry.columns) FROM audit_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
                [seq, last, limit]
            ) { entries.append(try AuditEntry(row: $0)) }
            return entries
        }
    }
}

extension Registry {
    /// Writes the whole log as `format`, a page of entries at a time, up to the last entry
    /// there was when it began.
    /// - Parameter write: called with each piece of the document (UTF-8), in order.
    public func exportAudit(_ format: AuditExport.Format, write: ([UInt8]) async throws -> Void) async throws {
        try await write(Array(AuditExport.header(format).utf8))
        let last = try auditHead()
        var after = 0
        while after < last {
            let entries = try auditEntries(after: after, through: last)
            guard let final = entries.last else { break }
            try await write(Array(entries.reduce(into: "") { $0 += AuditExport.line($1, format) }.utf8))
            after = final.seq
        }
    }
}
