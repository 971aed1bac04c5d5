import Foundation

/// A webhook subscription as listed (never its secret): where the server sends the events that
/// pass its filters, and how far it has got (contract section 10, docs/EVENTS.md).
public struct Webhook: Sendable, Codable, Hashable, JSONWritable {
    public let id: String
    public let url: String
    /// Event type patterns (`branch.*`); empty for every type.
    public let events: [String]
    public let model: String?
    public let description: String
    public let enabled: Bool
    /// Why it is disabled: by whom, or after failing for how long.
    public let disabledReason: String?
    /// Every event up to this seq has been delivered (or did not pass the filters).
    public let deliveredSeq: Int
    /// When the current run of failed attempts began; nil while deliveries succeed.
    public let failingSince: Timestamp?
    public let createdBy: String
    public let createdAt: Timestamp
    public let updatedAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case id, url, events, model, description, enabled
        case disabledReason = "disabled_reason"
        case deliveredSeq = "delivered_seq"
        case failingSince = "failing_since"
        case createdBy = "created_by"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    /// The events it wants.
    /// - Throws: `INVALID_ARGUMENT` when the stored filters are not valid (they were edited
    ///   behind mreg's back): such a subscription is sent nothing rather than everything.
    public func filter() throws(RegistryError) -> EventFilter {
        try EventFilter(model: model, types: events.isEmpty ? nil : events.joined(separator: ","))
    }
}

/// A new subscription: the only time its signing secret is shown.
public struct IssuedWebhook: Sendable, Codable, Hashable, JSONWritable {
    public let webhook: Webhook
    /// `whsec_` and the base64 of the key that signs every delivery (Standard Webhooks).
    public let secret: String
}

/// The body of `POST /v1/webhooks`.
public struct WebhookRequest: Sendable, Codable, Hashable, JSONWritable {
    public let url: String
    /// Event type patterns separated by commas (`branch.*,rollout.abort`); nil or empty for all.
    public let events: String?
    public let model: String?
    public let description: String?

    public init(url: String, events: String? = nil, model: String? = nil, description: String? = nil) {
        self.url = url
        self.events = events
        self.model = model
        self.description = description
    }
}

/// One attempt to deliver an event to a subscription (or a test send), as
/// `mreg webhook deliveries` lists them.
public struct WebhookDelivery: Sendable, Codable, Hashable, JSONWritable {
    public enum Kind: String, Sendable, Codable, Hashable {
        /// In order from the log.
        case delivery
        /// Sent again at an admin's request (`mreg webhook redeliver`).
        case redelivery
        /// `mreg webhook test`.
        case test
    }

    public enum Outcome: String, Sendable, Codable, Hashable {
        case delivered, failed
    }

    /// Its row in the delivery log; 0 until written.
    public var id: Int
    public let webhookId: String
    /// The event's seq; nil for a test send.
    public let event: Int?
    public let type: String
    /// The `webhook-id` header, the same for every attempt at one event.
    public let messageId: String
    public let attempt: Int
    public let at: Timestamp
    /// The receiver's HTTP status; nil when no answer came.
    public let status: Int?
    public let latencyMs: Double
    public let outcome: Outcome
    public let error: String?
    public let kind: Kind

    enum CodingKeys: String, CodingKey {
        case id, event, type, attempt, at, status, outcome, error, kind
        case webhookId = "webhook_id"
        case messageId = "message_id"
        case latencyMs = "latency_ms"
    }

    public init(
        id: Int, webhookId: String, event: Int?, type: String, messageId: String, attempt: Int, at: Timestamp, status: Int?,
        latencyMs: Double, outcome: Outcome, error: String?, kind: Kind
    ) {
        self.id = id
        self.webhookId = webhookId
        self.event = event
        self.type = type
        self.messageId = messageId
        self.attempt = attempt
        self.at = at
        self.status = status
        self.latencyMs = latencyMs
        self.outcome = outcome
        self.error = error
        self.kind = kind
    }
}

/// The body of `POST /v1/webhooks/{id}/redeliver`.
public struct RedeliverRequest: Sendable, Codable, Hashable, JSONWritable {
    public let event: Int

    public init(event: Int) { self.event = event }
}

/// The body of `POST /v1/webhooks/{id}/disable`.
public struct DisableWebhookRequest: Sendable, Codable, Hashable, JSONWritable {
    public let reason: String?

    public init(reason: String?) { self.reason = reason }
}
