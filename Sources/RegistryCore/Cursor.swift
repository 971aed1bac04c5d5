import Foundation

/// Opaque keyset cursors: the key of the last item of a page, so the next page starts right
/// after it however many rows were added meanwhile.
enum Cursor {
    static func encode(_ key: Int64) -> String {
        Data("k1:\(key)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func encode(_ key: String) -> String {
        Data("s1:\(key)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeInteger(_ cursor: String) throws(RegistryError) -> Int64 {
        guard let text = decode(cursor), text.hasPrefix("k1:"), let key = Int64(text.dropFirst(3)) else {
            throw RegistryError(.invalidArgument, "cursor \"\(cursor)\" is not one this server gave out")
        }
        return key
    }

    static func decodeString(_ cursor: String) throws(RegistryError) -> String {
        guard let text = decode(cursor), text.hasPrefix("s1:") else {
            throw RegistryError(.invalidArgument, "cursor \"\(cursor)\" is not one this server gave out")
        }
        return String(text.dropFirst(3))
    }

    private static func decode(_ cursor: String) -> String? {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        return Data(base64Encoded: base64).map { String(decoding: $0, as: UTF8.self) }
    }
}

/// Checks a page size.
func validate(limit: Int) throws(RegistryError) {
    guard (1...1000).contains(limit) else { throw RegistryError(.invalidArgument, "limit must be between 1 and 1000, got \(limit)") }
}
