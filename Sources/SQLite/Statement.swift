import CSQLite

/// `SQLITE_TRANSIENT` is a C macro Swift cannot import: it tells SQLite to copy bound bytes.
let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A prepared statement (https://www.sqlite.org/c3ref/stmt.html), finalized when released.
///
/// Not `Sendable`: it belongs to its connection, which serializes all use.
public final class Statement {
    let handle: OpaquePointer
    /// The connection's handle, for error messages. The connection outlives its statements:
    /// it finalizes its cache before closing.
    private let connectionHandle: OpaquePointer
    public let sql: String
    public let parameterCount: Int
    public let columnCount: Int

    init(connection: OpaquePointer, sql: String, persistent: Bool) throws(SQLiteError) {
        var statement: OpaquePointer?
        var trailingStatement = false
        let flags = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        let code = sql.withCString { cString -> Int32 in
            var tail: UnsafePointer<CChar>?
            let code = sqlite3_prepare_v3(connection, cString, -1, flags, &statement, &tail)
            // `tail` points into `cString`, which lives only inside this closure (short strings
            // are copied out of the String's inline storage). Anything after the first
            // statement is refused only if it compiles to a statement of its own: a trailing
            // comment or `;` is fine.
            if code == SQLITE_OK, let tail, tail.pointee != 0 {
                var extra: OpaquePointer?
                let extraCode = sqlite3_prepare_v3(connection, tail, -1, 0, &extra, nil)
                trailingStatement = extraCode != SQLITE_OK || extra != nil
                sqlite3_finalize(extra)
            }
            return code
        }
        guard code == SQLITE_OK else {
            throw SQLiteError(handle: connection, code: code, sql: sql)
        }
        guard let statement else {
            // sqlite3_prepare_v3 yields no statement for empty SQL or a lone comment.
            throw SQLiteError(extendedCode: SQLiteError.misuse, message: "no SQL statement to prepare", sql: sql)
        }
        if trailingStatement {
            sqlite3_finalize(statement)
            throw SQLiteError(
                extendedCode: SQLiteError.misuse,
                message: "more than one SQL statement given; use execute(script:) for scripts", sql: sql)
        }
        self.handle = statement
        self.connectionHandle = connection
        self.sql = sql
        self.parameterCount = Int(sqlite3_bind_parameter_count(statement))
        self.columnCount = Int(sqlite3_column_count(statement))
    }

    deinit { sqlite3_finalize(handle) }

    /// Binds `arguments` at positions 1…n, replacing every earlier binding (all n are bound,
    /// so none needs clearing first).
    /// - Throws: `SQLiteError` when the count differs from the statement's parameters.
    public func bind(_ arguments: [any SQLiteBindable]) throws(SQLiteError) {
        sqlite3_reset(handle)
        guard arguments.count == parameterCount else {
            throw SQLiteError(
                extendedCode: SQLiteError.misuse,
                message: "statement takes \(parameterCount) arguments, \(arguments.count) given", sql: sql)
        }
        for (offset, argument) in arguments.enumerated() {
            let index = Int32(offset + 1)
            let code: Int32
            switch argument.sqliteValue {
            case .null: code = sqlite3_bind_null(handle, index)
            case .integer(let v): code = sqlite3_bind_int64(handle, index, v)
            case .real(let v): code = sqlite3_bind_double(handle, index, v)
            case .text(let v): code = bindText(v, at: index)
            case .blob(let v):
                code = v.withUnsafeBytes { sqlite3_bind_blob(handle, index, $0.baseAddress, Int32($0.count), sqliteTransient) }
            }
            guard code == SQLITE_OK else { throw SQLiteError(handle: connectionHandle, code: code, sql: sql) }
        }
    }

    /// Binds the UTF-8 of `text`, all of it, with its length: passing a String where C wants a
    /// `char *` copies it into a new NUL-terminated array first (an allocation per argument),
    /// and a length of -1 makes SQLite look for the NUL again. SQLite copies the bytes.
    private func bindText(_ text: String, at index: Int32) -> Int32 {
        var text = text
        return text.withUTF8 { bytes in
            // An empty buffer may have no address, and a NULL pointer would bind NULL, not ''.
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return sqlite3_bind_text(handle, index, "", 0, nil) }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text(handle, index, $0, Int32(bytes.count), sqliteTransient)
            }
        }
    }

    /// Advances to the next row.
    /// - Returns: `true` when a row is available, `false` when the statement is done.
    public func step() throws(SQLiteError) -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default:
            let error = SQLiteError(handle: connectionHandle, code: code, sql: sql)
            sqlite3_reset(handle)
            throw error
        }
    }

    /// Resets the statement so it can run again and releases its read snapshot.
    public func reset() { sqlite3_reset(handle) }

    // Column accessors for the current row (hot paths read columns without building a Row).
    // Like `Row`'s, they throw on a NULL where a value is required or on another storage class,
    // naming the table and column.

    public func isNull(_ column: Int) -> Bool { sqlite3_column_type(handle, Int32(column)) == SQLITE_NULL }

    public func int64(_ column: Int) throws(SQLiteError) -> Int64 {
        try expect(column, SQLITE_INTEGER, "an integer")
        return sqlite3_column_int64(handle, Int32(column))
    }

    public func int(_ column: Int) throws(SQLiteError) -> Int { Int(try int64(column)) }

    /// A REAL column may hold a whole number as an INTEGER; both read as a number.
    public func double(_ column: Int) throws(SQLiteError) -> Double {
        let type = sqlite3_column_type(handle, Int32(column))
        guard type == SQLITE_FLOAT || type == SQLITE_INTEGER else { throw mismatch(column, "a number") }
        return sqlite3_column_double(handle, Int32(column))
    }

    public func text(_ column: Int) throws(SQLiteError) -> String {
        try expect(column, SQLITE_TEXT, "text")
        guard let pointer = sqlite3_column_text(handle, Int32(column)) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, Int32(column)))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }

    /// The case of `type` the column's text names.
    public func value<T: RawRepresentable>(_ column: Int, as type: T.Type) throws(SQLiteError) -> T where T.RawValue == String {
        guard let value = T(rawValue: try text(column)) else { throw mismatch(column, "a \(T.self)") }
        return value
    }

    public func optionalInt(_ column: Int) throws(SQLiteError) -> Int? { isNull(column) ? nil : try int(column) }
    public func optionalText(_ column: Int) throws(SQLiteError) -> String? { isNull(column) ? nil : try text(column) }

    /// Calls `body` with the column's bytes (a blob's, or a text's UTF-8), valid only during the
    /// call (no copy); empty for NULL. The caller judges the bytes (a stored JSON document, say,
    /// is parsed or checked for its brackets).
    public func withBytes<R>(_ column: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let pointer = sqlite3_column_blob(handle, Int32(column))
        let count = Int(sqlite3_column_bytes(handle, Int32(column)))
        return try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    public func value(_ column: Int) -> Value {
        let index = Int32(column)
        switch sqlite3_column_type(handle, index) {
        case SQLITE_INTEGER: return .integer(sqlite3_column_int64(handle, index))
        case SQLITE_FLOAT: return .real(sqlite3_column_double(handle, index))
        case SQLITE_TEXT: return .text(rawText(column))
        case SQLITE_BLOB: return .blob(rawBytes(column))
        default: return .null
        }
    }

    /// The current row as a value, its columns named for errors.
    public func row() -> Row { Row(values: (0..<columnCount).map(value), columns: columnNames) }

    private func rawText(_ column: Int) -> String {
        guard let pointer = sqlite3_column_text(handle, Int32(column)) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(handle, Int32(column)))), as: UTF8.self)
    }

    private func rawBytes(_ column: Int) -> [UInt8] {
        guard let pointer = sqlite3_column_blob(handle, Int32(column)) else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(handle, Int32(column)))))
    }

    private func expect(_ column: Int, _ type: Int32, _ expected: String) throws(SQLiteError) {
        guard sqlite3_column_type(handle, Int32(column)) == type else { throw mismatch(column, expected) }
    }

    /// The error for a value in `column` that is not what its reader requires (`SQLITE_MISMATCH`,
    /// naming the table and column).
    public func mismatch(_ column: Int, _ expected: String) -> SQLiteError {
        .corruptColumn(columnNames.names[column], holds: value(column), expected: expected)
    }

    /// `table.column` for a column read straight from a table, else its name in the query;
    /// worked out once per statement (a cached statement keeps it).
    private(set) lazy var columnNames: ColumnNames = ColumnNames(
        (0..<Int32(columnCount)).map { index in
            let name = sqlite3_column_name(handle, index).map { String(cString: $0) } ?? "column \(index)"
            guard let table = sqlite3_column_table_name(handle, index) else { return name }
            let origin = sqlite3_column_origin_name(handle, index).map { String(cString: $0) } ?? name
            return "\(String(cString: table)).\(origin)"
        })
}
