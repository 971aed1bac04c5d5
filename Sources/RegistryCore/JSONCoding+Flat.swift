import Foundation

/// Hand-written JSON for the flat shapes the registry stores on every write and reads on every
/// version row: string and number maps, gate reports, audit details. JSONEncoder and
/// JSONDecoder cost a third of a registration and most of a version listing (callgrind), while
/// these shapes need no reflection. Output matches `JSONCoding.text`: compact, keys sorted,
/// slashes unescaped. These overloads are more specific than the generic ones, so callers pick
/// them up without change.
extension JSONCoding {
    static func text(_ map: [String: String]) -> String {
        var out = "{"
        for (index, key) in map.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            appendString(key, to: &out)
            out += ":"
            appendString(map[key]!, to: &out)
        }
        return out + "}"
    }

    static func text(_ map: [String: Double]) -> String {
        var out = "{"
        for (index, key) in map.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            appendString(key, to: &out)
            out += ":"
            appendNumber(map[key]!, to: &out)
        }
        return out + "}"
    }

    static func text(_ object: [String: JSONValue]) -> String {
        var out = ""
        append(.object(object), to: &out)
        return out
    }

    static func text(_ gates: [GateResult]) -> String {
        var out = ""
        append(.array(gates.map(\.jsonValue)), to: &out)
        return out
    }

    static func append(_ value: JSONValue, to out: inout String) {
        switch value {
        case .null: out += "null"
        case .bool(let v): out += v ? "true" : "false"
        case .number(let v): appendNumber(v, to: &out)
        case .string(let v): appendString(v, to: &out)
        case .array(let items):
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                append(item, to: &out)
            }
            out += "]"
        case .object(let object):
            out += "{"
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                appendString(key, to: &out)
                out += ":"
                append(object[key]!, to: &out)
            }
            out += "}"
        }
    }

    /// Whole numbers without a fraction (as `JSONValue` encodes them); non-finite as null,
    /// which JSON cannot otherwise carry.
    static func appendNumber(_ value: Double, to out: inout String) {
        out += value.isFinite ? formatNumber(value) : "null"
    }

    /// RFC 8259 string escaping: quote, backslash and control characters.
    static func appendString(_ text: String, to out: inout String) {
        out += "\""
        var needsEscape = false
        for byte in text.utf8 where byte < 0x20 || byte == 0x22 || byte == 0x5C {
            needsEscape = true
            break
        }
        guard needsEscape else {
            out += text
            out += "\""
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let c where c.value < 0x20:
                let hex = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
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
        var parser = FlatObjectParser(text)
        if let map = parser.parse(value: { $0.string() }) { return map }
        return try decoder().decode(type, from: Data(text.utf8))
    }

    static func decode(_ type: [String: Double].Type, from text: String) throws -> [String: Double] {
        var parser = FlatObjectParser(text)
        if let map = parser.parse(value: { $0.number() }) { return map }
        return try decoder().decode(type, from: Data(text.utf8))
    }
}

/// Parses `{"k": v, …}` with one kind of value; gives up (returns nil) on anything else, and the
/// caller falls back to JSONDecoder.
private struct FlatObjectParser {
    private let bytes: [UInt8]
    private var index = 0

    init(_ text: String) { bytes = Array(text.utf8) }

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
                return String(decoding: bytes[start..<index], as: UTF8.self)
            case 0x5C: return nil  // escapes: leave them to JSONDecoder
            default: index += 1
            }
        }
        return nil
    }

    mutating func number() -> Double? {
        let start = index
        while index < bytes.count, (bytes[index] >= 0x30 && bytes[index] <= 0x39) || [0x2D, 0x2B, 0x2E, 0x65, 0x45].contains(bytes[index]) {
            index += 1
        }
        guard index > start else { return nil }
        return Double(String(decoding: bytes[start..<index], as: UTF8.self))
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[index]) { index += 1 }
    }

    private mutating func atEnd() -> Bool {
        skipSpace()
        return index == bytes.count
    }
}
