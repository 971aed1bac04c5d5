import Foundation
import Hummingbird
import HummingbirdTesting
import RegistryCore
import Testing

@testable import RegistryServer

/// Gray releases onto master and resolving which version serves a key, over HTTP.
@Suite struct RolloutRouteTests {
    /// Version 1 on master, version 2 on release: ready to roll out.
    static func prepare(_ server: TestServer) async throws {
        try await server.ship()
        try await server.registerVersion()
        try await server.promote(to: .release, version: 2)
    }

    @Test func aRolloutGoesThroughItsStepsAndMovesMaster() async throws {
        try await withTestServer { server in
            try await Self.prepare(server)
            let started = try await server.send(.post, "/v1/models/m/rollout", as: .releaseManager, json: #"{"version":2,"steps":[10,50,100]}"#)
            started.expect(.created)
            #expect(started["state"] as? String == "progressing")
            #expect(started["candidate"] as? Int == 2)
            #expect(started["baseline"] as? Int == 1)
            #expect(started["percent"] as? Int == 10)
            #expect(try server.head("m", .master) == 1, "master keeps the baseline until the rollout completes")

            let shown = try await server.send(.get, "/v1/models/m/rollout", as: .reader)
            shown.expect(.ok)
            #expect(shown["id"] as? Int == started["id"] as? Int)

            let observed = try await server.send(.post, "/v1/models/m/rollout/observe", as: .releaseManager, json: #"{"metrics":{"error_rate":0.01}}"#)
            observed.expect(.ok)
            #expect((observed["observations"] as? [[String: Any]])?.count == 1)

            let paused = try await server.send(.post, "/v1/models/m/rollout/pause", as: .releaseManager)
            paused.expect(.ok)
            #expect(paused["state"] as? String == "paused")
            try await server.send(.post, "/v1/models/m/rollout/advance", as: .releaseManager).expect(.conflict, code: "CONFLICT", detailMentions: "paused")
            try await server.send(.post, "/v1/models/m/rollout/pause", as: .releaseManager).expect(.conflict, code: "CONFLICT")
            let resumed = try await server.send(.post, "/v1/models/m/rollout/resume", as: .releaseManager)
            resumed.expect(.ok)
            #expect(resumed["state"] as? String == "progressing")
            try await server.send(.post, "/v1/models/m/rollout/resume", as: .releaseManager).expect(.conflict, code: "CONFLICT")

            let fifty = try await server.send(.post, "/v1/models/m/rollout/advance", as: .releaseManager)
            fifty.expect(.ok)
            #expect(fifty["percent"] as? Int == 50)
            try await server.send(.post, "/v1/models/m/rollout/advance", as: .releaseManager).expect(.ok)
            let completed = try await server.send(.post, "/v1/models/m/rollout/advance", as: .releaseManager)
            completed.expect(.ok)
            #expect(completed["state"] as? String == "completed")
            #expect(try server.head("m", .master) == 2)
            // Nothing active any more.
            try await server.send(.post, "/v1/models/m/rollout/advance", as: .releaseManager).expect(.conflict, code: "CONFLICT")

            let history = try await server.send(.get, "/v1/models/m/rollout/history", as: .reader)
            history.expect(.ok)
            let actions = (history["items"] as? [[String: Any]])?.compactMap { $0["action"] as? String }
            #expect(actions == [
                "rollout.start", "rollout.observe", "rollout.pause", "rollout.resume", "rollout.advance", "rollout.advance",
                "rollout.complete", "branch.rollout_complete",
            ])
            try await server.send(.get, "/v1/models/m/rollout/history?rollout=1", as: .reader).expect(.ok)
            try await server.send(.get, "/v1/models/m/rollout/history?rollout=9", as: .reader).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.get, "/v1/models/m/rollout/history?rollout=first", as: .reader)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "rollout id")
        }
    }

    @Test func anAutomaticRolloutWithHoldsSaysWhatComesNext() async throws {
        try await withTestServer { server in
            try await Self.prepare(server)
            let started = try await server.send(
                .post, "/v1/models/m/rollout", as: .releaseManager, json: #"{"version":2,"steps":[{"percent":10,"hold":"1h"},100],"auto":true}"#)
            started.expect(.created)
            #expect(started["auto"] as? Bool == true)
            #expect((started["steps"] as? [Any])?.count == 2)
            #expect((started["steps"] as? [Any])?.first as? [String: Int] == ["percent": 10, "hold": 3600])
            let next = try #require(started["next"] as? [String: Any])
            #expect(next["action"] as? String == "advance" && next["at"] as? String == started["hold_ends_at"] as? String, "\(next)")
            for bad in [#"{"version":2,"steps":[{"percent":10,"hold":"soon"},100]}"#, #"{"version":2,"auto":"yes"}"#, #"{"version":2,"steps":[{"hold":5},100]}"#,
                        #"{"version":2,"steps":[{"percent":10,"hodl":600},100]}"#] {
                try await server.send(.post, "/v1/models/m/rollout", as: .releaseManager, json: bad).expect(.badRequest, code: "INVALID_ARGUMENT")
            }
        }
    }

    @Test func resolveIsStickyAndNeedsAKey() async throws {
        try await withTestServer { server in
            try await Self.prepare(server)
            let before = try await server.send(.get, "/v1/models/m/resolve?key=user-1", as: .reader)
            before.expect(.ok)
            #expect(before["version"] as? Int == 1)
            #expect(before["rollout_id"] is NSNull)

            try await server.send(.post, "/v1/models/m/rollout", as: .releaseManager, json: #"{"version":2,"steps":[50,100]}"#).expect(.created)
            var versions: [String: Int] = [:]
            for key in (1...40).map({ "user-\($0)" }) {
                let resolved = try await server.send(.get, "/v1/models/m/resolve?key=\(key)", as: .reader)
                resolved.expect(.ok)
                let bucket = try #require(resolved["bucket"] as? Int)
                let version = try #require(resolved["version"] as? Int)
                #expect(version == (bucket < 5000 ? 2 : 1), "key \(key) in bucket \(bucket)")
                versions[key] = version
            }
            #expect(Set(versions.values) == [1, 2], "half the keys go to each version: \(versions)")
            let again = try await server.send(.get, "/v1/models/m/resolve?key=user-7", as: .reader)
            #expect(again["version"] as? Int == versions["user-7"])

            try await server.send(.get, "/v1/models/m/resolve", as: .reader).expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "key")
            try await server.send(.get, "/v1/models/x/resolve?key=k", as: .reader).expect(.notFound, code: "NOT_FOUND")
        }
    }

    @Test func abortSendsTrafficBackAndLeavesMaster() async throws {
        try await withTestServer { server in
            try await Self.prepare(server)
            try await server.send(.post, "/v1/models/m/rollout", as: .releaseManager, json: #"{"version":2}"#).expect(.created)
            try await server.send(.post, "/v1/models/m/rollout/abort", as: .releaseManager, json: #"{}"#)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "reason")
            let aborted = try await server.send(.post, "/v1/models/m/rollout/abort", as: .releaseManager, json: #"{"reason":"errors up"}"#)
            aborted.expect(.ok)
            #expect(aborted["state"] as? String == "aborted")
            #expect(aborted["percent"] as? Int == 0)
            #expect(try server.head("m", .master) == 1)
            try await server.send(.post, "/v1/models/m/rollout/abort", as: .releaseManager, json: #"{"reason":"again"}"#)
                .expect(.conflict, code: "CONFLICT")
        }
    }

    @Test func startingIsRefusedWhenTheVersionIsNotReady() async throws {
        try await withTestServer { server in
            try await Self.prepare(server)
            try await server.registerVersion()  // 3: only on develop
            let audit = try server.auditCount()
            try await server.send(.post, "/v1/models/m/rollout", as: .releaseManager, json: #"{"version":3}"#)
                .expect(.conflict, code: "CONFLICT", detailMentions: "release")
            try await server.send(.post, "/v1/models/m/rollout", as: .releaseManager, json: #"{"version":1}"#)
                .expect(.conflict, code: "CONFLICT", detailMentions: "already holds")
            try await server.send(.post, "/v1/models/m/rollout", as: .releaseManager, json: #"{"version":9}"#).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.post, "/v1/models/x/rollout", as: .releaseManager, json: #"{"version":2}"#).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.post, "/v1/models/m/rollout", as: .releaseManager, json: #"{"version":2,"steps":[50,20]}"#)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "increase")
            try await server.send(.post, "/v1/models/m/rollout", as: .releaseManager, json: #"{"steps":[50,100]}"#)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "version")
            #expect(try server.auditCount() == audit)

            _ = try await server.registry.setPolicy(model: "m", document: "master:\n  approvals:\n    count: 1\n", by: TestServer.setup)
            let refused = try await server.send(.post, "/v1/models/m/rollout", as: .releaseManager, json: #"{"version":2}"#)
            refused.expect(.unprocessableContent, code: "GATE_FAILED")
            #expect((refused["gates"] as? [[String: Any]])?.contains { $0["name"] as? String == "approvals" } == true, "\(refused)")
        }
    }

    @Test func oneActiveRolloutPerModelAndNoPromotionToMasterMeanwhile() async throws {
        try await withTestServer { server in
            try await Self.prepare(server)
            try await server.send(.post, "/v1/models/m/rollout", as: .releaseManager, json: #"{"version":2}"#).expect(.created)
            try await server.send(.post, "/v1/models/m/rollout", as: .releaseManager, json: #"{"version":2}"#)
                .expect(.conflict, code: "CONFLICT", detailMentions: "active rollout")
            try await server.send(.post, "/v1/models/m/promote", as: .releaseManager, json: #"{"to":"master"}"#)
                .expect(.conflict, code: "CONFLICT", detailMentions: "rollout")
            #expect(try server.head("m", .master) == 1)
        }
    }

    @Test func aModelWithoutARolloutAnswersNotFoundAndActionsConflict() async throws {
        try await withTestServer { server in
            try await server.ship()
            try await server.send(.get, "/v1/models/m/rollout", as: .reader).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.get, "/v1/models/x/rollout", as: .reader).expect(.notFound, code: "NOT_FOUND")
            // The model exists; without an active rollout its state refuses the action.
            for action in ["advance", "pause", "resume"] {
                try await server.send(.post, "/v1/models/m/rollout/\(action)", as: .releaseManager).expect(.conflict, code: "CONFLICT")
            }
            try await server.send(.post, "/v1/models/x/rollout/advance", as: .releaseManager).expect(.notFound, code: "NOT_FOUND")
            try await server.send(.post, "/v1/models/m/rollout/observe", as: .releaseManager, json: #"{"metrics":{"error_rate":0.1}}"#)
                .expect(.conflict, code: "CONFLICT")
        }
    }

    @Test func observationsBeyondTheFailureLimitAbortTheRollout() async throws {
        try await withTestServer { server in
            try await Self.prepare(server)
            _ = try await server.registry.setPolicy(
                model: "m", document: "master:\n  rollout:\n    steps: [20, 100]\n    guards: {error_rate: \"<= 0.02\"}\n    failure_limit: 1\n",
                by: TestServer.setup)
            try await server.send(.post, "/v1/models/m/rollout", as: .releaseManager, json: #"{"version":2}"#).expect(.created)
            try await server.send(.post, "/v1/models/m/rollout/observe", as: .releaseManager, json: #"{"metrics":{}}"#)
                .expect(.badRequest, code: "INVALID_ARGUMENT", detailMentions: "metric")
            let first = try await server.send(.post, "/v1/models/m/rollout/observe", as: .releaseManager, json: #"{"metrics":{"error_rate":0.05}}"#)
            #expect(first["state"] as? String == "progressing")
            let second = try await server.send(.post, "/v1/models/m/rollout/observe", as: .releaseManager, json: #"{"metrics":{"error_rate":0.07}}"#)
            second.expect(.ok)
            #expect(second["state"] as? String == "aborted")
            #expect(try server.head("m", .master) == 1)
            #expect(try server.newestAudit()?.actor == "system")
        }
    }
}
