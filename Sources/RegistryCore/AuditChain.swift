import Crypto
import Foundation

/// One entry of the audit log.
public struct AuditEntry: Sendable, Hashable, Codable, JSONWritable {
    public let seq: Int
    public let at: Timestamp
    public let actor: String
    public let action: String
    public let model: String?
    public let version: Int?
    public let branch: String?
    /// The entry's details as stored: compact JSON text with sorted keys. The hash covers these
    /// exact bytes.
    public let details: String
    /// Hex of the previous entry's hash (64 zeros for the first entry).
    public let prevHash: String
    public let hash: String
    /// The canonical form `hash` was computed in (docs/AUDIT.md, section 2).
    public let form: Int

    enum CodingKeys: String, CodingKey {
        case seq, at, actor, action, model, version, branch, details, hash, form
        case prevHash = "prev_hash"
    }

    public init(
        seq: Int, at: Timestamp, actor: String, action: String, model: String?, version: Int?, branch: String?,
        details: String, prevHash: String, hash: String, form: Int
    ) {
        self.seq = seq
        self.at = at
        self.actor = actor
        self.action = action
        self.model = model
        self.version = version
        self.branch = branch
        self.details = details
        self.prevHash = prevHash
        self.hash = hash
        self.form = form
    }

    /// `details` is written as a JSON object, not as a string holding JSON.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(seq, forKey: .seq)
        try c.encode(at, forKey: .at)
        try c.encode(actor, forKey: .actor)
        try c.encode(action, forKey: .action)
        try c.encode(model, forKey: .model)
        try c.encode(version, forKey: .version)
        try c.encode(branch, forKey: .branch)
        try c.encode((try? JSONCoding.decode(JSONValue.self, from: details)) ?? .string(details), forKey: .details)
        try c.encode(prevHash, forKey: .prevHash)
        try c.encode(hash, forKey: .hash)
        try c.encode(form, forKey: .form)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        seq = try c.decode(Int.self, forKey: .seq)
        at = try c.decode(Timestamp.self, forKey: .at)
        actor = try c.decode(String.self, forKey: .actor)
        action = try c.decode(String.self, forKey: .action)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        version = try c.decodeIfPresent(Int.self, forKey: .version)
        branch = try c.decodeIfPresent(String.self, forKey: .branch)
        details = JSONCoding.text(try c.decode(JSONValue.self, forKey: .details))
        prevHash = try c.decode(String.self, forKey: .prevHash)
        hash = try c.decode(String.self, forKey: .hash)
        form = try c.decode(Int.self, forKey: .form)
    }
}

/// The hash chain of the audit log, as specified in docs/AUDIT.md:
/// `hash = SHA-256(prev_hash ‖ canonical(entry))`, the first `prev_hash` being 32 zero bytes.
public enum AuditChain {
    public static let genesis = [UInt8](repeating: 0, count: 32)

    /// The canonical form new entries are written in, named by their `form` column.
    public static let currentForm = 2
    /// The forms this mreg can verify.
    public static let knownForms = 1...2

    /// The canonical bytes of an entry without its hashes (docs/AUDIT.md, section 2). Each
    /// field in order — seq, at (milliseconds since the epoch), actor, action, model, version,
    /// branch, details — is written as one byte `0x00` when null, or a tag, its UTF-8 length as
    /// 4 bytes big-endian, and its UTF-8 bytes, integers in decimal. In form 1 every tag is
    /// `0x01`; form 2 begins with the byte `0x02` and tags text `0x01` and integers `0x02`, so
    /// that a type is told apart by the bytes and the form by their first byte.
    public static func canonicalBytes(
        form: Int, seq: Int, at: Int64, actor: String, action: String, model: String?, version: Int?, branch: String?,
        details: String, into buffer: inout [UInt8]
    ) {
        let integerTag = integerTag(form: form)
        func field(_ text: String?) {
            guard let text else { return appendNull(into: &buffer) }
            appendField(Array(text.utf8), into: &buffer)
        }
        appendFormMark(form, into: &buffer)
        appendDecimal(Int64(seq), tag: integerTag, into: &buffer)
        appendDecimal(at, tag: integerTag, into: &buffer)
        field(actor)
        field(action)
        field(model)
        if let version { appendDecimal(Int64(version), tag: integerTag, into: &buffer) } else { appendNull(into: &buffer) }
        field(branch)
        field(details)
    }

    // The field encoders, shared by the writer above and the verifier, which feeds them the
    // column bytes straight from SQLite (no String per field: verify reads millions of rows).

    static func appendNull(into buffer: inout [UInt8]) { buffer.append(0) }

    /// Form 1 has no mark (its bytes begin with seq's tag, `0x01`); later forms begin with
    /// their number as one byte.
    static func appendFormMark(_ form: Int, into buffer: inout [UInt8]) {
        if form > 1 { buffer.append(UInt8(truncatingIfNeeded: form)) }
    }

    /// The tag of an integer field: `0x01` in form 1, which does not tell integers from text.
    static func integerTag(form: Int) -> UInt8 { form == 1 ? 1 : 2 }

    static func appendField(_ bytes: some Collection<UInt8>, tag: UInt8 = 1, into buffer: inout [UInt8]) {
        let count = bytes.count
        buffer.append(tag)
        buffer.append(UInt8(truncatingIfNeeded: count >> 24))
        buffer.append(UInt8(truncatingIfNeeded: count >> 16))
        buffer.append(UInt8(truncatingIfNeeded: count >> 8))
        buffer.append(UInt8(truncatingIfNeeded: count))
        buffer.append(contentsOf: bytes)
    }

    /// A field holding `value` in decimal ASCII, as `String(value)` writes it.
    static func appendDecimal(_ value: Int64, tag: UInt8 = 1, into buffer: inout [UInt8]) {
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var magnitude = value.magnitude
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[19 - count] = UInt8(48 + magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            if value < 0 {
                raw[19 - count] = 45  // "-"
                count += 1
            }
            appendField(UnsafeRawBufferPointer(rebasing: raw[(20 - count)...]), tag: tag, into: &buffer)
        }
    }

    /// `SHA-256(previous ‖ canonical)`.
    public static func hash(previous: [UInt8], canonical: [UInt8]) -> [UInt8] {
        var hasher = SHA256()
        hasher.update(data: previous)
        hasher.update(data: canonical)
        // Through the digest's buffer: `Array(digest)` copies it element by element.
        return hasher.finalize().withUnsafeBytes { Array($0) }
    }

    /// Whether stored bytes are exactly `expected`, compared with one `memcmp`: the generic
    /// `elementsEqual` walks both byte by byte, a measurable share of verifying the chain
    /// (BENCHMARKS.md, "What is worth fixing next").
    static func same(_ stored: UnsafeRawBufferPointer, _ expected: [UInt8]) -> Bool {
        guard stored.count == expected.count else { return false }
        guard let storedBase = stored.baseAddress else { return true }
        return expected.withUnsafeBytes { memcmp(storedBase, $0.baseAddress!, stored.count) == 0 }
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// SHA-256 of `bytes` as lowercase hex.
    public static func sha256(_ bytes: [UInt8]) -> String { hex(SHA256.hash(data: bytes)) }
}

/// The answer of `audit verify`.
public struct AuditVerification: Sendable, Hashable, Codable, JSONWritable {
    public let ok: Bool
    public let entries: Int
    /// Hex of the last good entry's hash (64 zeros for an empty log).
    public let head: String
    public let firstBadSeq: Int?
    /// Why the first bad entry is bad.
    public let problem: String?
    /// With `--state`: what checking the tables against the log found.
    public var state: StateCheck? = nil

    enum CodingKeys: String, CodingKey {
        case ok, entries, head, problem, state
        case firstBadSeq = "first_bad_seq"
    }

    /// This verification of the chain, failed for a reason outside it (a checkpoint that does
    /// not hold): no entry is named as bad.
    public func failing(_ problem: String) -> AuditVerification {
        AuditVerification(ok: false, entries: entries, head: head, firstBadSeq: nil, problem: problem, state: state)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ok, forKey: .ok)
        try c.encode(entries, forKey: .entries)
        try c.encode(head, forKey: .head)
        if !ok {
            try c.encode(firstBadSeq, forKey: .firstBadSeq)
            try c.encode(problem, forKey: .problem)
        }
        if let state { try c.encode(state, forKey: .state) }
    }
}

/// Filters of `audit log`.
public struct AuditQuery: Sendable, Hashable {
    public var model: String?
    public var actor: String?
    public var action: String?
    public var since: Timestamp?
    public var until: Timestamp?
    public var limit: Int
    public var cursor: String?

    public init(
        model: String? = nil, actor: String? = nil, action: String? = nil, since: Timestamp? = nil, until: Timestamp? = nil,
        limit: Int = 50, cursor: String? = nil
    ) {
        self.model = model
        self.actor = actor
        self.action = action
        self.since = since
        self.until = until
        self.limit = limit
        self.cursor = cursor
    }
}
