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
public protocol SQLiteBindable {
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

    /// The value as an integer; reals are truncated, other classes give `nil`.
    public var int64: Int64? {
        switch self {
        case .integer(let v): v
        case .real(let v): Int64(exactly: v.rounded(.towardZero))
        default: nil
        }
    }

    public var double: Double? {
        switch self {
        case .integer(let v): Double(v)
        case .real(let v): v
        default: nil
        }
    }

    public var string: String? {
        switch self {
        case .text(let v): v
        case .integer(let v): String(v)
        case .real(let v): String(v)
        default: nil
        }
    }

    public var bytes: [UInt8]? {
        switch self {
        case .blob(let v): v
        case .text(let v): Array(v.utf8)
        default: nil
        }
    }
}
