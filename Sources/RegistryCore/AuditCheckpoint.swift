import Crypto
import Foundation

/// A signed statement of the audit log's size and head hash at one moment (contract section 7).
///
/// Keeping checkpoints outside the database lets an auditor prove later that the log still
/// contains that exact prefix, which catches a truncated or rewritten tail that the hash chain
/// alone cannot (a chain can be recomputed after an edit; a signature cannot).
public struct AuditCheckpoint: Sendable, Codable, Hashable, JSONWritable {
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

    enum CodingKeys: String, CodingKey {
        case origin, size, head, at, signature
        case keyID = "key_id"
    }

    /// The signed bytes: four lines, each `name: value`, ending in a newline.
    public var note: String { Self.note(origin: origin, size: size, head: head, at: at) }

    static func note(origin: String, size: Int, head: String, at: Timestamp) -> String {
        "mreg audit checkpoint v1\norigin: \(origin)\nsize: \(size)\nhead: \(head)\nat: \(at)\n"
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
        let verification = try verifyAudit()
        guard verification.ok else {
            throw RegistryError(.integrity, "refusing to sign a log that does not verify: \(verification.problem ?? "")")
        }
        let at = clock()
        let note = AuditCheckpoint.note(origin: origin, size: verification.entries, head: verification.head, at: at)
        let signature: Data
        do { signature = try key.signature(for: Data(note.utf8)) } catch {
            throw RegistryError(.internal, "signing the checkpoint failed: \(error)")
        }
        return AuditCheckpoint(
            origin: origin, size: verification.entries, head: verification.head, at: at,
            keyID: CheckpointKeys.keyID(key.publicKey), signature: signature.base64EncodedString())
    }

    /// Verifies the chain and that it still contains the exact prefix a checkpoint signed.
    /// - Returns: the chain verification, with `ok` false and a problem naming the first bad
    ///   seq when the log was truncated or rewritten since the checkpoint.
    /// - Throws: `INTEGRITY` when the checkpoint's signature does not verify with `publicKey`.
    public func verifyAudit(checkpoint: AuditCheckpoint, publicKey: String) throws(RegistryError) -> AuditVerification {
        let key = try CheckpointKeys.publicKey(publicKey)
        guard let signature = Data(base64Encoded: checkpoint.signature),
            key.isValidSignature(signature, for: Data(checkpoint.note.utf8))
        else {
            throw RegistryError(.integrity, "the checkpoint's signature does not verify with this public key")
        }
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

    public init(checkpoint: AuditCheckpoint, publicKey: String) {
        self.checkpoint = checkpoint
        self.publicKey = publicKey
    }

    enum CodingKeys: String, CodingKey {
        case checkpoint
        case publicKey = "public_key"
    }
}
