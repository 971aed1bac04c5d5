import Foundation
import HTTPTypes
import Testing

@testable import RegistryCore
@testable import RegistryServer

/// `/v1/webhooks` (admin): the subscription routes' statuses, bodies and refusals. Deliveries to
/// a real receiver are tested in mregTests/WebhookTests.
@Suite struct WebhookRouteTests {
    /// A loopback port nothing listens on: every send is refused at once.
    static let deadTarget = "http://127.0.0.1:1/hooks/mreg"

    @Test func aSubscriptionIsAddedShownChangedAndRemoved() async throws {
        try await withTestServer { server in
            let added = try await server.send(
                .post, "/v1/webhooks", json: #"{"url":"\#(Self.deadTarget)","events":"branch.*","model":"fraud","description":"deploys"}"#)
            added.expect(.created)
            let secret = try #require(added["secret"] as? String)
            #expect(secret.hasPrefix("whsec_"))
            let webhook = try #require(added["webhook"] as? [String: Any])
            let id = try #require(webhook["id"] as? String)
            #expect(webhook["events"] as? [String] == ["branch.*"] && webhook["model"] as? String == "fraud")
            #expect(webhook["enabled"] as? Bool == true && webhook["disabled_reason"] is NSNull)
            #expect(try server.newestAudit()?.action == "webhook.add")

            let listed = try await server.send(.get, "/v1/webhooks")
            listed.expect(.ok)
            #expect(listed.items.map { $0["id"] as? String } == [id])
            #expect(!listed.text.contains(secret.dropFirst(6)), "never listed with its secret")
            try await server.send(.get, "/v1/webhooks/\(id)").expect(.ok)

            let disabled = try await server.send(.post, "/v1/webhooks/\(id)/disable", json: #"{"reason":"moving"}"#)
            disabled.expect(.ok)
            #expect(disabled["enabled"] as? Bool == false && disabled["disabled_reason"] as? String == "moving")
            try await server.send(.post, "/v1/webhooks/\(id)/disable").expect(.conflict, code: "CONFLICT", detailMentions: "already disabled")
            try await server.send(.post, "/v1/webhooks/\(id)/enable").expect(.ok)
            try await server.send(.post, "/v1/webhooks/\(id)/enable").expect(.conflict, code: "CONFLICT")

            // A test send and a redelivery are one attempt each, recorded whatever came of it.
            let tested = try await server.send(.post, "/v1/webhooks/\(id)/test")
            tested.expect(.ok)
            #expect(tested["outcome"] as? String == "failed" && tested["status"] is NSNull, "\(tested)")
            #expect(tested["type"] as? String == "webhook.test" && tested["kind"] as? String == "test")
            #expect((tested["message_id"] as? String)?.hasPrefix("msg_test_") == true)
            let redelivered = try await server.send(.post, "/v1/webhooks/\(id)/redeliver", json: #"{"event":1}"#)
            redelivered.expect(.ok)
            #expect(redelivered["event"] as? Int == 1 && redelivered["kind"] as? String == "redelivery")
            #expect((redelivered["message_id"] as? String)?.hasPrefix("evt_1_") == true, "\(redelivered)")
            try await server.send(.post, "/v1/webhooks/\(id)/redeliver", json: #"{"event":999}"#).expect(.notFound, code: "NOT_FOUND")
            let deliveries = try await server.send(.get, "/v1/webhooks/\(id)/deliveries?limit=1")
            deliveries.expect(.ok)
            #expect(deliveries.items.first?["kind"] as? String == "redelivery", "newest first")
            let cursor = try #require(deliveries.nextCursor)
            let older = try await server.send(.get, "/v1/webhooks/\(id)/deliveries?limit=1&cursor=\(cursor)")
            #expect(older.items.first?["kind"] as? String == "test")
            try await server.send(.get, "/v1/webhooks/\(id)/deliveries?limit=0").expect(.badRequest, code: "INVALID_ARGUMENT")

            let removed = try await server.send(.delete, "/v1/webhooks/\(id)")
            removed.expect(.ok)
            #expect(removed["id"] as? String == id)
            try await server.send(.get, "/v1/webhooks/\(id)").expect(.notFound, code: "NOT_FOUND")
            try await server.send(.delete, "/v1/webhooks/\(id)").expect(.notFound, code: "NOT_FOUND")
            try await server.send(.get, "/v1/webhooks/\(id)/deliveries").expect(.notFound, code: "NOT_FOUND")
            try await server.send(.post, "/v1/webhooks/\(id)/test").expect(.notFound, code: "NOT_FOUND")
        }
    }

    @Test func badSubscriptionsAreRefusedAndWriteNothing() async throws {
        try await withTestServer(webhooks: WebhookSettings(secretsKey: .generate(), allowPrivate: false)) { server in
            let before = try server.registry.auditHead()
            for (body, words) in [
                (#"{"url":"ftp://example.com/x"}"#, "http or https"),
                (#"{"url":"http://169.254.169.254/latest/meta-data"}"#, "metadata"),
                (#"{"url":"http://127.0.0.1:8080/"}"#, "--allow-private-webhooks"),
                (#"{"url":"http://u:p@example.com/"}"#, "credentials"),
                (#"{"url":"http://192.0.2.1/","events":"branch.*,"}"#, "types"),
                (#"{"url":"http://192.0.2.1/","colour":"red"}"#, "colour"),
                (#"{"events":"branch.*"}"#, "url"),
            ] {
                try await server.send(.post, "/v1/webhooks", json: body).expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: words)
            }
            #expect(try server.registry.auditHead() == before)
            #expect(try server.registry.webhooks().isEmpty)
        }
    }

    @Test func withoutASecretsKeyWebhooksCannotBeAddedOrSent() async throws {
        try await withTestServer(webhooks: WebhookSettings()) { server in
            try await server.send(.post, "/v1/webhooks", json: #"{"url":"http://192.0.2.1/"}"#, serverError: true)
                .expect(.serviceUnavailable, code: "UNAVAILABLE", detailMentions: "--secrets-key")
            try await server.send(.get, "/v1/webhooks").expect(.ok)
            try await server.send(.post, "/v1/webhooks/wh_000000000000/test", serverError: true).expect(.serviceUnavailable, code: "UNAVAILABLE")
        }
    }
}
