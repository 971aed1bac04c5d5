import Foundation
import MregTestSupport
import Testing

/// `mreg events` (docs/EVENTS.md): the log as events, on a file and through a server, printed
/// as it happens with `--follow`.
@Suite struct EventsCommandTests {
    static func entries(_ outcome: ProcessOutcome) throws -> [[String: Any]] {
        try outcome.stdout.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
    }

    @Test(arguments: RegistryMode.allCases) func eventsAreTheLogOldestFirstAndFilterByModelAndType(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await AuditCommandTests.seed(registry)
            let export = try await registry.mreg("audit", "export")
            let exported = try Self.entries(export)

            let all = try await registry.mreg("events", "--since", "0", "--json")
            #expect(all.status == 0, "\(all)")
            let events = try Self.entries(all)
            #expect(events.compactMap { $0.int("seq") } == exported.compactMap { $0.int("seq") })
            #expect(events.map { $0.string("hash") } == exported.map { $0.string("hash") })
            #expect(events.allSatisfy { $0["details"] is [String: Any] }, "data is the entry as the audit log writes it")

            let after = try await registry.mreg("events", "--since", String(events.count - 2), "--json")
            #expect(try Self.entries(after).compactMap { $0.int("seq") } == [events.count - 1, events.count])

            let chosen = try await registry.mreg("events", "--since", "0", "--model", "fraud", "--types", "branch.*,model.create", "--json")
            #expect(chosen.status == 0, "\(chosen)")
            #expect(try Self.entries(chosen).compactMap { $0.string("action") } == ["model.create", "branch.promote"])

            let human = try await registry.mreg("events", "--since", "0", "--model", "fraud")
            let lines = human.stdout.split(separator: "\n")
            #expect(lines.count == 3, "\(human)")
            #expect(lines.last?.contains("branch.promote  fraud v1 → release  by bob") == true, "\(human)")

            for bad in [["--types", "a b"], ["--types", ""], ["--since", "-1"]] {
                let refused = try await registry.mreg(arguments: ["events"] + bad)
                #expect(refused.status == 2, "\(bad): \(refused)")
            }

            // Past the newest event: the caller has seen a log this one is not (exit 4, conflict).
            for follow in [[], ["--follow"]] {
                let ahead = try await registry.mreg(arguments: ["events", "--since", String(events.count + 1)] + follow)
                #expect(ahead.status == 4, "\(follow): \(ahead)")
                #expect(ahead.stderr.contains("past the newest event"), "\(ahead)")
            }
        }
    }

    /// `--follow` prints each new change as it is committed, one line at a time into a pipe.
    @Test(arguments: RegistryMode.allCases) func followPrintsChangesAsTheyHappen(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await AuditCommandTests.seed(registry)
            let head = try #require(try await registry.json("audit", "verify").int("entries"))
            let follower = try await BackgroundProgram(
                MregBinary.path, ["events", "--follow", "--since", String(head), "--json"], environment: try registry.mregEnvironment(),
                directory: registry.directory)
            defer { follower.stop() }
            try await registry.register("fraud", actor: "alice")
            _ = try await registry.json("promote", "fraud", "--to", "release", actor: "bob")
            let lines = try await follower.lines(2)
            let events = try lines.map { try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
            #expect(events.compactMap { $0.int("seq") } == [head + 1, head + 2])
            #expect(events.compactMap { $0.string("action") } == ["version.register", "branch.promote"])
        }
    }
}
