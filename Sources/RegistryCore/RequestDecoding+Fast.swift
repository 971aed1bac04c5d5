/// The request bodies every write of the server decodes (registration, promotion, rollback),
/// read without Foundation's JSONSerialization + JSONDecoder pair, a large share of a
/// registration's server CPU (BENCHMARKS.md, "What is worth fixing next").
///
/// The fast path only ever accepts: anything it does not fully understand (invalid or
/// unusual JSON, an escape it does not decode, a duplicate or unknown key, a value of an
/// unexpected type) returns nil, and `RequestDecoding.decode` falls back to the Foundation path,
/// which decides and words the error. So a valid body decodes to the same value either way
/// (RequestDecodingFastTests compares the two) and an invalid one gets the same message.
protocol FastRequestDecodable {
    init?(fields: [String: JSONValue])
}

extension RequestDecoding {
    /// Parses `bytes` as a JSON object whose keys all belong to `allowedKeys`, or nil.
    static func fastObject(_ bytes: [UInt8], allowedKeys: Set<String>?) -> [String: JSONValue]? {
        var parser = FastJSONParser(bytes)
        guard case .object(let fields)? = parser.document() else { return nil }
        if let allowedKeys, !fields.keys.allSatisfy(allowedKeys.contains) { return nil }
        return fields
    }
}

extension [String: JSONValue] {
    /// The field's string; `.some(nil)` when absent or null (as `decodeIfPresent` reads them),
    /// nil when it has another type.
    fileprivate func optionalString(_ key: String) -> String?? {
        switch self[key] {
        case nil, .null?: return .some(nil)
        case .string(let text)?: return .some(text)
        default: return nil
        }
    }

    /// The field as a whole number (`decodeWholeNumber`); nil for another type or a fraction.
    fileprivate func optionalWhole(_ key: String) -> Int?? {
        switch self[key] {
        case nil, .null?: return .some(nil)
        case .number(let number)?: return Int(exactly: number).map { .some($0) }
        default: return nil
        }
    }

    fileprivate func optionalBool(_ key: String) -> Bool?? {
        switch self[key] {
        case nil, .null?: return .some(nil)
        case .bool(let flag)?: return .some(flag)
        default: return nil
        }
    }

    fileprivate func optionalBranch(_ key: String) -> Branch?? {
        guard let text = optionalString(key) else { return nil }
        guard let text else { return .some(nil) }
        return Branch(rawValue: text).map { .some($0) }
    }

    fileprivate func optionalMap<V>(_ key: String, _ value: (JSONValue) -> V?) -> [String: V]?? {
        switch self[key] {
        case nil, .null?: return .some(nil)
        case .object(let object)?:
            var map: [String: V] = [:]
            for (name, item) in object {
                guard let converted = value(item) else { return nil }
                map[name] = converted
            }
            return .some(map)
        default: return nil
        }
    }
}

extension RegisterRequest: FastRequestDecodable {
    init?(fields: [String: JSONValue]) {
        guard case .string(let artifactURI)? = fields["artifact_uri"],
            let digest = fields.optionalString("digest"),
            let params = fields.optionalMap("params", { if case .string(let s) = $0 { s } else { nil } }),
            let metrics = fields.optionalMap("metrics", { if case .number(let n) = $0 { n } else { nil } }),
            let tags = fields.optionalMap("tags", { if case .string(let s) = $0 { s } else { nil } }),
            let parent = fields.optionalWhole("parent"),
            let description = fields.optionalString("description")
        else { return nil }
        self.init(
            artifactURI: artifactURI, digest: digest, params: params ?? [:], metrics: metrics ?? [:], tags: tags ?? [:],
            parent: parent, description: description ?? "")
    }
}

extension PromoteRequest: FastRequestDecodable {
    init?(fields: [String: JSONValue]) {
        guard let to = fields.optionalBranch("to"), let to,
            let version = fields.optionalWhole("version"),
            let expect = fields.optionalWhole("expect"),
            let reason = fields.optionalString("reason"),
            let dryRun = fields.optionalBool("dry_run"),
            let force = fields.optionalBool("force")
        else { return nil }
        self.init(to: to, version: version, expect: expect, reason: reason ?? "", dryRun: dryRun ?? false, force: force ?? false)
    }
}

extension RollbackRequest: FastRequestDecodable {
    init?(fields: [String: JSONValue]) {
        guard let branch = fields.optionalBranch("branch"),
            let to = fields.optionalWhole("to"),
            let reason = fields.optionalString("reason"),
            let expect = fields.optionalWhole("expect")
        else { return nil }
        self.init(branch: branch ?? .master, to: to, reason: reason ?? "", expect: expect)
    }
}

/// A strict RFC 8259 parser for small documents, giving up (nil) rather than explaining: the
/// caller has a slower path that explains. Strings with escapes other than the two-character
/// ones, invalid UTF-8, duplicate keys and nesting deeper than 32 are left to that path.
struct FastJSONParser {
    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// The whole input as one value, nothing but whitespace after it.
    mutating func document() -> JSONValue? {
        guard let value = value() else { return nil }
        skipSpace()
        return index == bytes.count ? value : nil
    }

    private mutating func value() -> JSONValue? {
        skipSpace()
        guard index < bytes.count else { return nil }
        switch bytes[index] {
        case UInt8(ascii: "{"): return object()
        case UInt8(ascii: "["): return array()
        case UInt8(ascii: "\""): return string().map { .string($0) }
        case UInt8(ascii: "t"): return literal("true", .bool(true))
        case UInt8(ascii: "f"): return literal("false", .bool(false))
        case UInt8(ascii: "n"): return literal("null", .null)
        default: return number()
        }
    }

    private mutating func object() -> JSONValue? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 32 else { return nil }
        index += 1  // {
        var members: [String: JSONValue] = [:]
        skipSpace()
        if take(UInt8(ascii: "}")) { return .object(members) }
        while true {
            skipSpace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\""), let key = string() else { return nil }
            skipSpace()
            guard take(UInt8(ascii: ":")), let item = value(), members.updateValue(item, forKey: key) == nil else { return nil }
            skipSpace()
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "}")) ? .object(members) : nil
        }
    }

    private mutating func array() -> JSONValue? {
        depth += 1
        defer { depth -= 1 }
        guard depth <= 32 else { return nil }
        index += 1  // [
        var items: [JSONValue] = []
        skipSpace()
        if take(UInt8(ascii: "]")) { return .array(items) }
        while true {
            guard let item = value() else { return nil }
            items.append(item)
            skipSpace()
            if take(UInt8(ascii: ",")) { continue }
            return take(UInt8(ascii: "]")) ? .array(items) : nil
        }
    }

    private mutating func string() -> String? {
        index += 1  // opening quote
        var text: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: text, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escaped: UInt8
                switch bytes[index] {
                case UInt8(ascii: "\""): escaped = UInt8(ascii: "\"")
                case UInt8(ascii: "\\"): escaped = UInt8(ascii: "\\")
                case UInt8(ascii: "/"): escaped = UInt8(ascii: "/")
                case UInt8(ascii: "n"): escaped = 0x0A
                case UInt8(ascii: "t"): escaped = 0x09
                case UInt8(ascii: "r"): escaped = 0x0D
                case UInt8(ascii: "b"): escaped = 0x08
                case UInt8(ascii: "f"): escaped = 0x0C
                default: return nil  // \u…: the slow path
                }
                index += 1
                text.append(escaped)
            case 0..<0x20:
                return nil  // control characters must be escaped
            default:
                text.append(byte)
            }
        }
        return nil
    }

    /// `-? int frac? exp?` as RFC 8259 §6 writes it; Swift's parser then rounds it as
    /// JSONDecoder does (correctly).
    private mutating func number() -> JSONValue? {
        let start = index
        _ = take(UInt8(ascii: "-"))
        guard digits(allowLeadingZero: false) else { return nil }
        if take(UInt8(ascii: ".")) { guard digits(allowLeadingZero: true) else { return nil } }
        if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
            if !take(UInt8(ascii: "+")) { _ = take(UInt8(ascii: "-")) }
            guard digits(allowLeadingZero: true) else { return nil }
        }
        guard let number = Double(String(decoding: bytes[start..<index], as: UTF8.self)), number.isFinite else { return nil }
        return .number(number)
    }

    private mutating func digits(allowLeadingZero: Bool) -> Bool {
        let start = index
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") { index += 1 }
        guard index > start else { return false }
        // "01" is not JSON.
        return allowLeadingZero || bytes[start] != UInt8(ascii: "0") || index - start == 1
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) -> JSONValue? {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { return nil }
        let matches = word.withUTF8Buffer { Array($0) == Array(bytes[index..<index + count]) }
        guard matches else { return nil }
        index += count
        return value
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
}
