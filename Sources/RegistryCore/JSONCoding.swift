import Foundation

/// The registry's one way to read and write JSON, with a stable key order, so stored JSON (and
/// thus audit hashes) and printed JSON are deterministic.
/// - Reading: `JSONParser` makes a `JSONValue` of the text, `JSONValueDecoder` a typed value.
/// - Writing: each `JSONWritable` type writes itself, compact, keys sorted, slashes unescaped.
public enum JSONCoding {
    /// JSONEncoder set up as the registry writes: the writer of `JSONWritable` types that are not
    /// written by hand, and of the CLI's indented output.
    public static func encoder(pretty: Bool = false) -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Compact JSON text of `value`, keys sorted.
    public static func text(_ value: some JSONWritable) -> String {
        String(decoding: bytes(value), as: UTF8.self)
    }

    /// `text(value)` as UTF-8 bytes.
    public static func bytes(_ value: some JSONWritable) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        value.appendJSON(to: &out)
        return out
    }

    /// Reads `bytes` as a `T`.
    /// - Throws: `JSONParser.SyntaxError` for text that is not JSON, `DecodingError` naming the
    ///   field for JSON that is not a `T`.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: some Sequence<UInt8>) throws -> T {
        try JSONValueDecoder.decode(type, from: try JSONParser.parse(bytes), at: [])
    }

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try decode(type, from: text.utf8)
    }
}
