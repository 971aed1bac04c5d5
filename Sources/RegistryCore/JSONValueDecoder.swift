/// Decodes a parsed `JSONValue` into a `Decodable` type: the second half of the one JSON
/// reader (`JSONCoding.decode`). Errors are Foundation's `DecodingError`s with the field's
/// coding path, which `RequestDecoding.describe` turns into a sentence.
///
/// Numbers are Doubles (as `JSONValue` holds them): an integer field takes a number that is
/// whole and fits, and refuses `1.5` with a type mismatch naming the field.
struct JSONValueDecoder: Decoder {
    let value: JSONValue
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(_ value: JSONValue, codingPath: [any CodingKey] = []) {
        self.value = value
        self.codingPath = codingPath
    }

    /// `value` as a `T`: JSON's own types directly, anything else through its `init(from:)`.
    static func decode<T: Decodable>(_ type: T.Type, from value: JSONValue, at path: [any CodingKey]) throws -> T {
        // The shapes the registry stores on every version, without a container per entry.
        if T.self == JSONValue.self { return value as! T }
        if T.self == [String: String].self { return try map(value, at: path) { (item: JSONValue, path) throws in try scalar(String.self, item, at: path) } as! T }
        if T.self == [String: Double].self { return try map(value, at: path) { (item: JSONValue, path) throws in try scalar(Double.self, item, at: path) } as! T }
        if let scalarType = T.self as? any JSONScalar.Type { return try scalarType.init(json: value, at: path) as! T }
        return try T(from: JSONValueDecoder(value, codingPath: path))
    }

    private static func map<V>(_ value: JSONValue, at path: [any CodingKey], _ item: (JSONValue, [any CodingKey]) throws -> V) throws -> [String: V] {
        guard case .object(let object) = value else { throw mismatch([String: V].self, value, at: path) }
        var result: [String: V] = [:]
        result.reserveCapacity(object.count)
        for (key, member) in object { result[key] = try item(member, path + [JSONKey(key)]) }
        return result
    }

    static func scalar<T: JSONScalar>(_ type: T.Type, _ value: JSONValue, at path: [any CodingKey]) throws -> T {
        try T(json: value, at: path)
    }

    static func mismatch(_ type: Any.Type, _ value: JSONValue, at path: [any CodingKey], _ detail: String? = nil) -> DecodingError {
        let context = DecodingError.Context(codingPath: path, debugDescription: detail ?? "expected \(type), found \(value.kindName)")
        if case .null = value { return .valueNotFound(type, context) }
        return .typeMismatch(type, context)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else { throw Self.mismatch([String: JSONValue].self, value, at: codingPath) }
        return KeyedDecodingContainer(KeyedContainer(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = value else { throw Self.mismatch([JSONValue].self, value, at: codingPath) }
        return UnkeyedContainer(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }
}

/// A key of an object the decoder walks through without a `CodingKeys` of its own.
struct JSONKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(_ string: String) {
        stringValue = string
        intValue = nil
    }

    init(index: Int) {
        stringValue = "Index \(index)"
        intValue = index
    }

    init?(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { self.init(index: intValue) }
}

extension JSONValue {
    /// How an error names what it found.
    var kindName: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

/// The types JSON holds directly, read from a `JSONValue` without a container.
protocol JSONScalar {
    init(json: JSONValue, at path: [any CodingKey]) throws
}

extension String: JSONScalar {
    init(json: JSONValue, at path: [any CodingKey]) throws {
        guard case .string(let text) = json else { throw JSONValueDecoder.mismatch(String.self, json, at: path) }
        self = text
    }
}

extension Bool: JSONScalar {
    init(json: JSONValue, at path: [any CodingKey]) throws {
        guard case .bool(let flag) = json else { throw JSONValueDecoder.mismatch(Bool.self, json, at: path) }
        self = flag
    }
}

extension Double: JSONScalar {
    init(json: JSONValue, at path: [any CodingKey]) throws {
        guard case .number(let number) = json else { throw JSONValueDecoder.mismatch(Double.self, json, at: path) }
        self = number
    }
}

extension Float: JSONScalar {
    init(json: JSONValue, at path: [any CodingKey]) throws { self = Float(try Double(json: json, at: path)) }
}

extension JSONScalar where Self: FixedWidthInteger {
    init(json: JSONValue, at path: [any CodingKey]) throws {
        let number = try Double(json: json, at: path)
        guard let whole = Self(exactly: number) else {
            throw JSONValueDecoder.mismatch(Self.self, json, at: path, "\(formatNumber(number)) is not a whole number that fits \(Self.self)")
        }
        self = whole
    }
}

extension Int: JSONScalar {}
extension Int8: JSONScalar {}
extension Int16: JSONScalar {}
extension Int32: JSONScalar {}
extension Int64: JSONScalar {}
extension UInt: JSONScalar {}
extension UInt8: JSONScalar {}
extension UInt16: JSONScalar {}
extension UInt32: JSONScalar {}
extension UInt64: JSONScalar {}

extension JSONValueDecoder: SingleValueDecodingContainer {
    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try Self.scalar(type, value, at: codingPath) }
    func decode(_ type: String.Type) throws -> String { try Self.scalar(type, value, at: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try Self.scalar(type, value, at: codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try Self.scalar(type, value, at: codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try Self.scalar(type, value, at: codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try Self.scalar(type, value, at: codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try Self.scalar(type, value, at: codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try Self.scalar(type, value, at: codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try Self.scalar(type, value, at: codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try Self.scalar(type, value, at: codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try Self.scalar(type, value, at: codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try Self.scalar(type, value, at: codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try Self.scalar(type, value, at: codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try Self.scalar(type, value, at: codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try Self.decode(type, from: value, at: codingPath) }
}

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: [String: JSONValue]
    let codingPath: [any CodingKey]

    var allKeys: [Key] { object.keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { object[key.stringValue] != nil }

    private func member(_ key: Key) throws -> JSONValue {
        guard let value = object[key.stringValue] else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(codingPath: codingPath, debugDescription: "no value for \"\(key.stringValue)\""))
        }
        return value
    }

    private func scalar<T: JSONScalar>(_ type: T.Type, _ key: Key) throws -> T {
        try T(json: try member(key), at: codingPath + [key])
    }

    func decodeNil(forKey key: Key) throws -> Bool { try member(key) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try scalar(type, key) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try scalar(type, key) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try scalar(type, key) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try scalar(type, key) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try scalar(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try scalar(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try scalar(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try scalar(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try scalar(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try scalar(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try scalar(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try scalar(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try scalar(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try scalar(type, key) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try JSONValueDecoder.decode(type, from: try member(key), at: codingPath + [key])
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try JSONValueDecoder(try member(key), codingPath: codingPath + [key]).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try JSONValueDecoder(try member(key), codingPath: codingPath + [key]).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { JSONValueDecoder(.object(object), codingPath: codingPath) }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        JSONValueDecoder(object[key.stringValue] ?? .null, codingPath: codingPath + [key])
    }
}

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let items: [JSONValue]
    let codingPath: [any CodingKey]
    private(set) var currentIndex = 0

    init(items: [JSONValue], codingPath: [any CodingKey]) {
        self.items = items
        self.codingPath = codingPath
    }

    var count: Int? { items.count }
    var isAtEnd: Bool { currentIndex >= items.count }

    private mutating func next<T>(_ type: T.Type) throws -> (JSONValue, [any CodingKey]) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, DecodingError.Context(codingPath: codingPath + [JSONKey(index: currentIndex)], debugDescription: "the array has no more items"))
        }
        defer { currentIndex += 1 }
        return (items[currentIndex], codingPath + [JSONKey(index: currentIndex)])
    }

    private mutating func scalar<T: JSONScalar>(_ type: T.Type) throws -> T {
        let (value, path) = try next(type)
        return try T(json: value, at: path)
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, items[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try scalar(type) }
    mutating func decode(_ type: String.Type) throws -> String { try scalar(type) }
    mutating func decode(_ type: Double.Type) throws -> Double { try scalar(type) }
    mutating func decode(_ type: Float.Type) throws -> Float { try scalar(type) }
    mutating func decode(_ type: Int.Type) throws -> Int { try scalar(type) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try scalar(type) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try scalar(type) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try scalar(type) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try scalar(type) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try scalar(type) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try scalar(type) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try scalar(type) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try scalar(type) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try scalar(type) }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, path) = try next(type)
        return try JSONValueDecoder.decode(type, from: value, at: path)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let (value, path) = try next([String: JSONValue].self)
        return try JSONValueDecoder(value, codingPath: path).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, path) = try next([JSONValue].self)
        return try JSONValueDecoder(value, codingPath: path).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, path) = try next(JSONValue.self)
        return JSONValueDecoder(value, codingPath: path)
    }
}
