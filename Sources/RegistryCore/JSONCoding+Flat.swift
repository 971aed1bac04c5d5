import Foundation

/// Hand-written JSON for the flat shapes the registry stores on every write and reads on every
/// version row: string and number maps, gate reports, audit details. JSONEncoder and
/// JSONDecoder were a large share of a registration and most of a version listing (BENCHMARKS.md),
/// while these shapes need no reflection. Output matches `JSONCoding.text`: compact, keys sorted,
/// slashes unescaped. These overloads are more specific than the generic ones, so callers pick
/// them up without change.
extension JSONCoding {
    static func text(_ map: [String: String]) -> String { text { appendMap(map, to: &$0) } }

    static func text(_ map: [String: Double]) -> String { text { appendMap(map, to: &$0) } }

    static func text(_ object: [String: JSONValue]) -> String { text { append(.object(object), to: &$0) } }

    static func text(_ gates: [GateResult]) -> String { text { append(.array(gates.map(\.jsonValue)), to: &$0) } }

    /// The text `write` appends as UTF-8. The writers work on bytes: a String append checks
    /// uniqueness, capacity and grapheme boundaries every time, which made a 50-version page's
    /// thousands of small appends cost more than the rest of the request (BENCHMARKS.md).
    static func text(_ write: (inout [UInt8]) -> Void) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(&out)
        return String(decoding: out, as: UTF8.self)
    }

    static func appendMap(_ map: [String: String], to out: inout [UInt8]) { appendMap(map, to: &out, value: appendString) }

    static func appendMap(_ map: [String: Double], to out: inout [UInt8]) { appendMap(map, to: &out, value: appendNumber) }

    /// `{"k":v,…}` with the keys sorted, as JSONEncoder's `.sortedKeys` writes them. Sorts the
    /// entries rather than the keys, so no key is hashed again to find its value.
    private static func appendMap<V>(_ map: [String: V], to out: inout [UInt8], value: (V, inout [UInt8]) -> Void) {
        out.append(UInt8(ascii: "{"))
        for (index, entry) in map.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendString(entry.key, to: &out)
            out.append(UInt8(ascii: ":"))
            value(entry.value, &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    static func append(_ value: JSONValue, to out: inout [UInt8]) {
        switch value {
        case .null: appendRaw("null", to: &out)
        case .bool(let v): appendRaw(v ? "true" : "false", to: &out)
        case .number(let v): appendNumber(v, to: &out)
        case .string(let v): appendString(v, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                append(item, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let object):
            appendMap(object, to: &out, value: append)
        }
    }

    /// Whole numbers without a fraction (as `JSONValue` encodes them); non-finite as null,
    /// which JSON cannot otherwise carry.
    static func appendNumber(_ value: Double, to out: inout [UInt8]) {
        appendRaw(value.isFinite ? formatNumber(value) : "null", to: &out)
    }

    /// Text that needs no escaping (numbers, literals, times).
    static func appendRaw(_ text: String, to out: inout [UInt8]) {
        out.append(contentsOf: text.utf8)
    }

    /// RFC 8259 string escaping: quote, backslash and control characters.
    static func appendString(_ text: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings (names, URIs, digests) need no escape: one scan, then one copy, instead
        // of an append per byte, which checks the array's capacity and uniqueness every time.
        let plain = text.utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
        }
        if plain == true {
            out.append(contentsOf: text.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

extension GateResult {
    var jsonValue: JSONValue {
        .object(["name": .string(name), "passed": .bool(passed), "observed": observed, "required": required, "message": .string(message)])
    }
}

// MARK: Reading flat maps back

extension JSONCoding {
    static func decode(_ type: [String: String].Type, from text: String) throws -> [String: String] {
        var text = text
        return try text.withUTF8 { try decodeStringMap(UnsafeRawBufferPointer($0)) }
    }

    static func decode(_ type: [String: Double].Type, from text: String) throws -> [String: Double] {
        var text = text
        return try text.withUTF8 { try decodeNumberMap(UnsafeRawBufferPointer($0)) }
    }

    /// A stored `{"k":"v",…}` read from its UTF-8 bytes (a column's, with no copy).
    static func decodeStringMap(_ bytes: UnsafeRawBufferPointer) throws -> [String: String] {
        var parser = FlatObjectParser(bytes)
        if let map = parser.parse(value: { $0.string() }) { return map }
        return try decoder().decode([String: String].self, from: Data(bytes))
    }

    /// A stored `{"k":1.5,…}` read from its UTF-8 bytes (a column's, with no copy).
    static func decodeNumberMap(_ bytes: UnsafeRawBufferPointer) throws -> [String: Double] {
        var parser = FlatObjectParser(bytes)
        if let map = parser.parse(value: { $0.number() }) { return map }
        return try decoder().decode([String: Double].self, from: Data(bytes))
    }
}

/// Parses `{"k": v, …}` with one kind of value; gives up (returns nil) on anything else, and the
/// caller falls back to JSONDecoder. Reads the bytes in place: it lives only inside the call
/// that lends them. Separate from `FastJSONParser` (request bodies) on purpose: going through
/// that parser's `JSONValue` tree made a 50-version page half again as slow (BENCHMARKS.md).
private struct FlatObjectParser {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func parse<V>(value: (inout FlatObjectParser) -> V?) -> [String: V]? {
        skipSpace()
        guard take(0x7B) else { return nil }  // {
        var result: [String: V] = [:]
        skipSpace()
        if take(0x7D) { return atEnd() ? result : nil }  // }
        while true {
            skipSpace()
            guard let key = string() else { return nil }
            skipSpace()
            guard take(0x3A) else { return nil }  // :
            skipSpace()
            guard let parsed = value(&self) else { return nil }
            result[key] = parsed
            skipSpace()
            if take(0x2C) { continue }  // ,
            guard take(0x7D) else { return nil }
            return atEnd() ? result : nil
        }
    }

    mutating func string() -> String? {
        guard take(0x22) else { return nil }
        let start = index
        while index < bytes.count {
            switch bytes[index] {
            case 0x22:
                defer { index += 1 }
                return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            case 0x5C: return nil  // escapes: leave them to JSONDecoder
            default: index += 1
            }
        }
        return nil
    }

    mutating func number() -> Double? {
        let start = index
        while index < bytes.count, Self.isNumberByte(bytes[index]) { index += 1 }
        guard index > start else { return nil }
        return Double(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
    }

    private static func isNumberByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || byte == 0x2D || byte == 0x2B || byte == 0x2E || byte == 0x65 || byte == 0x45
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func skipSpace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 {
            index += 1
        }
    }

    private mutating func atEnd() -> Bool {
        skipSpace()
        return index == bytes.count
    }
}
