/// One result row, its values in column order.
public struct Row: Sendable, Hashable {
    public let values: [Value]

    public init(values: [Value]) { self.values = values }

    public subscript(index: Int) -> Value { values[index] }

    public var count: Int { values.count }

    // Typed accessors. A NULL or a mismatched storage class where a value is required is a
    // programming error in the query, reported as a thrown SQLiteError, never a crash.

    public func int(_ index: Int) throws(SQLiteError) -> Int {
        guard let v = values[index].int64 else { throw mismatch(index, "an integer") }
        return Int(v)
    }

    public func optionalInt(_ index: Int) -> Int? { values[index].int64.map { Int($0) } }

    public func double(_ index: Int) throws(SQLiteError) -> Double {
        guard let v = values[index].double else { throw mismatch(index, "a number") }
        return v
    }

    public func optionalDouble(_ index: Int) -> Double? { values[index].double }

    public func string(_ index: Int) throws(SQLiteError) -> String {
        guard let v = values[index].string else { throw mismatch(index, "text") }
        return v
    }

    public func optionalString(_ index: Int) -> String? { values[index].string }

    public func blob(_ index: Int) throws(SQLiteError) -> [UInt8] {
        guard let v = values[index].bytes else { throw mismatch(index, "a blob") }
        return v
    }

    private func mismatch(_ index: Int, _ expected: String) -> SQLiteError {
        SQLiteError(
            extendedCode: SQLiteError.misuse,
            message: "column \(index) holds \(values[index]), expected \(expected)")
    }
}
