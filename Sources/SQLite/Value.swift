/// One SQLite value, in the five storage classes SQLite knows
/// (https://www.sqlite.org/datatype3.html).
public enum Value: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

extension Value: ExpressibleByNilLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByStringLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .real(value) }
    public init(stringLiteral value: String) { self = .text(value) }
}

/// A Swift type that can be bound as a statement argument.
public protocol SQLiteBindable: Sendable {
    var sqliteValue: Value { get }
}

extension Value: SQLiteBindable { public var sqliteValue: Value { self } }
extension Int: SQLiteBindable { public var sqliteValue: Value { .integer(Int64(self)) } }
extension Int64: SQLiteBindable { public var sqliteValue: Value { .integer(self) } }
extension Double: SQLiteBindable { public var sqliteValue: Value { .real(self) } }
extension String: SQLiteBindable { public var sqliteValue: Value { .text(self) } }
extension Bool: SQLiteBindable { public var sqliteValue: Value { .integer(self ? 1 : 0) } }
extension Array: SQLiteBindable where Element == UInt8 { public var sqliteValue: Value { .blob(self) } }
extension Optional: SQLiteBindable where Wrapped: SQLiteBindable {
    public var sqliteValue: Value { self?.sqliteValue ?? .null }
}

extension Value {
    public var isNull: Bool { if case .null = self { true } else { false } }

    /// The value as a number: a real, or an integer (a REAL column stores a whole number as one).
    public var double: Double? {
        switch self {
        case .integer(let v): Double(v)
        case .real(let v): v
        default: nil
        }
    }
}
