import CSQLite

/// An error reported by SQLite, or by this layer's use of it.
///
/// Carries the *extended* result code (https://www.sqlite.org/rescode.html) so callers can match
/// on codes, never on message text.
public struct SQLiteError: Error, CustomStringConvertible, Sendable {
    /// The extended result code, e.g. `SQLITE_CONSTRAINT_UNIQUE` (2067).
    public let extendedCode: Int32
    /// The text of `sqlite3_errmsg` (or this layer's own explanation).
    public let message: String
    /// The SQL being run, without bound values.
    public let sql: String?

    public init(extendedCode: Int32, message: String, sql: String? = nil) {
        self.extendedCode = extendedCode
        self.message = message
        self.sql = sql
    }

    /// The primary result code: the low 8 bits of the extended one.
    public var code: Int32 { extendedCode & 0xFF }

    public var isBusy: Bool { code == SQLITE_BUSY || code == SQLITE_LOCKED }
    public var isConstraintViolation: Bool { code == SQLITE_CONSTRAINT }
    public var isUniqueViolation: Bool {
        extendedCode == Self.constraintUnique || extendedCode == Self.constraintPrimaryKey
    }

    // Extended codes are C macros built with shifts, which Swift does not import
    // (https://www.sqlite.org/rescode.html#extrc).
    public static let constraintUnique = SQLITE_CONSTRAINT | (8 << 8)
    public static let constraintPrimaryKey = SQLITE_CONSTRAINT | (6 << 8)
    public static let constraintForeignKey = SQLITE_CONSTRAINT | (3 << 8)
    public static let constraintCheck = SQLITE_CONSTRAINT | (1 << 8)
    public static let constraintTrigger = SQLITE_CONSTRAINT | (7 << 8)
    /// The file exists but is not an SQLite database (or is encrypted).
    public var isNotADatabase: Bool { code == SQLITE_NOTADB }
    public var isCannotOpen: Bool { code == SQLITE_CANTOPEN }

    public var description: String {
        var text = "SQLite error \(extendedCode): \(message)"
        if let sql { text += " (while running: \(sql))" }
        return text
    }

    /// Code for misuse detected by this layer before SQLite was called.
    public static let misuse = SQLITE_MISUSE
}

extension SQLiteError {
    /// Reads the most recent error of a connection handle.
    init(handle: OpaquePointer?, code: Int32, sql: String?) {
        let message = handle.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            ?? String(cString: sqlite3_errstr(code))
        let extended = handle.map { sqlite3_extended_errcode($0) } ?? code
        // sqlite3_extended_errcode reports the last error of the handle; trust the code we were
        // handed when they disagree on the primary code.
        self.init(extendedCode: (extended & 0xFF) == (code & 0xFF) ? extended : code, message: message, sql: sql)
    }
}
