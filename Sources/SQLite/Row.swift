import CSQLite

/// One result row, its values in column order.
///
/// Read with the throwing accessors: a NULL where a value is required, a value of another
/// storage class, or text that is no case of the expected enumeration is a corrupt row (or a
/// query that does not match its reader), reported as an `SQLiteError` naming the table and
/// column, never papered over with a default.
public struct Row: Sendable {
    public let values: [Value]
    /// The columns' names, for errors.
    private let columns: ColumnNames?

    public init(values: [Value]) { self.init(values: values, columns: nil) }

    init(values: [Value], columns: ColumnNames?) {
        self.values = values
        self.columns = columns
    }

    public subscript(index: Int) -> Value { values[index] }

    public var count: Int { values.count }

    public func int(_ index: Int) throws(SQLiteError) -> Int { Int(try int64(index)) }

    public func int64(_ index: Int) throws(SQLiteError) -> Int64 {
        guard case .integer(let value) = values[index] else { throw mismatch(index, "an integer") }
        return value
    }

    public func double(_ index: Int) throws(SQLiteError) -> Double {
        guard let value = values[index].double else { throw mismatch(index, "a number") }
        return value
    }

    public func string(_ index: Int) throws(SQLiteError) -> String {
        guard case .text(let value) = values[index] else { throw mismatch(index, "text") }
        return value
    }

    public func blob(_ index: Int) throws(SQLiteError) -> [UInt8] {
        guard case .blob(let value) = values[index] else { throw mismatch(index, "a blob") }
        return value
    }

    /// The case of `type` the column's text names.
    public func value<T: RawRepresentable>(_ index: Int, as type: T.Type) throws(SQLiteError) -> T where T.RawValue == String {
        let text = try string(index)
        guard let value = T(rawValue: text) else { throw mismatch(index, "a \(T.self)") }
        return value
    }

    // NULL reads as nil; any other storage class than the expected one is still an error.

    public func optionalInt(_ index: Int) throws(SQLiteError) -> Int? { values[index].isNull ? nil : try int(index) }
    public func optionalDouble(_ index: Int) throws(SQLiteError) -> Double? { values[index].isNull ? nil : try double(index) }
    public func optionalString(_ index: Int) throws(SQLiteError) -> String? { values[index].isNull ? nil : try string(index) }
    public func optionalBlob(_ index: Int) throws(SQLiteError) -> [UInt8]? { values[index].isNull ? nil : try blob(index) }

    private func mismatch(_ index: Int, _ expected: String) -> SQLiteError {
        .corruptColumn(columns?.names[index] ?? "column \(index)", holds: values[index], expected: expected)
    }
}

extension Row: Equatable, Hashable {
    /// Rows are equal when their values are: the column names only explain errors.
    public static func == (lhs: Row, rhs: Row) -> Bool { lhs.values == rhs.values }
    public func hash(into hasher: inout Hasher) { hasher.combine(values) }
}

/// A statement's result columns as errors name them: `table.column` where the column comes
/// straight from a table, else its name in the query.
final class ColumnNames: Sendable {
    let names: [String]

    init(_ names: [String]) { self.names = names }
}

extension SQLiteError {
    /// A value that is not what its reader requires.
    static func corruptColumn(_ column: String, holds value: Value, expected: String) -> SQLiteError {
        SQLiteError(extendedCode: SQLITE_MISMATCH, message: "\(column) holds \(value.debugText), expected \(expected)")
    }
}

extension Value {
    /// The value as an error shows it.
    var debugText: String {
        switch self {
        case .null: "NULL"
        case .integer(let value): "the integer \(value)"
        case .real(let value): "the number \(value)"
        case .text(let value): "the text \"\(value.count > 60 ? value.prefix(60) + "…" : Substring(value))\""
        case .blob(let value): "a blob of \(value.count) bytes"
        }
    }
}
