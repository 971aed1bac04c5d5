import SQLite

/// What to do with a request that carries an `Idempotency-Key`.
public enum IdempotencyClaim: Sendable, Equatable {
    /// First use of the key: run the request, then `completeIdempotentRequest`.
    case claimed
    /// The key was used for the same request before: answer with what was stored for it.
    case replay(answer: [UInt8])
    /// The key was used for a different request.
    case conflict(String)
    /// The first request with the key is still running: the same request may be asked again
    /// shortly and will then get its answer.
    case inProgress(String)
}

extension Registry {
    /// How long a claimed key whose request never completed (a crash) blocks a retry.
    static let abandonedClaimMilliseconds: Int64 = 60_000

    /// Claims an idempotency key for a request, or finds the stored response of its first use.
    /// - Parameters:
    ///   - requestHash: SHA-256 hex of method, path and body, to tell a replay from a reuse.
    public func claimIdempotencyKey(
        _ key: String, actor: String, method: String, path: String, requestHash: String
    ) async throws(RegistryError) -> IdempotencyClaim {
        guard (1...255).contains(key.utf8.count) else { throw RegistryError(.invalidArgument, "Idempotency-Key must be 1 to 255 characters") }
        let now = clock().millisecondsSinceEpoch
        return try await write { connection in
            if let row = try connection.queryFirst(
                "SELECT request_hash, answer, created_at FROM idempotency_keys WHERE actor = ? AND key = ?",
                [actor, key])
            {
                guard try row.string(0) == requestHash else {
                    return .conflict("Idempotency-Key \"\(key)\" was already used for a different request")
                }
                if row[1] != .null { return .replay(answer: try row.blob(1)) }
                guard now - Int64(try row.int(2)) > Self.abandonedClaimMilliseconds else {
                    return .inProgress("the first request with Idempotency-Key \"\(key)\" is still being processed; retry shortly")
                }
                try connection.execute(
                    "UPDATE idempotency_keys SET created_at = ? WHERE actor = ? AND key = ?", [now, actor, key])
                return .claimed
            }
            try connection.execute(
                """
                INSERT INTO idempotency_keys (actor, key, method, path, request_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)
                """, [actor, key, method, path, requestHash, now])
            return .claimed
        }
    }

    /// Stores the answer to a claimed key's first request, as the caller will want it back: the
    /// registry keeps it as it is and never reads it.
    public func completeIdempotencyKey(_ key: String, actor: String, answer: [UInt8]) async throws(RegistryError) {
        try await write { connection in
            try connection.execute("UPDATE idempotency_keys SET answer = ? WHERE actor = ? AND key = ?", [answer, actor, key])
        }
    }

    /// Forgets a claim whose request failed in a way worth retrying (a server error).
    public func releaseIdempotencyKey(_ key: String, actor: String) async throws(RegistryError) {
        try await write { connection in
            try connection.execute("DELETE FROM idempotency_keys WHERE actor = ? AND key = ? AND answer IS NULL", [actor, key])
        }
    }
}

