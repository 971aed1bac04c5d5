import Foundation
import Testing

@testable import RegistryCore

@Suite struct RolloutBucketTests {
    struct Vectors: Decodable {
        struct Hash: Decodable { let input: String; let seed: UInt32; let hash: UInt32 }
        struct Bucket: Decodable { let model: String; let rollout_id: Int; let key: String; let bucket: Int }
        let hashes: [Hash]
        let buckets: [Bucket]
    }

    static let vectors: Vectors = {
        let url = SourceTree.fixtures.appendingPathComponent("murmur3-vectors.json")
        // A missing or broken fixture is a broken test tree, not a skipped test.
        return try! JSONDecoder().decode(Vectors.self, from: Data(contentsOf: url))
    }()

    @Test func unleashVectors() {
        // Unleash's published examples: normalized as h % 100 + 1.
        #expect(RolloutBucket.murmur3_x86_32(Array("gr1:123".utf8), seed: 0) % 100 + 1 == 73)
        #expect(RolloutBucket.murmur3_x86_32(Array("groupX:999".utf8), seed: 0) % 100 + 1 == 25)
    }

    @Test func smhasherStyleVectors() {
        #expect(RolloutBucket.murmur3_x86_32([], seed: 0) == 0)
        #expect(RolloutBucket.murmur3_x86_32([], seed: 1) == 0x514E_28B7)
        #expect(RolloutBucket.murmur3_x86_32([], seed: 0xFFFF_FFFF) == 0x81F1_6F39)
        #expect(RolloutBucket.murmur3_x86_32(Array("The quick brown fox jumps over the lazy dog".utf8), seed: 0) == 0x2E4F_F723)
    }

    @Test func fixtureVectorsComputedIndependently() {
        #expect(Self.vectors.hashes.count >= 5)
        for vector in Self.vectors.hashes {
            #expect(RolloutBucket.murmur3_x86_32(Array(vector.input.utf8), seed: vector.seed) == vector.hash, "\(vector.input)")
        }
        for vector in Self.vectors.buckets {
            #expect(RolloutBucket.bucket(model: vector.model, rolloutID: vector.rollout_id, key: vector.key) == vector.bucket)
        }
    }

    @Test func shareOfKeysMatchesEachStepAndKeysNeverLeaveTheCandidate() {
        var generator = SystemRandomNumberGenerator()
        let keys = (0..<100_000).map { _ in "user-\(UInt64.random(in: 0 ... .max, using: &generator))" }
        let buckets = keys.map { RolloutBucket.bucket(model: "fraud", rolloutID: 7, key: $0) }
        var previous = Set<Int>()
        for percent in [5, 25, 50, 100] {
            let served = Set(buckets.indices.filter { RolloutBucket.servesCandidate(bucket: buckets[$0], percent: percent) })
            let share = Double(served.count) / Double(keys.count) * 100
            #expect(abs(share - Double(percent)) <= 1, "step \(percent)%: candidate served \(share)%")
            #expect(previous.isSubset(of: served), "a key served by the candidate left it at \(percent)%")
            previous = served
        }
    }
}

@Suite struct RolloutTests {
    /// v1 on master, v2 on release: ready to roll v2 out.
    private func prepare(_ registry: Registry, policy: String? = nil) async throws {
        try await registry.shipVersion("fraud")
        let candidate = try await registry.registerVersion("fraud").version
        try await registry.promoteVersion("fraud", to: .release, version: candidate)
        if let policy { _ = try await registry.setPolicy(model: "fraud", document: policy, by: .alice) }
    }

    private let guardedPolicy = """
        master:
          rollout: {steps: [10, 50, 100], guards: {error_rate: "<= 0.02"}, failure_limit: 2}
        """

    @Test func startUsesPolicyStepsAndKeepsMasterOnTheBaseline() async throws {
        try await withTemporaryRegistry { registry in
            try await prepare(registry, policy: guardedPolicy)
            let rollout = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2), by: .bob)
            #expect(rollout.state == .progressing)
            #expect(rollout.steps == [10, 50, 100])
            #expect(rollout.step == 1)
            #expect(rollout.percent == 10)
            #expect(rollout.baseline == 1)
            #expect(try registry.model(named: "fraud").branches.master == 1)
            #expect(try registry.allAuditEntries().last?.action == "rollout.start")
        }
    }

    @Test func defaultStepsWithoutPolicy() async throws {
        try await withTemporaryRegistry { registry in
            try await prepare(registry)
            let rollout = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2), by: .bob)
            #expect(rollout.steps == [5, 25, 50, 100])
        }
    }

    @Test func startIsRefusedWhenItCannotMeanAnything() async throws {
        try await withTemporaryRegistry { registry in
            try await prepare(registry)
            await expectError(.permissionDenied) { try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2), by: .eve) }
            await expectError(.conflict) { try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 1), by: .bob) }  // on master
            let unreleased = try await registry.registerVersion("fraud").version
            await expectError(.conflict) { try await registry.startRollout(model: "fraud", RolloutStartRequest(version: unreleased), by: .bob) }
            await expectError(.invalidArgument) {
                try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2, steps: [50, 25, 100]), by: .bob)
            }
            await expectError(.invalidArgument) {
                try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2, steps: [5, 50]), by: .bob)
            }
            _ = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2), by: .bob)
            await expectError(.conflict) { try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2), by: .bob) }
            await expectError(.conflict) { try await registry.promoteVersion("fraud", to: .master, version: 2) }
        }
    }

    @Test func startRunsTheMasterGates() async throws {
        try await withTemporaryRegistry { registry in
            try await prepare(registry, policy: "master:\n  approvals: {count: 1}\n")
            let error = await expectError(.gateFailed) { try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2), by: .bob) }
            #expect(error?.gates?.map(\.name) == ["approvals"])
            _ = try await registry.approve(model: "fraud", version: 2, to: .master, by: .carol)
            await #expect(try registry.startRollout(model: "fraud", RolloutStartRequest(version: 2), by: .bob).state == .progressing)
        }
    }

    @Test func advancingPastTheLastStepCompletesAndMovesMaster() async throws {
        try await withTemporaryRegistry { registry in
            try await prepare(registry)
            _ = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2, steps: [20, 100]), by: .bob)
            let second = try await registry.advanceRollout(model: "fraud", by: .bob)
            #expect(second.percent == 100)
            #expect(second.state == .progressing)
            #expect(try registry.model(named: "fraud").branches.master == 1)
            let done = try await registry.advanceRollout(model: "fraud", by: .bob)
            #expect(done.state == .completed)
            #expect(try registry.model(named: "fraud").branches.master == 2)
            let last = try #require(try registry.history(model: "fraud", branch: .master).transitions.first)
            #expect(last.kind == .rolloutComplete)
            #expect(last.fromVersion == 1)
            #expect(last.toVersion == 2)
            #expect(try registry.resolve(model: "fraud", key: "anyone") == Resolution(model: "fraud", version: 2, bucket: nil, rolloutID: nil))
            await expectError(.conflict) { try await registry.advanceRollout(model: "fraud", by: .bob) }
            #expect(try registry.verifyAudit().ok)
        }
    }

    @Test func pauseStopsAdvancingUntilResumed() async throws {
        try await withTemporaryRegistry { registry in
            try await prepare(registry)
            _ = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2), by: .bob)
            await #expect(try registry.pauseRollout(model: "fraud", by: .bob).state == .paused)
            await expectError(.conflict) { try await registry.advanceRollout(model: "fraud", by: .bob) }
            await expectError(.conflict) { try await registry.pauseRollout(model: "fraud", by: .bob) }
            await #expect(try registry.resumeRollout(model: "fraud", by: .bob).state == .progressing)
            await #expect(try registry.advanceRollout(model: "fraud", by: .bob).percent == 25)
        }
    }

    @Test func abortSendsTrafficBackAndLeavesMasterAlone() async throws {
        try await withTemporaryRegistry { registry in
            try await prepare(registry)
            let started = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2, steps: [100]), by: .bob)
            #expect(try registry.resolve(model: "fraud", key: "k").version == 2)
            await expectError(.invalidArgument) { try await registry.abortRollout(model: "fraud", reason: " ", by: .bob) }
            let aborted = try await registry.abortRollout(model: "fraud", reason: "latency doubled", by: .bob)
            #expect(aborted.state == .aborted)
            #expect(aborted.percent == 0)
            #expect(aborted.reason == "latency doubled")
            #expect(try registry.model(named: "fraud").branches.master == 1)
            #expect(try registry.resolve(model: "fraud", key: "k") == Resolution(model: "fraud", version: 1, bucket: nil, rolloutID: nil))
            let entry = try #require(try registry.allAuditEntries().last)
            #expect(entry.action == "rollout.abort")
            #expect(entry.details.contains("\"rollout_id\":\(started.id)"))
            #expect(try registry.history(model: "fraud", branch: .master).transitions.count == 1)
        }
    }

    @Test func guardFailuresBeyondTheLimitAbortByThemselves() async throws {
        try await withTemporaryRegistry { registry in
            try await prepare(registry, policy: guardedPolicy)
            _ = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2), by: .bob)
            var rollout = try await registry.observeRollout(model: "fraud", metrics: ["error_rate": 0.01], by: .bob)
            #expect(rollout.failures == 0)
            // Baseline observations are recorded but not checked against the guards.
            rollout = try await registry.observeRollout(model: "fraud", metrics: ["error_rate": 0.5], target: .baseline, by: .bob)
            #expect(rollout.failures == 0)
            for value in [0.03, 0.04] {
                rollout = try await registry.observeRollout(model: "fraud", metrics: ["error_rate": value], by: .bob)
                #expect(rollout.state == .progressing)
            }
            #expect(rollout.failures == 2)
            rollout = try await registry.observeRollout(model: "fraud", metrics: ["error_rate": 0.05], by: .bob)
            #expect(rollout.state == .aborted)
            #expect(rollout.failures == 3)
            #expect(rollout.reason.contains("error_rate is 0.05, required <= 0.02"))
            #expect(rollout.observations.count == 5)
            #expect(try registry.model(named: "fraud").branches.master == 1)
            let entries = try registry.allAuditEntries()
            #expect(entries.last?.action == "rollout.abort")
            #expect(entries.last?.actor == "system")
            #expect(entries.dropLast().last?.action == "rollout.observe")
            await expectError(.conflict) { try await registry.observeRollout(model: "fraud", metrics: ["error_rate": 0.01], by: .bob) }
            #expect(try registry.verifyAudit().ok)
        }
    }

    @Test func rollbackOfMasterAbortsTheRollout() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.shipVersion("fraud")
            try await registry.shipVersion("fraud")
            let candidate = try await registry.registerVersion("fraud").version
            try await registry.promoteVersion("fraud", to: .release, version: candidate)
            _ = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: candidate), by: .bob)
            _ = try await registry.rollback(model: "fraud", RollbackRequest(reason: "bad night"), by: .bob)
            let rollout = try registry.rollout(model: "fraud")
            #expect(rollout.state == .aborted)
            #expect(rollout.reason.contains("bad night"))
            #expect(try registry.model(named: "fraud").branches.master == 1)
        }
    }

    @Test func resolveIsStickyAndMatchesTheBucketFormula() async throws {
        try await withTemporaryRegistry { registry in
            try await prepare(registry)
            let rollout = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2), by: .bob)
            var servedAtFive: Set<String> = []
            for index in 0..<400 {
                let key = "user-\(index)"
                let resolution = try registry.resolve(model: "fraud", key: key)
                let bucket = RolloutBucket.bucket(model: "fraud", rolloutID: rollout.id, key: key)
                #expect(resolution.bucket == bucket)
                #expect(resolution.rolloutID == rollout.id)
                #expect(resolution.version == (bucket < 500 ? 2 : 1))
                if resolution.version == 2 { servedAtFive.insert(key) }
            }
            _ = try await registry.advanceRollout(model: "fraud", by: .bob)
            for key in servedAtFive { #expect(try registry.resolve(model: "fraud", key: key).version == 2) }
        }
    }

    @Test func resolveWithoutMasterOrModelIsNotFound() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion("fraud")
            await expectError(.notFound) { try registry.resolve(model: "fraud", key: "k") }
            await expectError(.notFound) { try registry.resolve(model: "nope", key: "k") }
        }
    }
}
