/// The whole audit log as a document, oldest entry first: JSON lines or CSV.
///
/// `mreg audit export` on a file and `GET /v1/audit/export` write it with this one formatter, a
/// page of entries at a time, so the two are byte for byte the same.
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
        case .csv: "seq,at,actor,action,model,version,branch,details,prev_hash,hash\n"
        }
    }

    /// One entry, with its line end.
    public static func line(_ entry: AuditEntry, _ format: Format) -> String {
        switch format {
        case .jsonl:
            return JSONCoding.text(entry) + "\n"
        case .csv:
            let cells = [
                String(entry.seq), "\(entry.at)", entry.actor, entry.action, entry.model ?? "", entry.version.map(String.init) ?? "",
                entry.branch ?? "", entry.details, entry.prevHash, entry.hash,
            ]
            return cells.map(csvCell).joined(separator: ",") + "\n"
        }
    }

    /// RFC 4180 quoting.
    static func csvCell(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return text }
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
