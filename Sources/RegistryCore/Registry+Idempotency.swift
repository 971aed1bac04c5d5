import SQLite

/// A request that carries an `Idempotency-Key`: who sent it, the key, and what the key was
/// used for.
public struct IdempotencyKey: Sendable {
    public let key: String
    public let actor: String
    public let method: String
    public let path: String
    /// SHA-256 hex of what identifies the request (method, target, content type, body), to
    /// tell a repeat from another request with the same key.
    public let requestHash: String

    /// - Throws: `INVALID_ARGUMENT` for a key that is empty or longer than 255 bytes.
    public init(_ key: String, actor: String, method: String, path: String, requestHash: String) throws(RegistryError) {
        guard (1...255).contains(key.utf8.count) else { throw RegistryError(.invalidArgument, "Idempotency-Key must be 1 to 255 characters") }
        (self.key, self.actor, self.method, self.path, self.requestHash) = (key, actor, method, path, requestHash)
    }
}

/// How a change applied with an idempotency key ended.
public enum KeyedOutcome<Value: Sendable>: Sendable {
    /// First use of the key: the change was made.
    case made(Value)
    /// First use of the key: the change was refused, and the refusal is what repeats will get.
    case refused(RegistryError)
    /// The key was used for this request before: the answer stored then, as it was given.
    case replayed([UInt8])
}

extension Registry {
    /// Makes `change` at most once per key: the first request with `key` runs it and stores
    /// `storing`'s answer to its outcome — a refusal too — in the same transaction; a repeat of
    /// the request gets that answer back and writes nothing; the same key with another request
    /// is refused. Two copies of a request that arrive together are serialized by the write
    /// lock, so the second finds the first's answer.
    ///
    /// An error other than a ``RegistryError`` (the database failing) rolls back everything,
    /// the key's record included, so a retry runs the change again.
    /// - Parameter storing: the answer to keep for repeats; the registry never reads it.
    /// - Throws: `CONFLICT` when the key was used for a different request.
    public func apply<Value>(
        _ change: Change<Value>, once key: IdempotencyKey, storing answer: @escaping @Sendable (Result<Value, RegistryError>) -> [UInt8]
    ) async throws(RegistryError) -> KeyedOutcome<Value> {
        let now = clock().millisecondsSinceEpoch
        return try await write { connection in
            if let row = try connection.queryFirst(
                "SELECT request_hash, answer FROM idempotency_keys WHERE actor = ? AND key = ?", [key.actor, key.key])
            {
                guard try row.string(0) == key.requestHash else {
                    throw RegistryError(.conflict, "Idempotency-Key \"\(key.key)\" was already used for a different request")
                }
                // A row without an answer is a claim that a server before this one made in a
                // transaction of its own and never completed: the request runs again.
                if row[1] != .null { return .replayed(try row.blob(1)) }
            }
            let outcome: Result<Value, RegistryError>
            do {
                outcome = .success(try connection.savepoint(change.body))
            } catch let refusal as RegistryError {
                outcome = .failure(refusal)
            }
            try connection.execute(
                """
                INSERT INTO idempotency_keys (actor, key, method, path, request_hash, answer, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (actor, key) DO UPDATE SET answer = excluded.answer, created_at = excluded.created_at
                """, [key.actor, key.key, key.method, key.path, key.requestHash, answer(outcome), now])
            switch outcome {
            case .success(let value): return .made(value)
            case .failure(let refusal): return .refused(refusal)
            }
        }
    }
}
