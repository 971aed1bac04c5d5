import Crypto
import Foundation

/// A signed statement of the audit log's size and head hash at one moment (contract section 7).
///
/// Keeping checkpoints outside the database lets an auditor prove later that the log still
/// contains that exact prefix, which catches a truncated or rewritten tail that the hash chain
/// alone cannot (a chain can be recomputed after an edit; a signature cannot).
public struct AuditCheckpoint: Sendable, Codable, Hashable, JSONWritable {
    /// The form of the signed note: 2 (since #19) signs the key id too; 1, without a
    /// `version` field in the JSON, did not. Both are verified, each by its own note.
    public let version: Int
    public let origin: String
    /// Number of entries covered: seq 1 … size.
    public let size: Int
    /// Hex hash of entry `size` (64 zeros when size is 0).
    public let head: String
    public let at: Timestamp
    /// Hex SHA-256 of the signer's raw Ed25519 public key, to tell keys apart.
    public let keyID: String
    /// Base64 Ed25519 signature of `note`.
    public let signature: String

    /// The note form new checkpoints are signed in.
    public static let currentVersion = 2

    enum CodingKeys: String, CodingKey {
        case version, origin, size, head, at, signature
        case keyID = "key_id"
    }

    init(origin: String, size: Int, head: String, at: Timestamp, keyID: String, signature: String) {
        (version, self.origin, self.size, self.head, self.at, self.keyID, self.signature) =
            (Self.currentVersion, origin, size, head, at, keyID, signature)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        version = try c.decodeIfPresent(Int.self, forKey: .version) ?? 1
        origin = try c.decode(String.self, forKey: .origin)
        size = try c.decode(Int.self, forKey: .size)
        head = try c.decode(String.self, forKey: .head)
        at = try c.decode(Timestamp.self, forKey: .at)
        keyID = try c.decode(String.self, forKey: .keyID)
        signature = try c.decode(String.self, forKey: .signature)
    }

    /// The signed bytes: a title line naming the form, then one `name: value` line each for
    /// the origin, size, head, time and (from version 2) key id, each ending in a newline.
    /// Nil for a version this mreg does not know.
    public var note: String? {
        let lines = "origin: \(origin)\nsize: \(size)\nhead: \(head)\nat: \(at)\n"
        return switch version {
        case 1: "mreg audit checkpoint v1\n" + lines
        case 2: "mreg audit checkpoint v2\n" + lines + "key_id: \(keyID)\n"
        default: nil
        }
    }

    /// Refuses an origin that could not stand on one line of the note: it must be 1 to 256
    /// bytes of printable text, no line breaks or other control characters.
    public static func validate(origin: String) throws(RegistryError) {
        let printable = origin.unicodeScalars.allSatisfy { scalar in
            scalar == " " || !(scalar.properties.isWhitespace || [.control, .format].contains(scalar.properties.generalCategory))
        }
        guard (1...256).contains(origin.utf8.count), printable else {
            throw RegistryError(.invalidArgument, "a checkpoint origin must be one line of printable text, 1 to 256 bytes")
        }
    }

    /// Why this checkpoint is not one `key` signed, or nil when it is.
    func refusal(by key: Curve25519.Signing.PublicKey) -> String? {
        let expectedID = CheckpointKeys.keyID(key)
        guard keyID == expectedID else {
            return "the checkpoint names key \(keyID), but the public key given is \(expectedID)"
        }
        guard let note else { return "the checkpoint is of version \(version), which this mreg does not know" }
        guard let signature = Data(base64Encoded: signature), key.isValidSignature(signature, for: Data(note.utf8)) else {
            return "the checkpoint's signature does not verify with this public key"
        }
        return nil
    }
}

/// Ed25519 keys for checkpoints, stored as base64 of the raw 32-byte key.
public enum CheckpointKeys {
    /// A new private key, and its public key.
    public static func generate() -> (privateKey: String, publicKey: String) {
        let key = Curve25519.Signing.PrivateKey()
        return (key.rawRepresentation.base64EncodedString(), key.publicKey.rawRepresentation.base64EncodedString())
    }

    static func privateKey(_ text: String) throws(RegistryError) -> Curve25519.Signing.PrivateKey {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: data)
        else { throw RegistryError(.invalidArgument, "the signing key is not a base64 Ed25519 private key (make one with mreg audit keygen)") }
        return key
    }

    static func publicKey(_ text: String) throws(RegistryError) -> Curve25519.Signing.PublicKey {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)),
            let key = try? Curve25519.Signing.PublicKey(rawRepresentation: data)
        else { throw RegistryError(.invalidArgument, "the public key is not a base64 Ed25519 public key") }
        return key
    }

    static func keyID(_ key: Curve25519.Signing.PublicKey) -> String { AuditChain.sha256(Array(key.rawRepresentation)) }
}

extension Registry {
    /// Signs the current size and head of the audit log.
    /// - Parameters:
    ///   - privateKey: base64 of a raw Ed25519 private key (`mreg audit keygen`).
    ///   - origin: names the log, so a checkpoint of one registry is not taken for another's.
    public func checkpoint(privateKey: String, origin: String) throws(RegistryError) -> AuditCheckpoint {
        let key = try CheckpointKeys.privateKey(privateKey)
        try AuditCheckpoint.validate(origin: origin)
        let verification = try verifyAudit()
        guard verification.ok else {
            throw RegistryError(.integrity, "refusing to sign a log that does not verify: \(verification.problem ?? "")")
        }
        let unsigned = AuditCheckpoint(
            origin: origin, size: verification.entries, head: verification.head, at: clock(),
            keyID: CheckpointKeys.keyID(key.publicKey), signature: "")
        let signature: Data
        do { signature = try key.signature(for: Data((unsigned.note ?? "").utf8)) } catch {
            throw RegistryError(.internal, "signing the checkpoint failed: \(error)")
        }
        return AuditCheckpoint(
            origin: unsigned.origin, size: unsigned.size, head: unsigned.head, at: unsigned.at, keyID: unsigned.keyID,
            signature: signature.base64EncodedString())
    }

    /// Verifies the chain and that it still contains the exact prefix a checkpoint signed.
    /// - Returns: the chain verification, with `ok` false and a problem when the checkpoint is
    ///   not one `publicKey` signed (its key id or its signature), or naming the first bad seq
    ///   when the log was truncated or rewritten since the checkpoint.
    /// - Parameter state: also check the tables against the log (`checkAuditState`).
    /// - Throws: `INVALID_ARGUMENT` when `publicKey` is not an Ed25519 public key.
    public func verifyAudit(checkpoint: AuditCheckpoint, publicKey: String, state: Bool = false) throws(RegistryError) -> AuditVerification {
        let key = try CheckpointKeys.publicKey(publicKey)
        let checked = state ? try checkAuditState() : nil
        let verification = try verifyAgainst(checkpoint, key)
        return checked.map(verification.checking) ?? verification
    }

    private func verifyAgainst(_ checkpoint: AuditCheckpoint, _ key: Curve25519.Signing.PublicKey) throws(RegistryError) -> AuditVerification {
        if let refusal = checkpoint.refusal(by: key) { return try verifyAudit().failing(refusal) }
        let walk = try walkAuditChain(capturing: checkpoint.size)
        let chain = walk.verification
        if !chain.ok, let bad = chain.firstBadSeq, bad <= checkpoint.size { return chain }
        guard chain.entries >= checkpoint.size || !chain.ok else {
            return AuditVerification(
                ok: false, entries: chain.entries, head: chain.head, firstBadSeq: chain.entries + 1,
                problem: "the log has \(chain.entries) entries but the checkpoint signed \(checkpoint.size): its tail was truncated")
        }
        guard walk.capturedHash == checkpoint.head else {
            return AuditVerification(
                ok: false, entries: chain.entries, head: chain.head, firstBadSeq: checkpoint.size,
                problem: "entry \(checkpoint.size) no longer has the hash the checkpoint signed: the log was rewritten")
        }
        return chain
    }
}

/// The body of `POST /v1/audit/verify`: verify the chain and that it still holds what a signed
/// checkpoint signed.
public struct CheckpointVerificationRequest: Sendable, Codable, Hashable, JSONWritable {
    public let checkpoint: AuditCheckpoint
    /// Base64 of the signer's raw Ed25519 public key (the `.pub` file of `mreg audit keygen`).
    public let publicKey: String
    /// Also check the tables against the log.
    public let state: Bool?

    public init(checkpoint: AuditCheckpoint, publicKey: String, state: Bool? = nil) {
        self.checkpoint = checkpoint
        self.publicKey = publicKey
        self.state = state
    }

    enum CodingKeys: String, CodingKey {
        case checkpoint, state
        case publicKey = "public_key"
    }
}
