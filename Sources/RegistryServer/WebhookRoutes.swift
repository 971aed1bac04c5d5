import RegistryCore

/// Webhook subscriptions, for admins: what `mreg webhook …` does through a server (contract
/// section 10, docs/EVENTS.md).
struct WebhookRoutes {
    let registry: Registry
    let settings: WebhookSettings
    /// Nil when the server has no secrets key: nothing can be signed.
    let sends: WebhookSends?
    /// Tells the delivering side that a subscription changed.
    let changed: @Sendable () -> Void

    var routes: [Route] {
        [
            Route(.get, "/v1/webhooks", role: .admin) { _ in
                .json(Page(items: try registry.webhooks(), nextCursor: nil))
            },
            // Not idempotent: a replay would have to keep the secret, which is shown only once.
            Route(.post, "/v1/webhooks", role: .admin) { request in
                let body = try request.decode(WebhookRequest.self, allowedKeys: ["url", "events", "model", "description"])
                let issued = try await registry.addWebhook(body, allowPrivate: settings.allowPrivate, by: try request.caller, key: key)
                changed()
                return .json(issued, status: .created)
            },
            Route(.get, "/v1/webhooks/{id}", role: .admin) { request in
                .json(try registry.webhook(id: try request.parameter("id")))
            },
            Route(.delete, "/v1/webhooks/{id}", role: .admin) { request in
                let removed = try await registry.removeWebhook(id: try request.parameter("id"), by: try request.caller)
                changed()
                return .json(removed)
            },
            Route(.post, "/v1/webhooks/{id}/enable", role: .admin) { request in
                let enabled = try await registry.enableWebhook(id: try request.parameter("id"), by: try request.caller)
                changed()
                return .json(enabled)
            },
            Route(.post, "/v1/webhooks/{id}/disable", role: .admin) { request in
                let body = request.body.isEmpty ? nil : try request.decode(DisableWebhookRequest.self, allowedKeys: ["reason"])
                let disabled = try await registry.disableWebhook(id: try request.parameter("id"), reason: body?.reason, by: try request.caller)
                changed()
                return .json(disabled)
            },
            Route(.get, "/v1/webhooks/{id}/deliveries", role: .admin) { request in
                .json(
                    try registry.webhookDeliveries(
                        id: try request.parameter("id"), limit: try request.intQuery("limit", default: 50), cursor: request.query("cursor")))
            },
            Route(.post, "/v1/webhooks/{id}/test", role: .admin) { request in
                .json(try await sending().test(try request.parameter("id"), by: try request.caller))
            },
            Route(.post, "/v1/webhooks/{id}/redeliver", role: .admin) { request in
                let body = try request.decode(RedeliverRequest.self, allowedKeys: ["event"])
                return .json(try await sending().redeliver(try request.parameter("id"), event: body.event))
            },
        ]
    }

    private func key() throws(RegistryError) -> SecretsKey {
        guard let key = settings.secretsKey else { throw Self.noKey }
        return key
    }

    private func sending() throws(RegistryError) -> WebhookSends {
        guard let sends else { throw Self.noKey }
        return sends
    }

    static let noKey = RegistryError(.unavailable, "this server has no secrets key to sign webhooks with; start it with mreg serve --secrets-key FILE")
}
