/// The registry's one JSON reader: RFC 8259 text to a `JSONValue`, for request bodies, `--file`
/// documents, the JSON the registry stores in its columns and the answers the client reads.
/// `JSONValueDecoder` then makes typed values of it.
///
/// Stricter than Foundation's `JSONSerialization` + `JSONDecoder` in one way: a key that
/// appears twice in an object is refused, where those two disagree about which value wins.
/// About twice as fast for a registration body (BENCHMARKS.md, "#17: one JSON path").
struct JSONParser {
    /// Why a text is not JSON, and where.
    struct SyntaxError: Error, CustomStringConvertible {
        let reason: String
        let offset: Int

        var description: String { "\(reason) at byte \(offset)" }
    }

    /// Nesting deeper than this is refused rather than recursed into.
    static let maximumDepth = 256

    /// The whole of `bytes` as one value, with nothing but whitespace after it.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(SyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        let value = try parser.value()
        parser.skipSpace()
        guard parser.index == bytes.count else { throw parser.error("unexpected text after the document") }
        return value
    }

    static func parse(_ bytes: some Sequence<UInt8>) throws(SyntaxError) -> JSONValue {
        let result = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(SyntaxError) in try parse(UnsafeRawBufferPointer(buffer)) }
        } ?? Array(bytes).withUnsafeBytes { buffer in Result { () throws(SyntaxError) in try parse(buffer) } }
        return try result.get()
    }

    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private var depth = 0

    private init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// What is wrong at the current byte; at the end of the text, that it ended too soon.
    private func error(_ reason: String) -> SyntaxError {
        SyntaxError(reason: index < bytes.count ? reason : "unexpected end of text", offset: index)
    }

    private mutating func value() throws(SyntaxError) -> JSONValue {
        skipSpace()
        guard index < bytes.count else { throw error("unexpected end of text") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("unexpected character")
        }
    }

    private mutating func nested<T>(_ body: (inout JSONParser) throws(SyntaxError) -> T) throws(SyntaxError) -> T {
        guard depth < Self.maximumDepth else { throw error("nesting deeper than \(Self.maximumDepth)") }
        depth += 1
        defer { depth -= 1 }
        index += 1  // the opening bracket
        return try body(&self)
    }

    private mutating func object() throws(SyntaxError) -> JSONValue {
        try nested { (p: inout JSONParser) throws(SyntaxError) in
            var members: [String: JSONValue] = [:]
            p.skipSpace()
            if p.take(UInt8(ascii: "}")) { return .object(members) }
            while true {
                p.skipSpace()
                guard p.index < p.bytes.count, p.bytes[p.index] == UInt8(ascii: "\"") else { throw p.error("expected a key in quotes") }
                let keyStart = p.index
                let key = try p.string()
                p.skipSpace()
                guard p.take(UInt8(ascii: ":")) else { throw p.error("expected \":\" after a key") }
                guard members.updateValue(try p.value(), forKey: key) == nil else {
                    throw SyntaxError(reason: "the key \"\(key)\" appears twice", offset: keyStart)
                }
                p.skipSpace()
                if p.take(UInt8(ascii: ",")) { continue }
                guard p.take(UInt8(ascii: "}")) else { throw p.error("expected \",\" or \"}\"") }
                return .object(members)
            }
        }
    }

    private mutating func array() throws(SyntaxError) -> JSONValue {
        try nested { (p: inout JSONParser) throws(SyntaxError) in
            var items: [JSONValue] = []
            p.skipSpace()
            if p.take(UInt8(ascii: "]")) { return .array(items) }
            while true {
                items.append(try p.value())
                p.skipSpace()
                if p.take(UInt8(ascii: ",")) { continue }
                guard p.take(UInt8(ascii: "]")) else { throw p.error("expected \",\" or \"]\"") }
                return .array(items)
            }
        }
    }

    private mutating func string() throws(SyntaxError) -> String {
        index += 1  // the opening quote
        let start = index
        // Most strings (names, URIs, digests) have no escape: they are checked and copied once.
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"), bytes[index] >= 0x20 {
            index += 1
        }
        guard index < bytes.count else { throw error("unexpected end of text") }
        var text = Array(bytes[start..<index])
        while true {
            guard index < bytes.count else { throw error("unexpected end of text") }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let string = String(validating: text, as: UTF8.self) else {
                    throw SyntaxError(reason: "a string is not valid UTF-8", offset: start)
                }
                return string
            case UInt8(ascii: "\\"):
                index += 1
                try escape(into: &text)
            case 0..<0x20:
                throw error("a control character in a string must be escaped")
            default:
                text.append(byte)
                index += 1
            }
        }
    }

    /// The escape after a backslash, appended as UTF-8.
    private mutating func escape(into text: inout [UInt8]) throws(SyntaxError) {
        guard index < bytes.count else { throw error("unexpected end of text") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): text.append(byte)
        case UInt8(ascii: "b"): text.append(0x08)
        case UInt8(ascii: "f"): text.append(0x0C)
        case UInt8(ascii: "n"): text.append(0x0A)
        case UInt8(ascii: "r"): text.append(0x0D)
        case UInt8(ascii: "t"): text.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try hex4()
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by an escaped low one.
                guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")) else { throw error("a lone surrogate in \\u escapes") }
                let low = try hex4()
                guard (0xDC00..<0xE000).contains(low) else { throw error("a lone surrogate in \\u escapes") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw error("a lone surrogate in \\u escapes") }
            text.append(contentsOf: String(Character(unicode)).utf8)
        default:
            throw error("an unknown escape")
        }
    }

    private mutating func hex4() throws(SyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard index < bytes.count, let digit = Self.hexDigit(bytes[index]) else { throw error("\\u needs four hex digits") }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private static func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// `-? int frac? exp?` as RFC 8259 §6 writes it, rounded to the nearest Double (as
    /// Swift's parser rounds, correctly). A number too large for a Double is refused.
    private mutating func number() throws(SyntaxError) -> Double {
        let start = index
        _ = take(UInt8(ascii: "-"))
        if take(UInt8(ascii: "0")) {
            guard !isDigit() else { throw SyntaxError(reason: "a number must not start with 0", offset: start) }
        } else {
            guard digits() else { throw error("a number needs digits") }
        }
        if take(UInt8(ascii: ".")) { guard digits() else { throw error("a fraction needs digits") } }
        if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
            if !take(UInt8(ascii: "+")) { _ = take(UInt8(ascii: "-")) }
            guard digits() else { throw error("an exponent needs digits") }
        }
        guard let number = Double(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)),
            number.isFinite
        else { throw SyntaxError(reason: "a number is too large", offset: start) }
        return number
    }

    private func isDigit() -> Bool {
        index < bytes.count && bytes[index] >= UInt8(ascii: "0") && bytes[index] <= UInt8(ascii: "9")
    }

    /// One or more digits.
    private mutating func digits() -> Bool {
        let start = index
        while isDigit() { index += 1 }
        return index > start
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(SyntaxError) -> JSONValue {
        let count = word.utf8CodeUnitCount
        let matches = index + count <= bytes.count && word.withUTF8Buffer { $0.elementsEqual(bytes[index..<index + count]) }
        guard matches else { throw error("unexpected character") }
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
