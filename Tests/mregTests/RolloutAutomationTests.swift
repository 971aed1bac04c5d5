import Foundation
import MregTestSupport
import Testing

/// Rollouts that advance themselves inside a real `mreg serve` (contract section 11,
/// docs/ROLLOUT.md): the holds are timed against the audit entries' own times.
struct RolloutAutomationTests {
    /// v1 on master, v2 on release.
    static func prepare(_ registry: TemporaryRegistry) async throws {
        _ = try await registry.register("fraud")
        _ = try await registry.json("promote", "fraud", "--to", "release", "--version", "1")
        _ = try await registry.json("promote", "fraud", "--to", "master")
        _ = try await registry.register("fraud")
        _ = try await registry.json("promote", "fraud", "--to", "release", "--version", "2")
    }

    /// The model's rollout entries, oldest first: action, actor, and when (milliseconds).
    static func rolloutEntries(_ registry: TemporaryRegistry) async throws -> [(action: String, actor: String, at: Int64, details: [String: Any])] {
        let log = try await registry.mreg("audit", "log", "--model", "fraud", "--limit", "1000", "--json")
        try #require(log.status == 0, "\(log)")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return try log.items().reversed().compactMap { entry in
            guard let action = entry.string("action"), action.hasPrefix("rollout.") else { return nil }
            let at = try #require(entry.string("at").flatMap { formatter.date(from: $0) })
            return (action, entry.string("actor") ?? "", Int64((at.timeIntervalSince1970 * 1000).rounded()), entry.object("details") ?? [:])
        }
    }

    /// Waits up to `seconds` for the rollout's state to be `state`.
    static func waitFor(_ registry: TemporaryRegistry, state: String, seconds: Int = 20) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while true {
            let status = try await registry.json("rollout", "status", "fraud")
            if status.string("state") == state || ContinuousClock.now > deadline { return status }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    @Test func anAutomaticRolloutRunsToCompletionByItself() async throws {
        try await withTemporaryRegistry(.server) { registry in
            try await Self.prepare(registry)
            let started = try await registry.json("rollout", "start", "fraud", "--version", "2", "--steps", "20:1s,60:1500ms,100", "--auto")
            #expect(started.bool("auto") == true && started.int("percent") == 20)
            #expect(started.object("next")?.string("action") == "advance", "\(started)")
            #expect(started.string("hold_ends_at") != nil)
            let human = try await registry.mreg("rollout", "status", "fraud")
            #expect(human.stdout.contains("by itself (auto)") && human.stdout.contains("next:") && human.stdout.contains("20% for 1s"), "\(human)")

            let done = try await Self.waitFor(registry, state: "completed")
            #expect(done.string("state") == "completed", "\(done)")
            #expect(try await registry.branches("fraud").master == 2)
            let entries = try await Self.rolloutEntries(registry)
            #expect(entries.map { "\($0.actor) \($0.action)" } == [
                "tester rollout.start", "system rollout.advance", "system rollout.advance", "system rollout.complete",
            ])
            let gaps = zip(entries.dropFirst(), entries).map { $0.at - $1.at }
            #expect(gaps[0] >= 1000 && gaps[1] >= 1500, "each step held its time: \(gaps) ms")
            #expect(gaps.allSatisfy { $0 < 10_000 }, "and was left soon after: \(gaps) ms")
            #expect(entries[1].details["automatic"] as? Bool == true)
            let history = try await registry.json("rollout", "history", "fraud")
            #expect(try #require(history["items"] as? [[String: Any]]).compactMap { $0.string("action") } == [
                "rollout.start", "rollout.advance", "rollout.advance", "rollout.complete", "branch.rollout_complete",
            ])
            let table = try await registry.mreg("rollout", "history", "fraud")
            #expect(table.status == 0 && table.stdout.contains("system") && table.stdout.contains("automatic=true"), "\(table)")
            let verify = try await registry.json("audit", "verify", "--state")
            #expect(verify.bool("ok") == true, "\(verify)")
        }
    }

    @Test func holdsLiveInTheDatabaseAcrossRestarts() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.prepare(registry)
            // Started on the file with no server running: due, but nothing moves.
            _ = try await registry.json("rollout", "start", "fraud", "--version", "2", "--steps", "50:1s,80:15s,100", "--auto")
            try await Task.sleep(for: .milliseconds(1500))
            let waiting = try await registry.json("rollout", "status", "fraud")
            #expect(waiting.int("step") == 1 && waiting.object("next")?.string("action") == "advance", "\(waiting)")

            var server = try await ServeProcess(database: registry.database, directory: registry.directory)
            defer { server.stop() }
            let deadline = ContinuousClock.now + .seconds(30)
            while try await registry.json("rollout", "status", "fraud").int("step") != 2, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            // Killed early in the second step's hold, down for a second, started again. The hold is
            // long so that a machine busy with other tests still kills the server within it.
            server.stop()
            try await Task.sleep(for: .seconds(1))
            let killed = try await registry.json("rollout", "status", "fraud")
            #expect(killed.int("step") == 2, "\(killed)")
            server = try await ServeProcess(database: registry.database, directory: registry.directory)
            let up = Int64((Date().timeIntervalSince1970 * 1000).rounded())

            let done = try await Self.waitFor(registry, state: "completed", seconds: 30)
            #expect(done.string("state") == "completed", "\(done)")
            let entries = try await Self.rolloutEntries(registry)
            #expect(entries.map(\.action) == ["rollout.start", "rollout.advance", "rollout.advance", "rollout.complete"])
            let stepTwo = entries[1].at, stepThree = entries[2].at
            #expect(stepTwo - entries[0].at >= 1000)
            #expect(stepThree - stepTwo >= 15_000, "the hold was served in full: \(stepThree - stepTwo) ms")
            // Counted from the step's start, not from the new server's: a restarted hold would end
            // fifteen seconds after the server came up, at least a second after the step's.
            #expect(stepThree < up + 14_000, "step 3 came \(stepThree - up) ms after the restart")
        }
    }

    @Test func twoServersOnOneFileNeverTakeAStepTwice() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.prepare(registry)
            let first = try await ServeProcess(database: registry.database, directory: registry.directory)
            defer { first.stop() }
            let second = try await ServeProcess(database: registry.database, directory: registry.directory)
            defer { second.stop() }
            _ = try await registry.json(
                "rollout", "start", "fraud", "--version", "2", "--steps", "10:400ms,20:400ms,30:400ms,40:400ms,60:400ms,80:400ms,100", "--auto")

            let done = try await Self.waitFor(registry, state: "completed", seconds: 30)
            #expect(done.string("state") == "completed", "\(done)")
            let entries = try await Self.rolloutEntries(registry)
            let advances = entries.filter { $0.action == "rollout.advance" }
            #expect(advances.compactMap { $0.details["step"] as? Int } == [2, 3, 4, 5, 6, 7], "each step once: \(entries.map(\.action))")
            #expect(entries.filter { $0.action == "rollout.complete" }.count == 1)
            // Every step but the last (100, no hold: completed at once) held its 400 ms.
            let gaps = zip(entries.dropFirst(), entries).map { $0.at - $1.at }.dropLast()
            #expect(gaps.count == 6 && gaps.allSatisfy { $0 >= 400 }, "no step was left before its hold ended: \(gaps) ms")
            #expect(try await registry.branches("fraud").master == 2)
            #expect(first.isRunning && second.isRunning)
        }
    }
}
