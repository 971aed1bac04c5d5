import Foundation
import Testing

@testable import RegistryCore

/// Rollouts that advance themselves (contract section 11): steps with holds, `auto`, and the
/// decisions of `RolloutPlan`, taken with `advanceAutomatically` under an injected clock.
@Suite struct RolloutAutomationTests {
    /// v1 on master, v2 on release, the policy set: ready to roll v2 out.
    private func prepare(_ registry: Registry, policy: String) async throws {
        try await registry.shipVersion("fraud")
        let candidate = try await registry.registerVersion("fraud").version
        try await registry.promoteVersion("fraud", to: .release, version: candidate)
        _ = try await registry.setPolicy(model: "fraud", document: policy, by: .alice)
    }

    private static let heldPolicy = """
        master:
          rollout:
            auto: true
            steps: [{percent: 10, hold: 1m}, {percent: 50, hold: 90s}, 100]
        """

    @Test func anAutomaticRolloutLeavesEachStepOnlyOnceItsHoldHasPassed() async throws {
        let clock = TestClock()
        try await withTemporaryRegistry(clock: { clock() }) { registry in
            try await prepare(registry, policy: Self.heldPolicy)
            let start = clock()
            let started = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2), by: .bob)
            #expect(started.auto && started.steps == [RolloutStep(percent: 10, holdMilliseconds: 60_000), RolloutStep(percent: 50, holdMilliseconds: 90_000), 100])
            #expect(started.holdEndsAt == clock.at(start, plus: 60_000))
            #expect(started.next.action == .advance && started.next.at == clock.at(start, plus: 60_000), "\(started.next)")

            clock.advance(milliseconds: 59_999)
            #expect(try await registry.advanceAutomatically(model: "fraud", rollout: started.id) == nil, "the hold has not passed")
            clock.advance(milliseconds: 1)
            let second = try #require(try await registry.advanceAutomatically(model: "fraud", rollout: started.id))
            #expect(second.step == 2 && second.percent == 50 && second.stepStartedAt == clock())
            // Asked again at the same moment (a second server that read the old step): nothing.
            #expect(try await registry.advanceAutomatically(model: "fraud", rollout: started.id) == nil, "the new step's hold starts now")
            let entry = try #require(try registry.allAuditEntries().last)
            #expect(entry.action == "rollout.advance" && entry.actor == "system")
            #expect(try entry.detail("automatic") == .bool(true) && entry.detail("step") == .number(2))

            clock.advance(milliseconds: 90_000)
            let third = try #require(try await registry.advanceAutomatically(model: "fraud", rollout: started.id))
            #expect(third.step == 3 && third.percent == 100)
            #expect(third.next.action == .complete && third.next.at == clock(), "the last step holds for nothing")
            let done = try #require(try await registry.advanceAutomatically(model: "fraud", rollout: started.id))
            #expect(done.state == .completed && done.next.action == .none)
            #expect(try registry.model(named: "fraud").branches.master == 2)
            let actions = try registry.allAuditEntries().suffix(4).map { "\($0.actor) \($0.action)" }
            #expect(actions == ["system rollout.advance", "system rollout.advance", "system rollout.complete", "system branch.rollout_complete"])
            #expect(try await registry.advanceAutomatically(model: "fraud", rollout: started.id) == nil)
            #expect(try registry.verifyAudit(state: true).state?.ok == true, "the log replays the automatic steps")
        }
    }

    @Test func guardsMustBeObservedAndHoldDuringEachStep() async throws {
        let clock = TestClock()
        try await withTemporaryRegistry(clock: { clock() }) { registry in
            try await prepare(
                registry,
                policy: """
                    master:
                      rollout: {auto: true, steps: [{percent: 10, hold: 1m}, 100], guards: {error_rate: "<= 0.02"}, failure_limit: 3}
                    """)
            let rollout = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2), by: .bob)
            #expect(rollout.next.reason.contains("then it waits while error_rate has not been observed since step 1 began"), "\(rollout.next)")
            clock.advance(milliseconds: 60_000)
            var now = try registry.rollout(model: "fraud")
            #expect(now.next.action == .wait && now.next.at == nil && now.next.reason == "error_rate has not been observed since step 1 began")
            #expect(try await registry.advanceAutomatically(model: "fraud", rollout: rollout.id) == nil)

            now = try await registry.observeRollout(model: "fraud", metrics: ["error_rate": 0.05], by: .bob)
            #expect(now.next.action == .wait && now.next.reason == "error_rate is 0.05, required <= 0.02")
            #expect(now.guardStatus.map(\.verdict) == [.breached] && now.guardStatus.first?.value == 0.05 && now.guardStatus.first?.observedAt == clock())
            #expect(try await registry.advanceAutomatically(model: "fraud", rollout: rollout.id) == nil)
            // The baseline's numbers are not the candidate's.
            now = try await registry.observeRollout(model: "fraud", metrics: ["error_rate": 0.001], target: .baseline, by: .bob)
            #expect(now.next.action == .wait)

            now = try await registry.observeRollout(model: "fraud", metrics: ["error_rate": 0.01, "p99_ms": 40], by: .bob)
            #expect(now.next.action == .advance && now.next.at == clock())
            clock.advance(milliseconds: 1)
            let second = try #require(try await registry.advanceAutomatically(model: "fraud", rollout: rollout.id))
            #expect(try registry.allAuditEntries().last?.detail("guards") == .object(["error_rate": .number(0.01)]))
            // What was observed during step 1 says nothing of step 2.
            #expect(second.next.action == .wait && second.next.reason == "error_rate has not been observed since step 2 began")
            #expect(second.guardStatus.map(\.verdict) == [.unknown] && second.guardStatus.first?.value == nil)
            let history = try registry.rolloutHistory(model: "fraud")
            #expect(history.map(\.action) == [
                "rollout.start", "rollout.observe", "rollout.observe", "rollout.observe", "rollout.advance",
            ])
            #expect(history.last?.actor == "system")
        }
    }

    @Test func whichObservationsAStepJudgesGoesByCommitsNotByTheClock() async throws {
        let clock = TestClock()  // never moves: every write below shares one millisecond
        try await withTemporaryRegistry(clock: { clock() }) { registry in
            try await prepare(
                registry,
                policy: """
                    master:
                      rollout: {auto: true, steps: [10, 50, 100], guards: {error_rate: "<= 0.02"}, failure_limit: 3}
                    """)
            let rollout = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2), by: .bob)
            var now = try await registry.observeRollout(model: "fraud", metrics: ["error_rate": 0.01], by: .bob)
            #expect(now.guardStatus.map(\.verdict) == [.holds] && now.observationsBeforeStep == 0)
            let second = try #require(try await registry.advanceAutomatically(model: "fraud", rollout: rollout.id))
            #expect(second.step == 2 && second.observations.isEmpty, "the controller's read holds the step's observations alone")
            #expect(try registry.rollout(model: "fraud").observationsBeforeStep == 1)
            #expect(second.guardStatus.map(\.verdict) == [.unknown], "observed before step 2 began, in the same millisecond")
            #expect(try await registry.advanceAutomatically(model: "fraud", rollout: rollout.id) == nil)

            now = try await registry.observeRollout(model: "fraud", metrics: ["error_rate": 0.01], by: .bob)
            #expect(now.guardStatus.map(\.verdict) == [.holds], "observed after step 2 began, in the same millisecond")
            _ = try await registry.pauseRollout(model: "fraud", by: .bob)
            now = try await registry.resumeRollout(model: "fraud", by: .bob)
            #expect(now.observationsBeforeStep == 2 && now.guardStatus.map(\.verdict) == [.unknown], "a resumed step is judged afresh")
            #expect(JSONCoding.text(now).contains(#""observations_before_step":2"#))
            #expect(try registry.verifyAudit(state: true).state?.ok == true, "the log replays which observations each step judged")
        }
    }

    @Test func theControllersReadsLoadOnlyTheObservationsThatDecide() async throws {
        let clock = TestClock()
        try await withTemporaryRegistry(clock: { clock() }) { registry in
            try await prepare(
                registry,
                policy: """
                    master:
                      rollout: {auto: true, steps: [{percent: 10, hold: 1h}, 100], guards: {error_rate: "<= 0.02"}, failure_limit: 100}
                    """)
            _ = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2), by: .bob)
            for _ in 0..<20 { _ = try await registry.observeRollout(model: "fraud", metrics: ["error_rate": 0.01], by: .bob) }
            var watched = try #require(try registry.rolloutsToWatch().first)
            #expect(watched.observations.count == 16, "the newest judge every guard: the older are not read")
            #expect(watched.guardStatus.map(\.verdict) == [.holds])

            // Twenty that judge nothing, after one that breached: the read goes back for it.
            _ = try await registry.observeRollout(model: "fraud", metrics: ["error_rate": 0.05], by: .bob)
            for _ in 0..<20 { _ = try await registry.observeRollout(model: "fraud", metrics: ["p99_ms": 40], by: .bob) }
            watched = try #require(try registry.rolloutsToWatch().first)
            #expect(watched.observations.count == 41)
            #expect(watched.guardStatus.map(\.verdict) == [.breached] && watched.guardStatus.first?.value == 0.05)
            #expect(try registry.rollout(model: "fraud").observations.count == 41, "an answer shows them all")
        }
    }

    @Test func pauseStopsTheControllerAndResumeStartsTheHoldAgain() async throws {
        let clock = TestClock()
        try await withTemporaryRegistry(clock: { clock() }) { registry in
            try await prepare(registry, policy: Self.heldPolicy)
            let start = clock()
            let rollout = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2), by: .bob)
            clock.advance(milliseconds: 30_000)
            let paused = try await registry.pauseRollout(model: "fraud", by: .bob)
            #expect(paused.next.action == .none && paused.next.reason.contains("paused"))
            clock.advance(milliseconds: 60_000)
            #expect(try await registry.advanceAutomatically(model: "fraud", rollout: rollout.id) == nil)
            #expect(try registry.rolloutsToWatch().isEmpty, "a paused rollout is not the controller's")
            let resumed = try await registry.resumeRollout(model: "fraud", by: .bob)
            #expect(resumed.stepStartedAt == clock.at(start, plus: 90_000) && resumed.holdEndsAt == clock.at(start, plus: 150_000))
            clock.advance(milliseconds: 59_999)
            #expect(try await registry.advanceAutomatically(model: "fraud", rollout: rollout.id) == nil)
            clock.advance(milliseconds: 1)
            #expect(try await registry.advanceAutomatically(model: "fraud", rollout: rollout.id)?.step == 2)
            #expect(try registry.verifyAudit(state: true).state?.ok == true)
        }
    }

    @Test func theServerNeverAdvancesAManualRollout() async throws {
        let clock = TestClock()
        try await withTemporaryRegistry(clock: { clock() }) { registry in
            try await prepare(registry, policy: Self.heldPolicy)
            // The request's choice wins over the policy's.
            let rollout = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2, auto: false), by: .bob)
            #expect(!rollout.auto && rollout.next.action == .none)
            #expect(try registry.allAuditEntries().last?.detail("auto") == .bool(false))
            clock.advance(milliseconds: 3_600_000)
            #expect(try await registry.advanceAutomatically(model: "fraud", rollout: rollout.id) == nil)
            #expect(try registry.rolloutsToWatch().isEmpty)
            // By hand it moves at once, hold or not, and the next step's hold counts from then.
            let advanced = try await registry.advanceRollout(model: "fraud", by: .bob)
            #expect(advanced.step == 2 && advanced.stepStartedAt == clock() && advanced.holdEndsAt == clock.at(clock(), plus: 90_000))
        }
    }

    @Test func stepsWithHoldsFromTheRequestAndTheirJSON() async throws {
        try await withTemporaryRegistry { registry in
            try await prepare(registry, policy: "master: {}\n")
            let steps = try RolloutStep.parseList("5:1500ms,25:2s,100")
            let rollout = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: 2, steps: steps, auto: true), by: .bob)
            #expect(rollout.auto && rollout.steps == steps)
            let json = JSONCoding.text(rollout)
            #expect(json.contains(#""steps":[{"hold":1.5,"percent":5},{"hold":2,"percent":25},100]"#), "\(json)")
            #expect(json.contains(#""hold_ends_at":"#) && json.contains(#""next":{"#))
            #expect(try JSONCoding.decode(Rollout.self, from: json) == rollout)
            let logged: JSONValue = .array([
                .object(["percent": .number(5), "hold": .number(1.5)]), .object(["percent": .number(25), "hold": .number(2)]), .number(100),
            ])
            #expect(try registry.allAuditEntries().last?.detail("steps") == logged)

            // Steps made in code, past any parser, meet the same rule.
            _ = try await registry.abortRollout(model: "fraud", reason: "again", by: .bob)
            for hold in [-1, RolloutStep.maxHoldMilliseconds + 1] {
                let error = await expectError(.invalidArgument) {
                    try await registry.startRollout(
                        model: "fraud", RolloutStartRequest(version: 2, steps: [RolloutStep(percent: 5, holdMilliseconds: hold), 100]), by: .bob)
                }
                #expect(error?.message.contains("a step holds from 0 to a year") == true, "\(String(describing: error))")
            }
        }
    }

    @Test func stepListsAndDurations() throws {
        #expect(try RolloutStep.parseList("5:10m,25:30m,50,100") == [
            RolloutStep(percent: 5, holdMilliseconds: 600_000), RolloutStep(percent: 25, holdMilliseconds: 1_800_000), 50, 100,
        ])
        #expect(RolloutStep.parseDuration("1500ms") == 1500)
        #expect(RolloutStep.parseDuration("1.5s") == 1500)
        #expect(RolloutStep.parseDuration("2h") == 7_200_000)
        #expect(RolloutStep.parseDuration("1d") == 86_400_000)
        #expect(RolloutStep.parseDuration("90") == 90_000, "a bare number is seconds")
        for bad in ["", "m", "-1s", "10 minutes", "1e400s", "400d", "nan", "s5", "1e3s", "0x10", "0x10s", ".5s", "1.s", "inf", "١٢s"] {
            #expect(RolloutStep.parseDuration(bad) == nil, "\(bad)")
        }
        for bad in ["5:soon,100", "five,100", "5:,100", ""] {
            #expect(throws: RegistryError.self, "\(bad)") { try RolloutStep.parseList(bad) }
        }
        #expect(RolloutStep.format(milliseconds: 600_000) == "10m" && RolloutStep.format(milliseconds: 1500) == "1500ms")
        #expect(RolloutStep(percent: 5, holdMilliseconds: 600_000).description == "5% for 10m")
    }

    @Test func policiesWithHoldsAndAuto() throws {
        let policy = try PolicyDocument.parse(
            """
            master:
              rollout:
                auto: true
                steps: [{percent: 5, hold: 10m}, {percent: 25, hold: 90}, 100]
            """)
        #expect(policy.master?.rollout?.auto == true)
        #expect(policy.master?.rollout?.steps == [
            RolloutStep(percent: 5, holdMilliseconds: 600_000), RolloutStep(percent: 25, holdMilliseconds: 90_000), 100,
        ])
        // A stored policy (JSON) reads back the same.
        #expect(try JSONCoding.decode(Policy.self, from: JSONCoding.text(policy)) == policy)
        let cases: [(String, String)] = [
            ("master:\n  rollout:\n    steps: [{percent: 5, hold: soon}, 100]\n", "line 3: master.rollout.steps.hold \"soon\" is not a duration"),
            ("master:\n  rollout:\n    steps: [{hold: 10m}, 100]\n", "line 3: master.rollout.steps a step with a hold needs its percent"),
            ("master:\n  rollout:\n    steps: [{percent: 5, wait: 10m}, 100]\n", "line 3"),
            ("master:\n  rollout:\n    auto: sometimes\n", "line 3: master.rollout.auto must be true or false"),
        ]
        for (document, words) in cases {
            let error = #expect(throws: RegistryError.self) { try PolicyDocument.parse(document) }
            #expect(error?.message.contains(words) == true, "\(error?.message ?? "") should say \(words)")
        }
    }
}

extension AuditEntry {
    /// One field of the entry's details.
    func detail(_ key: String) throws -> JSONValue? {
        try JSONCoding.decode([String: JSONValue].self, from: details)[key]
    }
}

extension TestClock {
    /// `time` plus `milliseconds`.
    func at(_ time: Timestamp, plus milliseconds: Int64) -> Timestamp {
        Timestamp(millisecondsSinceEpoch: time.millisecondsSinceEpoch + milliseconds)
    }
}
