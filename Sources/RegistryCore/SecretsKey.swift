import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The key that seals webhook signing secrets at rest (contract section 10): a 256-bit AES-GCM
/// key in a file of its own, so that a copy of the database alone does not reveal a secret.
///
/// The file holds the key as base64 on one line. `load(from:createIfMissing:)` makes a new one
/// (mode 0600) when there is none, as `mreg serve --secrets-key FILE` does on its first start.
public struct SecretsKey: Sendable {
    /// The key's bytes (SymmetricKey is not Sendable).
    private let bytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: bytes) }
    /// Names the key without revealing it: the first 8 bytes of its SHA-256, in hex. Stored
    /// beside every sealed secret, so a server given another key says so instead of failing
    /// to open.
    public let id: String

    public init(bytes: [UInt8]) throws(RegistryError) {
        guard bytes.count == 32 else { throw RegistryError(.invalidArgument, "a secrets key is 32 bytes, not \(bytes.count)") }
        self.bytes = bytes
        id = AuditChain.hex(SHA256.hash(data: bytes).prefix(8))
    }

    /// A new random key.
    public static func generate() -> SecretsKey {
        try! SecretsKey(bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    /// The key in the file at `path`; with `createIfMissing`, a new key written there first
    /// (readable by its owner only) when the file does not exist.
    /// - Throws: `UNAVAILABLE` when the file cannot be read or made, `INVALID_ARGUMENT` when it
    ///   does not hold a key, or when it is missing and may not be made.
    public static func load(from path: String, createIfMissing: Bool) throws(RegistryError) -> SecretsKey {
        if !FileManager.default.fileExists(atPath: path) {
            guard createIfMissing else {
                throw RegistryError(.invalidArgument, "no secrets key at \(path); mreg serve --secrets-key \(path) makes one on its first start")
            }
            let key = generate()
            try create(path, holding: Data((Data(key.bytes).base64EncodedString() + "\n").utf8))
        }
        guard let contents = FileManager.default.contents(atPath: path) else {
            throw RegistryError(.unavailable, "cannot read the secrets key \(path)")
        }
        let text = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Data(base64Encoded: text), bytes.count == 32 else {
            throw RegistryError(.invalidArgument, "\(path) does not hold a secrets key (32 bytes in base64 on one line)")
        }
        return try SecretsKey(bytes: Array(bytes))
    }

    /// Writes `contents` to `path` (mode 0600) as a whole or not at all: into a file of its own
    /// first, then linked into place, which fails when `path` exists, so two servers starting
    /// together end up reading one key, and none reads a half-written file. Another process
    /// having made it first is not an error.
    private static func create(_ path: String, holding contents: Data) throws(RegistryError) {
        let temporary = "\(path).\(getpid()).new"
        let descriptor = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else {
            throw RegistryError(.unavailable, "cannot create the secrets key \(path): \(String(cString: strerror(errno)))")
        }
        let written = contents.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let failure = written == contents.count && fsync(descriptor) == 0 ? nil : String(cString: strerror(errno))
        close(descriptor)
        defer { unlink(temporary) }
        if let failure { throw RegistryError(.unavailable, "cannot write the secrets key \(path): \(failure)") }
        guard link(temporary, path) == 0 || errno == EEXIST else {
            throw RegistryError(.unavailable, "cannot create the secrets key \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// `plaintext` sealed with AES-GCM: a random nonce, the ciphertext and the tag, together.
    /// `context` (the webhook's id) is authenticated too, so a sealed secret moved to another
    /// row does not open.
    public func seal(_ plaintext: [UInt8], context: String) -> [UInt8] {
        let box = try! AES.GCM.seal(plaintext, using: key, authenticating: Array(context.utf8))
        return Array(box.combined!)
    }

    /// What `seal` sealed.
    /// - Throws: `INTEGRITY` when `sealed` was not sealed by this key for `context` (it was
    ///   changed, or moved from another row).
    public func unseal(_ sealed: [UInt8], context: String) throws(RegistryError) -> [UInt8] {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            return Array(try AES.GCM.open(box, using: key, authenticating: Array(context.utf8)))
        } catch {
            throw RegistryError(.integrity, "the secret of webhook \(context) does not open with secrets key \(id): it was changed, or sealed for another row")
        }
    }

    /// A stored secret, opened.
    /// - Throws: `UNAVAILABLE` when another key sealed it (the server was started with the
    ///   wrong key file); `INTEGRITY` as `unseal(_:context:)`.
    public func unseal(_ sealed: SealedSecret) throws(RegistryError) -> [UInt8] {
        guard sealed.keyId == id else {
            throw RegistryError(
                .unavailable,
                "the secret of webhook \(sealed.context) was sealed with secrets key \(sealed.keyId), but this process has key \(id); start it with that key file (--secrets-key)")
        }
        return try unseal(sealed.bytes, context: sealed.context)
    }
}

/// A webhook secret as stored: sealed by the key `keyId` for the subscription `context`.
public struct SealedSecret: Sendable {
    public let bytes: [UInt8]
    public let keyId: String
    public let context: String
}
