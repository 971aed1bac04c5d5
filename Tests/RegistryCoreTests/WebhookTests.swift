import Foundation
import MregTestSupport
import Testing

@testable import RegistryCore

/// The parts of webhooks that need no network: signatures, sealed secrets, targets, and the
/// subscription rows (docs/EVENTS.md, section 5). The deliveries themselves are tested against a
/// real server and receiver in mregTests/WebhookTests.
@Suite struct WebhookCoreTests {
    /// The Standard Webhooks example (its specification and every library's tests use it).
    @Test func theSignatureIsTheSpecificationsExample() throws {
        let key = try #require(Data(base64Encoded: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let signature = WebhookMessage.signature(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Array(#"{"test": 2432232314}"#.utf8), secret: Array(key))
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test func aMessageIsTheEntryWithItsTypeAndTime() throws {
        let entry = AuditEntry(
            seq: 42, at: Timestamp(millisecondsSinceEpoch: 1_796_663_310_492), actor: "bob", action: "branch.promote", model: "fraud",
            version: 3, branch: "master", details: #"{"kind":"promote"}"#, prevHash: String(repeating: "0", count: 64),
            hash: String(repeating: "1", count: 64), form: 2)
        let message = WebhookMessage(entry)
        #expect(message.id == "evt_42_1111111111111111" && message.type == "branch.promote" && message.event == 42)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(message.body)) as? [String: Any])
        #expect(body["type"] as? String == "branch.promote")
        #expect(body["timestamp"] as? String == "2026-12-07T17:08:30.492Z")
        #expect((body["data"] as? [String: Any])?["seq"] as? Int == 42)
        let pairs = message.headers(timestamp: 1_796_663_311, secret: [1, 2, 3]).map { ($0.name, $0.value) }
        let headers = [String: String](uniqueKeysWithValues: pairs)
        #expect(headers["webhook-id"] == "evt_42_1111111111111111" && headers["webhook-timestamp"] == "1796663311")
        #expect(headers["webhook-signature"] == WebhookMessage.signature(id: "evt_42_1111111111111111", timestamp: 1_796_663_311, body: message.body, secret: [1, 2, 3]))
    }

    @Test func aSealedSecretOpensOnlyWithItsKeyAndForItsRow() throws {
        let key = SecretsKey.generate(), other = SecretsKey.generate()
        let sealed = key.seal([1, 2, 3], context: "wh_a")
        #expect(sealed.count == 12 + 3 + 16, "nonce, ciphertext, tag")
        #expect(try key.unseal(sealed, context: "wh_a") == [1, 2, 3])
        #expect(key.seal([1, 2, 3], context: "wh_a") != sealed, "a fresh nonce each time")
        #expect(throws: RegistryError.self) { try key.unseal(sealed, context: "wh_b") }
        #expect(throws: RegistryError.self) { try other.unseal(sealed, context: "wh_a") }
        var flipped = sealed
        flipped[14] ^= 1
        #expect(throws: RegistryError.self) { try key.unseal(flipped, context: "wh_a") }
        #expect(key.id.count == 16 && key.id != other.id)
    }

    @Test func theKeyFileIsMadeOnceOwnerOnlyAndReadBack() throws {
        try withTemporaryDirectory { directory in
            let path = directory.file("mreg.db.secrets-key")
            #expect(throws: RegistryError.self) { try SecretsKey.load(from: path, createIfMissing: false) }
            #expect(!FileManager.default.fileExists(atPath: path), "a missing key is not made unless asked")
            let made = try SecretsKey.load(from: path, createIfMissing: true)
            let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            #expect(try SecretsKey.load(from: path, createIfMissing: true).id == made.id, "the second start reads the first's key")
            try Data("not a key\n".utf8).write(to: URL(fileURLWithPath: path))
            let error = #expect(throws: RegistryError.self) { try SecretsKey.load(from: path, createIfMissing: true) }
            #expect(error?.message.contains("does not hold a secrets key") == true)
        }
    }

    @Test(arguments: [
        ("169.254.169.254", false, true), ("169.254.169.254", true, true), ("100.100.100.200", true, true), ("0.0.0.0", true, true),
        ("224.0.0.1", true, true), ("127.0.0.1", false, true), ("127.0.0.1", true, false), ("10.1.2.3", false, true),
        ("172.16.0.1", false, true), ("172.32.0.1", false, false), ("192.168.1.1", false, true), ("100.64.0.1", false, true),
        ("8.8.8.8", false, false), ("168.63.129.16", true, true), ("::1", false, true), ("::1", true, false), ("fe80::1", true, true), ("fd00:ec2::254", true, true),
        ("fc00::1", false, true), ("::ffff:169.254.169.254", true, true), ("::ffff:8.8.8.8", false, false), ("2001:db8::1", false, false),
        ("64:ff9b::a9fe:a9fe", true, true), ("::127.0.0.1", false, true), ("2002:a9fe:a9fe::1", true, true), ("fec0::1", false, true),
        ("64:ff9b::808:808", false, false),
    ])
    func targetsAreJudgedByAddress(address: String, allowPrivate: Bool, refused: Bool) throws {
        let bytes = try #require(WebhookTarget.addresses(of: address).first, "\(address) parses")
        #expect((WebhookTarget.refusal(bytes, allowPrivate: allowPrivate) != nil) == refused, "\(address), allowPrivate \(allowPrivate)")
    }

    @Test func subscriptionsAreAuditedWithoutTheirSecret() async throws {
        try await withTemporaryRegistry { registry in
            let key = SecretsKey.generate()
            await expectError(.permissionDenied) {
                try await registry.addWebhook(WebhookRequest(url: "https://example.com/h"), allowPrivate: false, by: .bob) { key }
            }
            await expectError(.invalidArgument) {
                try await registry.addWebhook(WebhookRequest(url: "http://127.0.0.1/h"), allowPrivate: false, by: .alice) { key }
            }
            let issued = try await registry.addWebhook(
                WebhookRequest(url: "http://127.0.0.1/h", events: "branch.*,rollout.abort", model: "fraud"), allowPrivate: true,
                by: .alice) { key }
            #expect(issued.webhook.events == ["branch.*", "rollout.abort"] && issued.webhook.model == "fraud" && issued.webhook.enabled)
            let entries = try registry.allAuditEntries()
            #expect(issued.webhook.deliveredSeq == entries.last?.seq, "deliveries start after its own entry")
            let secret = try #require(Data(base64Encoded: String(issued.secret.dropFirst(6))))
            #expect(try registry.webhookSecret(id: issued.webhook.id, key: key) == Array(secret))
            await expectError(.unavailable) { try registry.webhookSecret(id: issued.webhook.id, key: SecretsKey.generate()) }
            #expect(!JSONCoding.text(entries.last!).contains(String(issued.secret.dropFirst(6))))
            #expect(entries.last?.details.contains(#""target":"http://127.0.0.1""#) == true, "the target without its path: \(entries.last!.details)")

            let disabled = try await registry.disableWebhook(id: issued.webhook.id, reason: nil, by: .alice)
            #expect(!disabled.enabled && disabled.disabledReason == "disabled by alice")
            await expectError(.conflict) { try await registry.disableWebhook(id: issued.webhook.id, reason: nil, by: .alice) }
            _ = try await registry.enableWebhook(id: issued.webhook.id, by: .alice)
            _ = try await registry.removeWebhook(id: issued.webhook.id, by: .alice)
            await expectError(.notFound) { try registry.webhook(id: issued.webhook.id) }
            #expect(try registry.allAuditEntries().suffix(4).map(\.action) == ["webhook.add", "webhook.disable", "webhook.enable", "webhook.remove"])
            // Recording for a subscription removed meanwhile writes nothing.
            #expect(try await registry.recordDeliveries(webhook: issued.webhook.id, [], deliveredThrough: 9, failingSince: nil) == nil)
        }
    }
}
