import Foundation
import Hummingbird
import HummingbirdTesting
import RegistryCore
import Testing

@testable import RegistryServer

/// Promotion, rollback, diff, history, policy and approvals over HTTP.
@Suite struct PromotionRouteTests {
    // MARK: Promote

    @Test func promoteUpTheLadder() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let release = try await server.send(.post, "/v1/models/m/promote", as: .engineer, json: #"{"to":"release","reason":"tests pass"}"#)
            release.expect(.ok)
            #expect(release["to_version"] as? Int == 1)
            #expect(release["kind"] as? String == "promote")
            #expect(release["dry_run"] as? Bool == false)
            let master = try await server.send(.post, "/v1/models/m/promote", as: .releaseManager, json: #"{"to":"master"}"#)
            master.expect(.ok)
            #expect(try server.head("m", .master) == 1)
        }
    }

    @Test func promotingWhatTheBranchHoldsIsAConflict() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            try await server.promote(to: .release)
            let transitions = try server.auditCount()
            try await server.send(.post, "/v1/models/m/promote", as: .engineer, json: #"{"to":"release"}"#)
                .expect(.conflict, code: "CONFLICT", detailMentions: "already holds")
            #expect(try server.auditCount() == transitions)
        }
    }

    @Test func promotingUnknownModelsOrVersionsIsNotFound() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            try await server.send(.post, "/v1/models/x/promote", as: .engineer, json: #"{"to":"release"}"#).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.post, "/v1/models/m/promote", as: .engineer, json: #"{"to":"release","version":9}"#)
                .expect(.notFound, code: "NOT_FOUND")
        }
    }

    @Test func aStaleETagOrExpectationOnPromoteIsAPreconditionFailure() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            try await server.registerVersion()
            let read = try await server.send(.get, "/v1/models/m/branches/release", as: .reader)
            let etag = try #require(read.headers[.eTag])
            // Someone else moves release after we read it.
            try await server.promote(to: .release, version: 1)
            try await server.send(.post, "/v1/models/m/promote", as: .engineer, json: #"{"to":"release","version":2}"#, headers: [.ifMatch: etag])
                .expect(.preconditionFailed, code: "PRECONDITION_FAILED")
            try await server.send(.post, "/v1/models/m/promote", as: .engineer, json: #"{"to":"release","version":2,"expect":0}"#)
                .expect(.preconditionFailed, code: "PRECONDITION_FAILED")
            #expect(try server.head("m", .release) == 1)
            // With the current tag it goes through.
            let fresh = try #require(try await server.send(.get, "/v1/models/m/branches/release", as: .reader).headers[.eTag])
            try await server.send(.post, "/v1/models/m/promote", as: .engineer, json: #"{"to":"release","version":2}"#, headers: [.ifMatch: fresh])
                .expect(.ok)
            #expect(try server.head("m", .release) == 2)
        }
    }

    @Test func aFailingGateIsRefusedWithTheGateReport() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            _ = try await server.registry.setPolicy(model: "m", document: "release:\n  require_reports: [unit]\n", by: TestServer.setup)
            let audit = try server.auditCount()
            let refused = try await server.send(.post, "/v1/models/m/promote", as: .engineer, json: #"{"to":"release"}"#)
            refused.expect(.unprocessableContent, code: "GATE_FAILED", detailMentions: "require_reports.unit")
            let gates = try #require(refused["gates"] as? [[String: Any]], "\(refused)")
            let gate = try #require(gates.first { $0["name"] as? String == "require_reports.unit" }, "\(refused)")
            #expect(gate["passed"] as? Bool == false)
            #expect(try server.head("m", .release) == nil)
            #expect(try server.auditCount() == audit)

            // A dry run reports the same gate and moves nothing.
            let dryRun = try await server.send(.post, "/v1/models/m/promote", as: .engineer, json: #"{"to":"release","dry_run":true}"#)
            dryRun.expect(.ok)
            #expect(dryRun["passed"] as? Bool == false)
            #expect(dryRun["dry_run"] as? Bool == true)
            #expect(try server.head("m", .release) == nil)

            // An admin may force it, with a reason.
            try await server.send(.post, "/v1/models/m/promote", as: .admin, json: #"{"to":"release","force":true}"#)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "reason")
            let forced = try await server.send(.post, "/v1/models/m/promote", as: .admin, json: #"{"to":"release","force":true,"reason":"hotfix"}"#)
            forced.expect(.ok)
            #expect(forced["kind"] as? String == "force")
            #expect(try server.head("m", .release) == 1)
        }
    }

    // MARK: Rollback

    @Test func rollbackMovesMasterBack() async throws {
        try await withTestServer { server in
            try await server.ship()
            try await server.ship()
            let rolled = try await server.send(.post, "/v1/models/m/rollback", as: .releaseManager, json: #"{"reason":"latency"}"#)
            rolled.expect(.ok)
            #expect(rolled["from_version"] as? Int == 2)
            #expect(rolled["to_version"] as? Int == 1)
            #expect(rolled["kind"] as? String == "rollback")
            #expect(try server.head("m", .master) == 1)
            // Nothing before version 1.
            try await server.send(.post, "/v1/models/m/rollback", as: .releaseManager, json: #"{"reason":"again"}"#)
                .expect(.conflict, code: "CONFLICT")
            try await server.send(.post, "/v1/models/m/rollback", as: .releaseManager, json: #"{}"#)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "reason")
            try await server.send(.post, "/v1/models/x/rollback", as: .releaseManager, json: #"{"reason":"r"}"#)
                .expect(.notFound, code: "NOT_FOUND")
            try await server.send(.post, "/v1/models/m/rollback", as: .releaseManager, json: #"{"reason":"r","to":7}"#)
                .expect(.notFound, code: "NOT_FOUND")
        }
    }

    @Test func aStaleETagOnRollbackIsAPreconditionFailure() async throws {
        try await withTestServer { server in
            try await server.ship()
            try await server.ship()
            let etag = try #require(try await server.send(.get, "/v1/models/m/branches/master", as: .reader).headers[.eTag])
            try await server.ship()
            let audit = try server.auditCount()
            try await server.send(.post, "/v1/models/m/rollback", as: .releaseManager, json: #"{"reason":"r"}"#, headers: [.ifMatch: etag])
                .expect(.preconditionFailed, code: "PRECONDITION_FAILED")
            try await server.send(.post, "/v1/models/m/rollback", as: .releaseManager, json: #"{"reason":"r","expect":2}"#)
                .expect(.preconditionFailed, code: "PRECONDITION_FAILED")
            #expect(try server.head("m", .master) == 3)
            #expect(try server.auditCount() == audit)
            let fresh = try #require(try await server.send(.get, "/v1/models/m/branches/master", as: .reader).headers[.eTag])
            try await server.send(.post, "/v1/models/m/rollback", as: .releaseManager, json: #"{"reason":"r"}"#, headers: [.ifMatch: fresh])
                .expect(.ok)
            #expect(try server.head("m", .master) == 2)
        }
    }

    // MARK: Diff and history

    @Test func diffTwoVersions() async throws {
        try await withTestServer { server in
            try await server.registerVersion(metrics: ["auc": 0.9])
            try await server.registerVersion(metrics: ["auc": 0.95])
            let diff = try await server.send(.get, "/v1/models/m/diff?from=1&to=develop", as: .reader)
            diff.expect(.ok)
            #expect(diff.text.contains("auc"), "\(diff)")
            try await server.send(.get, "/v1/models/m/diff?from=1", as: .reader).expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "to=")
            try await server.send(.get, "/v1/models/m/diff?from=1&to=9", as: .reader).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.get, "/v1/models/x/diff?from=1&to=2", as: .reader).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.get, "/v1/models/m/diff?from=1&to=sometime", as: .reader).expect(.badRequest, code: "INVALID_ARGUMENT")
        }
    }

    @Test func historyPagesThroughTransitionsAndAnswersAsOfATime() async throws {
        try await withTestServer { server in
            for _ in 1...3 { try await server.ship() }  // 9 transitions
            let pages = try await collectPages(server, "/v1/models/m/history?limit=4", itemsKey: "transitions", role: .reader)
            #expect(pages.map(\.count) == [4, 4, 1])
            let ids = pages.joined().compactMap { $0["id"] as? Int }
            #expect(ids == ids.sorted(by: >), "newest first")
            #expect(Set(ids).count == 9)

            let masterOnly = try await server.send(.get, "/v1/models/m/history?branch=master", as: .reader)
            masterOnly.expect(.ok)
            #expect((masterOnly["transitions"] as? [[String: Any]])?.count == 3)

            let now = try await server.send(.get, "/v1/models/m/history?at=2999-01-01T00:00:00Z", as: .reader)
            now.expect(.ok)
            #expect((now["branches"] as? [String: Any])?["master"] as? Int == 3)

            try await server.send(.get, "/v1/models/m/history?branch=prod", as: .reader).expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "prod")
            try await server.send(.get, "/v1/models/m/history?at=yesterday", as: .reader).expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "at")
            try await server.send(.get, "/v1/models/x/history", as: .reader).expect(.notFound, code: "NOT_FOUND")
        }
    }

    @Test func historyAtATimeStillRefusesAnUnknownBranch() async throws {
        try await withTestServer { server in
            try await server.ship()
            // Found by schemathesis: with at= the branch= parameter was not looked at.
            try await server.send(.get, "/v1/models/m/history?at=2999-01-01T00:00:00Z&branch=prod", as: .reader)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "prod")
        }
    }

    // MARK: Policy

    @Test func setAndReadAPolicy() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            try await server.send(.get, "/v1/models/m/policy", as: .reader).expect(.notFound, code: "NOT_FOUND")
            let document = "release:\n  require_reports: [unit]\n  thresholds:\n    auc: \">= 0.9\"\n"
            let set = try await server.send(.put, "/v1/models/m/policy", as: .admin, body: Array(document.utf8), headers: [.contentType: "application/yaml"])
            set.expect(.ok)
            #expect(set["revision"] as? Int == 1)
            let read = try await server.send(.get, "/v1/models/m/policy", as: .reader)
            read.expect(.ok)
            #expect(read["revision"] as? Int == 1)
            #expect(((read["policy"] as? [String: Any])?["release"] as? [String: Any])?["require_reports"] as? [String] == ["unit"])
            try await server.send(.get, "/v1/models/m/policy?revision=1", as: .reader).expect(.ok)
            try await server.send(.get, "/v1/models/m/policy?revision=2", as: .reader).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.get, "/v1/models/m/policy?revision=first", as: .reader).expect(.badRequest, code: "INVALID_ARGUMENT")

            try await server.send(.put, "/v1/models/m/policy", as: .admin, body: Array("release:\n  bogus_gate: 1\n".utf8))
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "bogus_gate")
            try await server.send(.put, "/v1/models/m/policy", as: .admin, body: Array("release: [unclosed\n".utf8))
                .expect(.badRequest, code: "INVALID_ARGUMENT")
            try await server.send(.put, "/v1/models/x/policy", as: .admin, body: Array(document.utf8)).expect(.notFound, code: "NOT_FOUND")
            #expect(try server.registry.policy(model: "m").revision == 1)
        }
    }

    // MARK: Approvals

    @Test func approveAVersion() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            let first = try await server.send(.post, "/v1/models/m/versions/1/approvals", as: .releaseManager, json: #"{"to":"master","comment":"lgtm"}"#)
            first.expect(.created)
            #expect(first["actor"] as? String == "rita")
            #expect(first["approvers"] as? [String] == ["rita"])
            let second = try await server.send(
                .post, "/v1/models/m/versions/1/approvals", as: nil, json: #"{"to":"master"}"#,
                headers: [.authorization: "Bearer \(server.tokens.secondReleaseManager)"])
            second.expect(.created)
            #expect(Set(second["approvers"] as? [String] ?? []) == ["rita", "remy"])

            try await server.send(.post, "/v1/models/m/versions/1/approvals", as: .releaseManager, json: #"{"to":"master"}"#)
                .expect(.conflict, code: "ALREADY_EXISTS")
            try await server.send(.post, "/v1/models/m/versions/5/approvals", as: .releaseManager, json: #"{}"#).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.post, "/v1/models/x/versions/1/approvals", as: .releaseManager, json: #"{}"#).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.post, "/v1/models/m/versions/1/approvals", as: .releaseManager, json: #"{"to":"develop"}"#)
                .expect(.badRequest, code: "INVALID_ARGUMENT")
        }
    }

    @Test func approvalsCountTowardsTheMasterGate() async throws {
        try await withTestServer { server in
            try await server.registerVersion()
            try await server.promote(to: .release)
            _ = try await server.registry.setPolicy(model: "m", document: "master:\n  approvals:\n    count: 2\n", by: TestServer.setup)
            try await server.send(.post, "/v1/models/m/promote", as: .releaseManager, json: #"{"to":"master"}"#)
                .expect(.unprocessableContent, code: "GATE_FAILED")
            try await server.send(.post, "/v1/models/m/versions/1/approvals", as: .releaseManager, json: #"{"to":"master"}"#).expect(.created)
            try await server.send(
                .post, "/v1/models/m/versions/1/approvals", as: nil, json: #"{"to":"master"}"#,
                headers: [.authorization: "Bearer \(server.tokens.secondReleaseManager)"]
            ).expect(.created)
            try await server.send(.post, "/v1/models/m/promote", as: .releaseManager, json: #"{"to":"master"}"#).expect(.ok)
            #expect(try server.head("m", .master) == 1)
        }
    }
}
