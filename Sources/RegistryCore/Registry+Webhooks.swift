import Foundation
import SQLite

extension Registry {
    /// Webhook secrets start with this (Standard Webhooks); the rest is the base64 of the key.
    public static let webhookSecretPrefix = "whsec_"

    /// Subscribes `request.url` to the events that pass its filters, from the next event on.
    /// The secret is made here, sealed with the key `key` gives, and shown only in the answer.
    /// - Parameters:
    ///   - allowPrivate: whether the target may be a loopback or private address (the server's
    ///     `--allow-private-webhooks`); link-local and metadata addresses never may.
    ///   - key: the secrets key, asked for only once the request is valid (on a file, making
    ///     one is a side effect a refused request must not have).
    /// - Throws: `PERMISSION_DENIED` below admin, `INVALID_ARGUMENT` for a bad URL, filter or
    ///   description; what `key` throws.
    public func addWebhook(
        _ request: WebhookRequest, allowPrivate: Bool, by caller: Caller, key: () throws(RegistryError) -> SecretsKey
    ) async throws(RegistryError) -> IssuedWebhook {
        try caller.require(.admin, to: "manage webhooks")
        // An empty `events` is every event, as leaving it out is.
        let filter = try EventFilter(model: request.model, types: request.events?.isEmpty == true ? nil : request.events)
        let description = request.description ?? ""
        guard description.utf8.count <= 1000 else { throw RegistryError(.invalidArgument, "a webhook description must be at most 1000 bytes") }
        // Last, as it may ask the resolver.
        try await WebhookTarget.check(request.url, allowPrivate: allowPrivate)
        let key = try key()
        var random = SystemRandomNumberGenerator()
        let id = "wh_" + AuditChain.hex((0..<6).map { _ in UInt8.random(in: .min ... .max, using: &random) })
        let secret = (0..<24).map { _ in UInt8.random(in: .min ... .max, using: &random) }
        let sealed = key.seal(secret, context: id)
        let now = clock()
        let events = filter.types.joined(separator: ",")
        try await write { connection in
            // Deliveries start after this change's own entry, the next seq of the log.
            let head = 1 + (try connection.queryFirst("SELECT coalesce(max(seq), 0) FROM audit_log")?.int(0) ?? 0)
            try connection.execute(
                """
                INSERT INTO webhooks (id, url, events, model, description, secret_sealed, secret_key_id, enabled, delivered_seq,
                                      created_by, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)
                """,
                [id, request.url, events, filter.model, description, sealed, key.id, head, caller.name, now.millisecondsSinceEpoch,
                 now.millisecondsSinceEpoch])
            try connection.appendAudit(
                at: now, actor: caller.name, action: "webhook.add", model: nil, version: nil, branch: nil,
                // The target without its path and query, which may carry a token of the receiver's
                // (chat webhooks do): every reader of the log sees its entries.
                details: [
                    "webhook_id": .string(id), "target": .string(WebhookTarget.origin(request.url)), "events": .string(events),
                    "model": filter.model.map(JSONValue.string) ?? .null, "description": .string(description),
                ])
        }
        return IssuedWebhook(webhook: try webhook(id: id), secret: Self.webhookSecretPrefix + Data(secret).base64EncodedString())
    }

    /// Every subscription, oldest first.
    public func webhooks() throws(RegistryError) -> [Webhook] {
        try read { connection in
            try connection.query("SELECT \(Self.webhookColumns) FROM webhooks ORDER BY created_at, id").map(Self.webhook)
        }
    }

    /// One subscription.
    /// - Throws: `NOT_FOUND`.
    public func webhook(id: String) throws(RegistryError) -> Webhook {
        let found = try read { connection in
            try connection.queryFirst("SELECT \(Self.webhookColumns) FROM webhooks WHERE id = ?", [id]).map(Self.webhook)
        }
        guard let found else { throw RegistryError(.notFound, "there is no webhook \(id)") }
        return found
    }

    /// Turns deliveries on again, from where they stopped: the events since are delivered too.
    /// - Throws: `NOT_FOUND`, `CONFLICT` when it is enabled already.
    public func enableWebhook(id: String, by caller: Caller) async throws(RegistryError) -> Webhook {
        try caller.require(.admin, to: "manage webhooks")
        let now = clock()
        try await write { connection in
            guard try Self.isEnabled(id, on: connection) == false else { throw RegistryError(.conflict, "webhook \(id) is already enabled") }
            try connection.execute(
                "UPDATE webhooks SET enabled = 1, disabled_reason = NULL, failing_since = NULL, updated_at = ? WHERE id = ?",
                [now.millisecondsSinceEpoch, id])
            try connection.appendAudit(
                at: now, actor: caller.name, action: "webhook.enable", model: nil, version: nil, branch: nil,
                details: ["webhook_id": .string(id)])
        }
        return try webhook(id: id)
    }

    /// Stops deliveries until it is enabled again; events go on being kept in the log.
    /// - Parameter reason: why; the server gives one when a subscription has failed too long
    ///   (its caller is `system`).
    /// - Throws: `NOT_FOUND`, `CONFLICT` when it is disabled already.
    public func disableWebhook(id: String, reason: String?, by caller: Caller) async throws(RegistryError) -> Webhook {
        try caller.require(.admin, to: "manage webhooks")
        let reason = reason ?? "disabled by \(caller.name)"
        guard reason.utf8.count <= 1000 else { throw RegistryError(.invalidArgument, "a reason must be at most 1000 bytes") }
        let now = clock()
        try await write { connection in
            guard try Self.isEnabled(id, on: connection) == true else { throw RegistryError(.conflict, "webhook \(id) is already disabled") }
            try connection.execute(
                "UPDATE webhooks SET enabled = 0, disabled_reason = ?, updated_at = ? WHERE id = ?", [reason, now.millisecondsSinceEpoch, id])
            try connection.appendAudit(
                at: now, actor: caller.name, action: "webhook.disable", model: nil, version: nil, branch: nil,
                details: ["webhook_id": .string(id), "reason": .string(reason)])
        }
        return try webhook(id: id)
    }

    /// Removes the subscription and its delivery log.
    /// - Throws: `NOT_FOUND`.
    public func removeWebhook(id: String, by caller: Caller) async throws(RegistryError) -> Webhook {
        try caller.require(.admin, to: "manage webhooks")
        let removed = try webhook(id: id)
        let now = clock()
        try await write { connection in
            guard try Self.isEnabled(id, on: connection) != nil else { throw RegistryError(.notFound, "there is no webhook \(id)") }
            try connection.execute("DELETE FROM webhooks WHERE id = ?", [id])
            try connection.appendAudit(
                at: now, actor: caller.name, action: "webhook.remove", model: nil, version: nil, branch: nil,
                details: ["webhook_id": .string(id)])
        }
        return removed
    }

    /// The subscription's signing key as stored: sealed, with the id of the key that sealed it.
    /// - Throws: `NOT_FOUND`.
    public func sealedWebhookSecret(id: String) throws(RegistryError) -> SealedSecret {
        let row = try read { connection in
            try connection.queryFirst("SELECT secret_sealed, secret_key_id FROM webhooks WHERE id = ?", [id]).map {
                SealedSecret(bytes: try $0.blob(0), keyId: try $0.string(1), context: id)
            }
        }
        guard let row else { throw RegistryError(.notFound, "there is no webhook \(id)") }
        return row
    }

    /// The subscription's signing key, opened with `key`.
    /// - Throws: `NOT_FOUND`; `UNAVAILABLE` when `key` is not the key it was sealed with;
    ///   `INTEGRITY` when the sealed bytes were changed.
    public func webhookSecret(id: String, key: SecretsKey) throws(RegistryError) -> [UInt8] {
        try key.unseal(try sealedWebhookSecret(id: id))
    }

    /// Records attempts at delivering to `id` and how far its deliveries have got, in one
    /// transaction. This is the delivery log, not a change to the registry: it has no audit
    /// entry (one would be an event, whose delivery would make another).
    /// - Parameters:
    ///   - deliveredThrough: the new cursor, when it moved; it only ever moves forward.
    ///   - failing: whether the subscription is failing now, and since when; nil leaves it.
    /// - Returns: the attempts' ids in the delivery log; nil when the subscription is gone
    ///   (removed meanwhile), and nothing was written.
    @discardableResult
    public func recordDeliveries(
        webhook id: String, _ attempts: [WebhookDelivery], deliveredThrough: Int?, failingSince: Timestamp??
    ) async throws(RegistryError) -> [Int]? {
        try await write { connection in
            guard try Self.isEnabled(id, on: connection) != nil else { return nil }
            var ids: [Int] = []
            for attempt in attempts {
                try connection.execute(
                    """
                    INSERT INTO webhook_deliveries (webhook_id, seq, type, message_id, attempt, at, status, latency_ms, outcome, error, kind)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [id, attempt.event, attempt.type, attempt.messageId, attempt.attempt, attempt.at.millisecondsSinceEpoch,
                     attempt.status, attempt.latencyMs, attempt.outcome.rawValue, attempt.error, attempt.kind.rawValue])
                ids.append(Int(connection.lastInsertRowID))
            }
            if let deliveredThrough {
                try connection.execute(
                    "UPDATE webhooks SET delivered_seq = max(delivered_seq, ?) WHERE id = ?", [deliveredThrough, id])
            }
            if let failingSince {
                try connection.execute(
                    "UPDATE webhooks SET failing_since = ? WHERE id = ?", [failingSince?.millisecondsSinceEpoch, id])
            }
            return ids
        }
    }

    /// The attempts at delivering to `id`, newest first.
    /// - Throws: `NOT_FOUND`, `INVALID_ARGUMENT` for a bad limit or cursor.
    public func webhookDeliveries(id: String, limit: Int = 50, cursor: String? = nil) throws(RegistryError) -> Page<WebhookDelivery> {
        try validate(limit: limit)
        let before = try cursor.map { (c: String) throws(RegistryError) in try Cursor.decodeInteger(c) } ?? Int64.max
        _ = try webhook(id: id)
        var items = try read { connection in
            try connection.query(
                """
                SELECT id, webhook_id, seq, type, message_id, attempt, at, status, latency_ms, outcome, error, kind
                FROM webhook_deliveries WHERE webhook_id = ? AND id < ? ORDER BY id DESC LIMIT ?
                """, [id, before, limit + 1]
            ).map { row in
                WebhookDelivery(
                    id: try row.int(0), webhookId: try row.string(1), event: try row.optionalInt(2), type: try row.string(3),
                    messageId: try row.string(4), attempt: try row.int(5), at: Timestamp(millisecondsSinceEpoch: try row.int64(6)),
                    status: try row.optionalInt(7), latencyMs: try row.double(8), outcome: try row.value(9, as: WebhookDelivery.Outcome.self),
                    error: try row.optionalString(10), kind: try row.value(11, as: WebhookDelivery.Kind.self))
            }
        }
        let more = items.count > limit
        if more { items.removeLast() }
        return Page(items: items, nextCursor: more ? items.last.map { Cursor.encode(Int64($0.id)) } : nil)
    }

    /// One entry of the log, as the event a redelivery sends.
    /// - Throws: `NOT_FOUND` when the log has no such seq.
    public func event(seq: Int) throws(RegistryError) -> AuditEntry {
        guard seq >= 1, let entry = try auditEntries(after: seq - 1, through: seq).first else {
            throw RegistryError(.notFound, "there is no event \(seq)")
        }
        return entry
    }

    // MARK: Rows

    static let webhookColumns =
        "id, url, events, model, description, enabled, disabled_reason, delivered_seq, failing_since, created_by, created_at, updated_at"

    private static func webhook(_ row: Row) throws -> Webhook {
        let events = try row.string(2)
        return Webhook(
            id: try row.string(0), url: try row.string(1),
            events: events.isEmpty ? [] : events.split(separator: ",").map(String.init), model: try row.optionalString(3),
            description: try row.string(4), enabled: try row.int(5) == 1, disabledReason: try row.optionalString(6),
            deliveredSeq: try row.int(7), failingSince: try row.optionalInt(8).map { Timestamp(millisecondsSinceEpoch: Int64($0)) },
            createdBy: try row.string(9), createdAt: Timestamp(millisecondsSinceEpoch: try row.int64(10)),
            updatedAt: Timestamp(millisecondsSinceEpoch: try row.int64(11)))
    }

    /// Whether the subscription is enabled; nil when there is none.
    private static func isEnabled(_ id: String, on connection: Connection) throws -> Bool? {
        try connection.queryFirst("SELECT enabled FROM webhooks WHERE id = ?", [id]).map { try $0.int(0) == 1 }
    }
}
