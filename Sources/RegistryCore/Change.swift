import SQLite

/// A change to the registry, checked and ready: what an operation such as
/// ``Registry/registering(model:_:by:)`` builds, and ``Registry/apply(_:)`` makes in one write
/// transaction, together with its audit entry. The server applies a change that carries an
/// `Idempotency-Key` with ``Registry/apply(_:once:storing:)`` instead, so that the key's record
/// and its answer are written in that same transaction.
public struct Change<Value: Sendable>: Sendable {
    /// The change's statements, run inside a write transaction.
    let body: @Sendable (Connection) throws -> Value

    init(_ body: @escaping @Sendable (Connection) throws -> Value) {
        self.body = body
    }
}

extension Registry {
    /// Makes `change` in a write transaction of its own; returns once it is committed.
    public func apply<Value>(_ change: Change<Value>) async throws(RegistryError) -> Value {
        try await write(change.body)
    }
}
