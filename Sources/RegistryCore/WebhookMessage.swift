import Crypto
import Foundation

/// What a delivery sends, as the Standard Webhooks specification defines it
/// (https://www.standardwebhooks.com, contract section 10): a body `{type, timestamp, data}`
/// and the headers `webhook-id`, `webhook-timestamp` and `webhook-signature`, so that any of
/// its libraries verifies mreg's deliveries.
public struct WebhookMessage: Sendable {
    /// `webhook-id`: the same for every attempt at one event, so a receiver can drop repeats.
    public let id: String
    /// The event type (the entry's action; `webhook.test` for a test send).
    public let type: String
    /// The event's seq; nil for a test send.
    public let event: Int?
    public let body: [UInt8]

    /// The event an audit entry is: `type` its action, `timestamp` when it happened, `data` the
    /// entry as the audit log and the event stream write it. Its id is `evt_`, the seq and
    /// the start of the entry's hash: the same for every attempt, and never the id of another
    /// registry's event with that seq (or of this one's, restored from an older copy).
    public init(_ entry: AuditEntry) {
        self.init(entry, json: JSONCoding.bytes(entry))
    }

    /// The same, with the entry already encoded (`JSONCoding.bytes(entry)`): a server that sends
    /// one event to many subscriptions encodes it once.
    public init(_ entry: AuditEntry, json: [UInt8]) {
        id = "evt_\(entry.seq)_\(entry.hash.prefix(16))"
        type = entry.action
        event = entry.seq
        body = Self.body(type: entry.action, at: entry.at, data: json)
    }

    /// A test send (`mreg webhook test`): a message of its own, not an entry of the log.
    public init(testFor webhook: String, at: Timestamp, by actor: String) {
        var random = SystemRandomNumberGenerator()
        id = "msg_test_" + AuditChain.hex((0..<8).map { _ in UInt8.random(in: .min ... .max, using: &random) })
        type = "webhook.test"
        event = nil
        var data: [UInt8] = []
        JSONValue.object(["webhook_id": .string(webhook), "actor": .string(actor), "message": .string("a test delivery from mreg")])
            .appendJSON(to: &data)
        body = Self.body(type: type, at: at, data: data)
    }

    private static func body(type: String, at: Timestamp, data: [UInt8]) -> [UInt8] {
        var out = Array(#"{"type":"#.utf8)
        JSONCoding.appendString(type, to: &out)
        out.append(contentsOf: #","timestamp":""#.utf8)
        at.appendRFC3339(to: &out)
        out.append(contentsOf: #"","data":"#.utf8)
        out.append(contentsOf: data)
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// The headers of one attempt sent at `timestamp` (seconds since the epoch), signed with
    /// `secret` (the key bytes, the base64 after `whsec_`): `v1,` and the base64 of the
    /// HMAC-SHA256 of `id.timestamp.body`.
    public func headers(timestamp: Int64, secret: [UInt8]) -> [(name: String, value: String)] {
        [
            ("webhook-id", id),
            ("webhook-timestamp", String(timestamp)),
            ("webhook-signature", Self.signature(id: id, timestamp: timestamp, body: body, secret: secret)),
            ("content-type", "application/json"),
        ]
    }

    public static func signature(id: String, timestamp: Int64, body: [UInt8], secret: [UInt8]) -> String {
        var signed = Array("\(id).\(timestamp).".utf8)
        signed.append(contentsOf: body)
        let mac = HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: secret))
        return "v1," + Data(mac).base64EncodedString()
    }
}
