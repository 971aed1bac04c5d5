import Foundation
import Hummingbird
import HummingbirdTesting
import RegistryCore
import SQLite
import Testing

@testable import RegistryServer

/// The audit log over HTTP.
@Suite struct AuditRouteTests {
    @Test func anAuditorReadsTheLogNewestFirst() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let log = try await server.send(.get, "/v1/audit", as: .auditor)
            log.expect(.ok)
            let seqs = log.items.compactMap { $0["seq"] as? Int }
            #expect(seqs == seqs.sorted(by: >))
            #expect(seqs.count == (try server.auditCount()))
            #expect(log.items.first?["action"] as? String == "version.register")
            #expect(log.items.allSatisfy { ($0["hash"] as? String)?.count == 64 && ($0["prev_hash"] as? String)?.count == 64 })
        }
    }

    @Test func theLogFiltersByModelActorActionAndTime() async throws {
        try await withTestServer { server in
            try await server.registerVersion("a")
            try await server.registerVersion("b")
            try await server.send(.post, "/v1/models/a/versions", as: .engineer, json: #"{"artifact_uri":"s3://a/2"}"#).expect(.created)

            let byModel = try await server.send(.get, "/v1/audit?model=a", as: .auditor)
            #expect(byModel.items.map { $0["action"] as? String } == ["version.register", "version.register", "model.create"])
            #expect(byModel.items.allSatisfy { $0["model"] as? String == "a" })
            let byActor = try await server.send(.get, "/v1/audit?actor=eddie", as: .auditor)
            #expect(byActor.items.count == 1)
            let byAction = try await server.send(.get, "/v1/audit?action=token.create", as: .auditor)
            #expect(byAction.items.count == 7)
            let future = try await server.send(.get, "/v1/audit?since=2999-01-01T00:00:00Z", as: .auditor)
            future.expect(.ok)
            #expect(future.items.isEmpty)
            let past = try await server.send(.get, "/v1/audit?until=2000-01-01T00:00:00Z", as: .auditor)
            #expect(past.items.isEmpty)
            try await server.send(.get, "/v1/audit?since=last-week", as: .auditor).expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "since")
        }
    }

    @Test func theLogPagesThroughACursor() async throws {
        try await withTestServer { server in
            for _ in 1...4 { try await server.registerVersion() }
            let total = try server.auditCount()
            let pages = try await collectPages(server, "/v1/audit?limit=3", role: .auditor)
            #expect(pages.dropLast().allSatisfy { $0.count == 3 })
            let seqs = pages.joined().compactMap { $0["seq"] as? Int }
            #expect(seqs == Array((1...total).reversed()))
            try await server.send(.get, "/v1/audit?cursor=bogus", as: .auditor).expect(.badRequest, code: "INVALID_ARGUMENT")
        }
    }

    @Test func verifyTheChain() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let verified = try await server.send(.get, "/v1/audit/verify", as: .auditor)
            verified.expect(.ok)
            #expect(verified["ok"] as? Bool == true)
            #expect(verified["entries"] as? Int == (try server.auditCount()))
            #expect((verified["head"] as? String)?.count == 64)
        }
    }

    /// `state=true` also checks the tables against the log; a row changed behind the registry's
    /// back is named, while the chain alone still verifies.
    @Test func withStateTheTablesAreCheckedAgainstTheLog() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let agreed = try await server.send(.get, "/v1/audit/verify?state=true", as: .auditor)
            agreed.expect(.ok)
            #expect(agreed["ok"] as? Bool == true, "\(agreed)")
            #expect((agreed["state"] as? [String: Any])?["ok"] as? Bool == true, "\(agreed)")
            #expect(try await server.send(.get, "/v1/audit/verify", as: .auditor)["state"] == nil)

            try Connection(path: server.registry.database.path).execute("UPDATE versions SET artifact_uri = 's3://elsewhere'")
            let tampered = try await server.send(.get, "/v1/audit/verify?state=true", as: .auditor)
            tampered.expect(.ok)
            #expect(tampered["ok"] as? Bool == false, "\(tampered)")
            let state = try #require(tampered["state"] as? [String: Any], "\(tampered)")
            #expect(state["table"] as? String == "versions")
            #expect((state["problem"] as? String)?.contains("artifact_uri") == true, "\(tampered)")
            try await server.send(.get, "/v1/audit/verify?state=yes", as: .auditor)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "state")
        }
    }

    @Test func anAuditorSignsACheckpointOfTheLog() async throws {
        let keys = CheckpointKeys.generate()
        try await withTestServer(checkpointKey: keys.privateKey) { server in
            try await server.registerVersion()
            let entries = try server.auditCount()
            let checkpoint = try await server.send(.post, "/v1/audit/checkpoint", as: .auditor)
            checkpoint.expect(.created)
            #expect(checkpoint["size"] as? Int == entries)
            #expect(checkpoint["head"] as? String == (try server.registry.verifyAudit().head))
            #expect(checkpoint["origin"] as? String == "mreg")
            #expect((checkpoint["signature"] as? String)?.isEmpty == false)
            #expect((checkpoint["key_id"] as? String)?.count == 64)
            try await server.send(.post, "/v1/audit/checkpoint", as: .reader).expect(.forbidden, code: "PERMISSION_DENIED")
        }
    }

    @Test func withoutASigningKeyACheckpointIsUnavailable() async throws {
        try await withTestServer { server in
            try await server.send(.post, "/v1/audit/checkpoint", as: .auditor, serverError: true)
                .expect(.serviceUnavailable, code: "UNAVAILABLE", detailMentions: "--checkpoint-key")
        }
    }

    @Test func aReaderMayNotReadTheLogAndTheRefusalIsItselfAudited() async throws {
        try await withTestServer { server in
            let before = try server.auditCount()
            try await server.send(.get, "/v1/audit", as: .reader).expect(.forbidden, code: "PERMISSION_DENIED", detailMentions: "auditor")
            try await server.send(.get, "/v1/audit/verify", as: .reader).expect(.forbidden, code: "PERMISSION_DENIED")
            #expect(try server.auditCount() == before + 2)
            let denied = try await server.send(.get, "/v1/audit?action=denied", as: .auditor)
            #expect(denied.items.count == 2)
            #expect(denied.items.allSatisfy { $0["actor"] as? String == "reed" })
        }
    }
}
