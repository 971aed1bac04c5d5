import CSQLite
import SQLite

/// The ceiling the registry is compared with: plain SQLite through its C API on the same disk,
/// configured as mreg configures its files (WAL, `synchronous=NORMAL`), with ~300-byte rows.
struct RawSQLiteLimit {
    /// One-row `BEGIN IMMEDIATE; INSERT; COMMIT` transactions.
    let insertTransactions: Int
    /// Rows in the table the point selects read.
    let tableRows: Int
    /// Primary-key point selects, each in its own (autocommit) read transaction.
    let pointSelects: Int

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// - Returns: the figures of one-row insert transactions and of point selects.
    /// - Throws: `Failure` with SQLite's message when any call fails.
    func run(in path: String) async throws -> (insert: OperationFigure, select: OperationFigure) {
        // The library settings mreg runs with (memory statistics off), before this first open.
        Connection.configureLibrary()
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
            let db
        else { throw Failure(description: "cannot open \(path)") }
        defer { sqlite3_close_v2(db) }
        try exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
        try exec(db, "CREATE TABLE bench (id INTEGER PRIMARY KEY, payload TEXT NOT NULL)")

        let begin = try prepare(db, "BEGIN IMMEDIATE")
        let insert = try prepare(db, "INSERT INTO bench (payload) VALUES (?)")
        let commit = try prepare(db, "COMMIT")
        let select = try prepare(db, "SELECT payload FROM bench WHERE id = ?")
        defer { [begin, insert, commit, select].forEach { sqlite3_finalize($0) } }

        // 300 printable bytes that differ from row to row, so pages do not compress to nothing.
        var payload = (0..<300).map { UInt8(97 + $0 % 26) }
        func insertRow(_ index: Int) throws {
            payload[index % 300] = UInt8(65 + index % 26)
            let code = payload.withUnsafeBufferPointer { bytes in
                // SQLITE_STATIC (nil): the bytes stay alive until the step below has copied them.
                sqlite3_bind_text(insert, 1, UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self), 300, nil)
                defer { sqlite3_reset(insert) }
                return sqlite3_step(insert)
            }
            guard code == SQLITE_DONE else { throw failure(db, "INSERT") }
        }
        func finish(_ statement: OpaquePointer) throws {
            defer { sqlite3_reset(statement) }
            guard sqlite3_step(statement) == SQLITE_DONE else { throw failure(db, String(cString: sqlite3_sql(statement))) }
        }

        let insertFigure = try await measure(insertTransactions) { index in
            try finish(begin)
            try insertRow(index)
            try finish(commit)
        }

        // Fill the table for the selects in one transaction, then fold the WAL into the file.
        try finish(begin)
        for index in insertTransactions..<max(tableRows, insertTransactions) { try insertRow(index) }
        try finish(commit)
        try exec(db, "PRAGMA wal_checkpoint(TRUNCATE)")
        let rows = Int64(max(tableRows, insertTransactions))

        var random = SplitMix64(seed: 42)
        var checksum = 0
        let selectFigure = try await measure(pointSelects) { _ in
            sqlite3_bind_int64(select, 1, Int64.random(in: 1...rows, using: &random))
            defer { sqlite3_reset(select) }
            guard sqlite3_step(select) == SQLITE_ROW, let text = sqlite3_column_text(select, 0) else {
                throw failure(db, "SELECT")
            }
            // Read the row as a caller would: touch its bytes.
            checksum &+= Int(text[Int(sqlite3_column_bytes(select, 0)) - 1])
        }
        guard checksum != 0 else { throw Failure(description: "the point selects read no payload") }
        return (insertFigure, selectFigure)
    }

    private func exec(_ db: OpaquePointer, _ sql: String) throws {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw failure(db, sql) }
    }

    private func prepare(_ db: OpaquePointer, _ sql: String) throws -> OpaquePointer {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK,
            let statement
        else { throw failure(db, sql) }
        return statement
    }

    private func failure(_ db: OpaquePointer, _ sql: String) -> Failure {
        Failure(description: "SQLite error \(sqlite3_extended_errcode(db)): \(String(cString: sqlite3_errmsg(db))) (while running: \(sql))")
    }
}
