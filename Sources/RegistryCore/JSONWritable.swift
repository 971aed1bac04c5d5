import Foundation

/// A value the registry writes as JSON: every answer of the API, every JSON column it stores,
/// every JSON document it prints. `JSONCoding.text` and `JSONCoding.bytes` take only these, so
/// how a type is written is decided once, at its conformance:
/// - JSON's own shapes (strings, numbers, maps, arrays, `JSONValue`) and the answers of the hot
///   paths (a version, a page, a resolution, a transition) are written here by hand, byte for
///   byte what JSONEncoder writes with `.sortedKeys` and `.withoutEscapingSlashes`
///   (JSONWritableTests compares the two). JSONEncoder's reflection was most of a resolve's
///   and a version listing's CPU (BENCHMARKS.md, "#17: one JSON path").
/// - Everything else declares the conformance and is written by JSONEncoder.
public protocol JSONWritable: Encodable {
    func appendJSON(to out: inout [UInt8])
}

extension JSONWritable {
    public func appendJSON(to out: inout [UInt8]) {
        // Encoding our own value types cannot fail: they hold only strings, finite numbers and
        // containers of them.
        out.append(contentsOf: (try? JSONCoding.encoder().encode(self)) ?? Data("null".utf8))
    }
}

extension String: JSONWritable {
    public func appendJSON(to out: inout [UInt8]) { JSONCoding.appendString(self, to: &out) }
}

extension Double: JSONWritable {
    public func appendJSON(to out: inout [UInt8]) { JSONCoding.appendNumber(self, to: &out) }
}

extension Int: JSONWritable {
    public func appendJSON(to out: inout [UInt8]) { JSONCoding.appendRaw(String(self), to: &out) }
}

extension Bool: JSONWritable {
    public func appendJSON(to out: inout [UInt8]) { JSONCoding.appendRaw(self ? "true" : "false", to: &out) }
}

extension JSONValue: JSONWritable {
    public func appendJSON(to out: inout [UInt8]) {
        switch self {
        case .null: JSONCoding.appendRaw("null", to: &out)
        case .bool(let v): v.appendJSON(to: &out)
        case .number(let v): v.appendJSON(to: &out)
        case .string(let v): v.appendJSON(to: &out)
        case .array(let items): items.appendJSON(to: &out)
        case .object(let object): object.appendJSON(to: &out)
        }
    }
}

extension Array: JSONWritable where Element: JSONWritable {
    public func appendJSON(to out: inout [UInt8]) {
        out.append(UInt8(ascii: "["))
        for (index, item) in enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            item.appendJSON(to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }
}

extension Dictionary: JSONWritable where Key == String, Value: JSONWritable {
    /// `{"k":v,…}` with the keys sorted, as JSONEncoder's `.sortedKeys` writes them. Sorts the
    /// entries rather than the keys, so no key is hashed again to find its value.
    public func appendJSON(to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (index, entry) in sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONCoding.appendString(entry.key, to: &out)
            out.append(UInt8(ascii: ":"))
            entry.value.appendJSON(to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }
}

extension JSONCoding {
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

/// Writes one JSON object's members in the order they are given: callers list keys sorted, as
/// JSONEncoder's `.sortedKeys` does (byte order for the ASCII keys of the API).
struct JSONObjectWriter {
    private var first = true

    static func object(into out: inout [UInt8], _ members: (inout JSONObjectWriter, inout [UInt8]) -> Void) {
        var writer = JSONObjectWriter()
        out.append(UInt8(ascii: "{"))
        members(&writer, &out)
        out.append(UInt8(ascii: "}"))
    }

    private mutating func key(_ name: StaticString, _ out: inout [UInt8]) {
        if !first { out.append(UInt8(ascii: ",")) }
        first = false
        out.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: ":")])
    }

    mutating func string(_ name: StaticString, _ value: String?, _ out: inout [UInt8]) {
        key(name, &out)
        if let value { JSONCoding.appendString(value, to: &out) } else { JSONCoding.appendRaw("null", to: &out) }
    }

    mutating func time(_ name: StaticString, _ value: Timestamp, _ out: inout [UInt8]) {
        key(name, &out)
        out.append(UInt8(ascii: "\""))
        value.appendRFC3339(to: &out)
        out.append(UInt8(ascii: "\""))
    }

    mutating func int(_ name: StaticString, _ value: Int?, _ out: inout [UInt8]) {
        key(name, &out)
        JSONCoding.appendRaw(value.map { String($0) } ?? "null", to: &out)
    }

    mutating func bool(_ name: StaticString, _ value: Bool, _ out: inout [UInt8]) {
        key(name, &out)
        JSONCoding.appendRaw(value ? "true" : "false", to: &out)
    }

    mutating func raw(_ name: StaticString, _ out: inout [UInt8], _ value: (inout [UInt8]) -> Void) {
        key(name, &out)
        value(&out)
    }

    mutating func value<T: JSONWritable>(_ name: StaticString, _ value: T, _ out: inout [UInt8]) {
        key(name, &out)
        value.appendJSON(to: &out)
    }
}

extension ModelVersion: JSONWritable {
    public func appendJSON(to out: inout [UInt8]) {
        Self.appendJSON(
            to: &out, model: model, version: version, artifactURI: artifactURI, digest: digest, parent: parent,
            description: description, status: status, createdBy: createdBy, createdAt: createdAt,
            params: params.appendJSON, metrics: metrics.appendJSON, tags: tags.appendJSON)
    }

    /// A version's members in their one order, for a value and for a row
    /// (`appendJSON(model:statement:to:)`), each map written by its closure.
    static func appendJSON(
        to out: inout [UInt8], model: String, version: Int, artifactURI: String, digest: String?, parent: Int?,
        description: String, status: Status, createdBy: String, createdAt: Timestamp,
        params: (inout [UInt8]) -> Void, metrics: (inout [UInt8]) -> Void, tags: (inout [UInt8]) -> Void
    ) {
        JSONObjectWriter.object(into: &out) { w, out in
            w.string("artifact_uri", artifactURI, &out)
            w.time("created_at", createdAt, &out)
            w.string("created_by", createdBy, &out)
            w.string("description", description, &out)
            w.string("digest", digest, &out)
            w.raw("metrics", &out, metrics)
            w.string("model", model, &out)
            w.raw("params", &out, params)
            w.int("parent", parent, &out)
            w.string("status", status.rawValue, &out)
            w.raw("tags", &out, tags)
            w.int("version", version, &out)
        }
    }
}

extension Resolution: JSONWritable {
    public func appendJSON(to out: inout [UInt8]) {
        JSONObjectWriter.object(into: &out) { w, out in
            w.int("bucket", bucket, &out)
            w.string("model", model, &out)
            w.int("rollout_id", rolloutID, &out)
            w.int("version", version, &out)
        }
    }
}

extension BranchState: JSONWritable {
    public func appendJSON(to out: inout [UInt8]) {
        JSONObjectWriter.object(into: &out) { w, out in
            w.string("branch", branch.rawValue, &out)
            w.string("model", model, &out)
            w.int("transition_id", transitionID, &out)
            w.time("updated_at", updatedAt, &out)
            w.int("version", version, &out)
        }
    }
}

extension GateResult: JSONWritable {
    public func appendJSON(to out: inout [UInt8]) { jsonValue.appendJSON(to: &out) }

    var jsonValue: JSONValue {
        .object(["name": .string(name), "passed": .bool(passed), "observed": observed, "required": required, "message": .string(message)])
    }
}

extension Transition: JSONWritable {
    public func appendJSON(to out: inout [UInt8]) {
        JSONObjectWriter.object(into: &out) { w, out in
            w.string("actor", actor, &out)
            w.time("at", at, &out)
            w.string("branch", branch.rawValue, &out)
            w.int("from_version", fromVersion, &out)
            w.value("gates", gates, &out)
            w.int("id", id, &out)
            w.string("kind", kind.rawValue, &out)
            w.string("model", model, &out)
            w.string("reason", reason, &out)
            w.int("to_version", toVersion, &out)
        }
    }
}

extension TransitionResult: JSONWritable {
    public func appendJSON(to out: inout [UInt8]) {
        JSONObjectWriter.object(into: &out) { w, out in
            w.string("branch", branch.rawValue, &out)
            w.bool("dry_run", dryRun, &out)
            w.int("from_version", fromVersion, &out)
            w.value("gates", gates, &out)
            w.string("kind", kind.rawValue, &out)
            w.string("model", model, &out)
            w.bool("passed", passed, &out)
            w.int("to_version", toVersion, &out)
            w.int("transition_id", transitionID, &out)
        }
    }
}

extension History: JSONWritable {
    public func appendJSON(to out: inout [UInt8]) {
        JSONObjectWriter.object(into: &out) { w, out in
            w.string("model", model, &out)
            w.string("next_cursor", nextCursor, &out)
            w.value("transitions", transitions, &out)
        }
    }
}

extension Page: JSONWritable where Item: JSONWritable {
    public func appendJSON(to out: inout [UInt8]) {
        JSONObjectWriter.object(into: &out) { w, out in
            w.value("items", items, &out)
            w.string("next_cursor", nextCursor, &out)
        }
    }
}
