/// The SHA-256 a change's audit entry commits to for the content it created, so that `audit
/// verify --state` can tell a row edited after the fact from the row the change wrote
/// (docs/AUDIT.md, "Content digests").
///
/// The fields are encoded one after another as the chain encodes an entry's (section 2): a null
/// is `0x00`; anything else is `0x01`, its UTF-8 length as 4 bytes big-endian, and its UTF-8
/// bytes — text as stored, an integer in decimal, a real number as the 16 lowercase hex digits of
/// its IEEE 754 bit pattern.
struct ContentDigest {
    private(set) var bytes: [UInt8] = []

    mutating func text(_ value: String?) {
        guard let value else { return AuditChain.appendNull(into: &bytes) }
        AuditChain.appendField(Array(value.utf8), into: &bytes)
    }

    mutating func integer(_ value: Int?) {
        guard let value else { return AuditChain.appendNull(into: &bytes) }
        AuditChain.appendDecimal(Int64(value), into: &bytes)
    }

    mutating func real(_ value: Double?) {
        guard let value else { return AuditChain.appendNull(into: &bytes) }
        let hex = String(value.bitPattern, radix: 16)
        text(String(repeating: "0", count: 16 - hex.count) + hex)
    }

    var sha256: String { AuditChain.sha256(bytes) }
}

/// What a registration writes to a version's row besides its keys, creator and status, as
/// stored; `sha256` is its content digest, in the `version.register` entry's `content_sha256`.
struct VersionContent: Equatable {
    let artifactURI: String
    let digest: String?
    /// The stored JSON texts of the maps.
    let params: String
    let metrics: String
    let tags: String
    let parent: Int?
    let description: String

    /// Fields in this order: artifact_uri, digest, params, metrics, tags, parent, description.
    var encoded: ContentDigest {
        var digest = ContentDigest()
        digest.text(artifactURI)
        digest.text(self.digest)
        digest.text(params)
        digest.text(metrics)
        digest.text(tags)
        digest.integer(parent)
        digest.text(description)
        return digest
    }

    var sha256: String { encoded.sha256 }
}

/// What attaching a report writes to its row besides its version, creator and time, as stored;
/// `sha256` is its content digest, in the `report.add` entry's `content_sha256`.
struct ReportContent: Equatable {
    let suite: String
    let status: String
    let tests: Int
    let failures: Int
    let errors: Int
    let skipped: Int
    /// The stored JSON text of the metrics.
    let metrics: String
    let durationSeconds: Double?
    /// The SHA-256 of the uploaded document.
    let documentSHA256: String

    /// Fields in this order: suite, status, tests, failures, errors, skipped, metrics,
    /// duration_s, sha256.
    var encoded: ContentDigest {
        var digest = ContentDigest()
        digest.text(suite)
        digest.text(status)
        digest.integer(tests)
        digest.integer(failures)
        digest.integer(errors)
        digest.integer(skipped)
        digest.text(metrics)
        digest.real(durationSeconds)
        digest.text(documentSHA256)
        return digest
    }

    var sha256: String { encoded.sha256 }
}
