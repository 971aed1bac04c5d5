import RegistryCore

/// The sends an admin asks for: a test message, or one event again. Each is one attempt, sent
/// now and recorded in the subscription's delivery log; it does not move its cursor.
public final class WebhookSends: Sendable {
    private let registry: Registry
    private let key: SecretsKey
    private let sender: WebhookSender

    init(registry: Registry, key: SecretsKey, sender: WebhookSender) {
        self.registry = registry
        self.key = key
        self.sender = sender
    }

    /// Sends from a process of its own (the CLI on a file) with `settings`; `shutdown()` after.
    public convenience init(registry: Registry, key: SecretsKey, settings: WebhookSettings) {
        self.init(registry: registry, key: key, sender: WebhookSender(settings: settings))
    }

    public func shutdown() async { await sender.shutdown() }

    /// Sends a `webhook.test` message to the subscription once, and records the attempt.
    /// - Throws: `NOT_FOUND`.
    public func test(_ id: String, by caller: Caller) async throws(RegistryError) -> WebhookDelivery {
        let webhook = try registry.webhook(id: id)
        return try await sendOnce(WebhookMessage(testFor: id, at: registry.clock(), by: caller.name), to: webhook, kind: .test)
    }

    /// Sends event `seq` to the subscription once more, out of order and whether or not it
    /// passes the filters (an admin asked for it), and records the attempt. A subscription
    /// that is disabled is sent to as well: this is how one checks that a receiver is back.
    /// - Throws: `NOT_FOUND` for an unknown subscription or event.
    public func redeliver(_ id: String, event seq: Int) async throws(RegistryError) -> WebhookDelivery {
        let webhook = try registry.webhook(id: id)
        return try await sendOnce(WebhookMessage(try registry.event(seq: seq)), to: webhook, kind: .redelivery)
    }

    private func sendOnce(_ message: WebhookMessage, to webhook: Webhook, kind: WebhookDelivery.Kind) async throws(RegistryError)
        -> WebhookDelivery
    {
        let secret = try registry.webhookSecret(id: webhook.id, key: key)
        let at = registry.clock()
        let answer = await sender.send(message, to: webhook.url, secret: secret)
        var attempt = answer.record(of: message, to: webhook.id, attempt: 1, at: at, kind: kind)
        guard let ids = try await registry.recordDeliveries(webhook: webhook.id, [attempt], deliveredThrough: nil, failingSince: nil),
            let id = ids.first
        else { throw RegistryError(.notFound, "there is no webhook \(webhook.id)") }
        attempt.id = id
        return attempt
    }
}
