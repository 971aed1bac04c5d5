import Foundation
import Testing

/// `mreg rollback`, `diff` and `history`.
@Suite struct RollbackAndHistoryTests {
    /// Registers `count` versions, each promoted to release and master, so master has held v1, v2, … in turn.
    static func promoteThrough(_ count: Int, in registry: TemporaryRegistry) async throws {
        for _ in 1...count {
            try await registry.register("fraud")
            _ = try await registry.json("promote", "fraud", "--to", "release")
            _ = try await registry.json("promote", "fraud", "--to", "master")
        }
    }

    @Test(arguments: RegistryMode.allCases) func rollbackWalksBackThroughPromotionHistory(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await Self.promoteThrough(3, in: registry)

            let first = try await registry.json("rollback", "fraud", "--reason", "error rate doubled")
            #expect(first.keySet.isSuperset(of: PromotionCommandTests.transitionKeys))
            #expect(first.string("kind") == "rollback")
            #expect(first.string("branch") == "master")
            #expect(first.int("from_version") == 3)
            #expect(first.int("to_version") == 2)
            #expect(first.int("transition_id") != nil)

            let second = try await registry.mreg("rollback", "fraud", "--reason", "still bad")
            #expect(second.status == 0, "\(second)")
            #expect(second.stdout.contains("Rolled back fraud master: v2 → v1"), "\(second)")
            #expect(try await registry.branches("fraud") == BranchHeads(develop: 3, release: 3, master: 1))

            let entries = try await registry.auditEntryCount()
            let third = try await registry.mreg("rollback", "fraud", "--reason", "once more")
            #expect(third.status == 4, "\(third)")
            #expect(third.stderr.contains("nothing before it to roll back to"), "\(third)")
            #expect(try await registry.branches("fraud").master == 1)
            #expect(try await registry.auditEntryCount() == entries)
        }
    }

    @Test(arguments: RegistryMode.allCases) func rollbackToANamedVersion(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await Self.promoteThrough(3, in: registry)
            let back = try await registry.json("rollback", "fraud", "--to", "1", "--reason", "known good")
            #expect(back.int("from_version") == 3)
            #expect(back.int("to_version") == 1)

            let forward = try await registry.json("rollback", "fraud", "--to", "3", "--reason", "it was fine after all")
            #expect(forward.int("to_version") == 3)

            try await registry.register("fraud")
            let neverThere = try await registry.mreg("rollback", "fraud", "--to", "4", "--reason", "x")
            #expect(neverThere.status == 4, "\(neverThere)")
            #expect(neverThere.stderr.contains("version 4 has never been on master"), "\(neverThere)")

            let missing = try await registry.mreg("rollback", "fraud", "--to", "7", "--reason", "x")
            #expect(missing.status == 3, "\(missing)")
            #expect(missing.stderr.contains("model \"fraud\" has no version 7"), "\(missing)")
            #expect(try await registry.branches("fraud").master == 3)
        }
    }

    @Test(arguments: RegistryMode.allCases) func rollbackAnotherBranch(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await Self.promoteThrough(2, in: registry)
            let release = try await registry.json("rollback", "fraud", "--branch", "release", "--reason", "bad calibration")
            #expect(release.string("branch") == "release")
            #expect(release.int("from_version") == 2)
            #expect(release.int("to_version") == 1)
            #expect(try await registry.branches("fraud") == BranchHeads(develop: 2, release: 1, master: 2))
        }
    }

    @Test(arguments: RegistryMode.allCases) func rollbackNeedsAReasonAndAModel(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await Self.promoteThrough(2, in: registry)
            let noReason = try await registry.mreg("rollback", "fraud")
            #expect(noReason.status == 2, "\(noReason)")
            #expect(noReason.stderr.contains("--reason"), "\(noReason)")
            #expect(try await registry.branches("fraud").master == 2)

            let unknown = try await registry.mreg("rollback", "ghost", "--reason", "x")
            #expect(unknown.status == 3, "\(unknown)")
            #expect(unknown.stderr.contains("model \"ghost\" does not exist"), "\(unknown)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func diffShowsParamsMetricsTagsReportsAndLineage(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register(
                "fraud", "--param", "lr=0.1", "--param", "depth=3", "--metric", "accuracy=0.80", "--tag", "team=risk", artifact: "s3://a/1")
            try await registry.register(
                "fraud", "--param", "lr=0.2", "--param", "batch=64", "--metric", "accuracy=0.88", "--metric", "f1=0.7", "--parent", "1",
                artifact: "s3://a/2")
            _ = try await registry.json("report", "add", "fraud", "1", "--suite", "unit", "--status", "failed")
            _ = try await registry.json("report", "add", "fraud", "2", "--suite", "unit", "--status", "passed")

            let diff = try await registry.json("diff", "fraud", "1", "2")
            #expect(diff.keySet.isSuperset(of: ["from", "to", "params", "metrics", "reports", "score", "descends"]))
            #expect(diff.object("from")?.int("version") == 1)
            #expect(diff.object("to")?.int("version") == 2)
            let params = try #require(diff.object("params"))
            #expect(params.object("added")?.string("batch") == "64")
            #expect(params.object("removed")?.string("depth") == "3")
            #expect(params.object("changed")?.object("lr")?.string("from") == "0.1")
            #expect(params.object("changed")?.object("lr")?.string("to") == "0.2")
            let accuracy = try #require(diff.object("metrics")?.object("accuracy"))
            #expect(accuracy.double("from") == 0.8)
            #expect(accuracy.double("to") == 0.88)
            #expect(abs((accuracy.double("delta") ?? 0) - 0.08) < 1e-9)
            #expect(abs((accuracy.double("relative") ?? 0) - 0.1) < 1e-9)
            #expect(diff.object("metrics")?.object("f1")?.isNull("from") == true)
            #expect(diff.object("tags")?.object("removed")?.string("team") == "risk")
            #expect(diff.object("reports")?.object("unit") != nil)
            #expect(diff.bool("descends") == true)

            let reverse = try await registry.json("diff", "fraud", "2", "1")
            #expect(reverse.bool("descends") == false)

            let human = try await registry.mreg("diff", "fraud", "1", "2")
            #expect(human.status == 0)
            #expect(human.stdout.contains("v2 descends from v1") && human.stdout.contains("accuracy"), "\(human)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func diffAcceptsBranchesAndBranchAtTime(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await Self.promoteThrough(1, in: registry)
            let between = try await instantBetweenSteps()
            try await registry.register("fraud")
            _ = try await registry.json("promote", "fraud", "--to", "release")

            let branches = try await registry.json("diff", "fraud", "master", "release")
            #expect(branches.object("from")?.int("version") == 1)
            #expect(branches.object("to")?.int("version") == 2)

            let atTime = try await registry.json("diff", "fraud", "release@\(between)", "release")
            #expect(atTime.object("from")?.int("version") == 1)
            #expect(atTime.object("to")?.int("version") == 2)

            let missing = try await registry.mreg("diff", "fraud", "1", "9")
            #expect(missing.status == 3, "\(missing)")
            #expect(missing.stderr.contains("model \"fraud\" has no version 9"), "\(missing)")

            let malformed = try await registry.mreg("diff", "fraud", "1", "sideways")
            #expect(malformed.status == 2, "\(malformed)")
            #expect(malformed.stderr.contains("sideways"), "\(malformed)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func historyListsTransitionsNewestFirst(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await Self.promoteThrough(2, in: registry)
            _ = try await registry.json("rollback", "fraud", "--reason", "regression", actor: "oncall")

            let history = try await registry.json("history", "fraud")
            let transitions = try #require(history.objects("transitions"))
            #expect(transitions.count == 7)
            #expect(transitions.compactMap { $0.string("kind") } == ["rollback", "promote", "promote", "register", "promote", "promote", "register"])
            let ids = transitions.compactMap { $0.int("id") }
            #expect(ids == ids.sorted(by: >), "newest first")
            let newest = try #require(transitions.first)
            #expect(newest.keySet.isSuperset(of: ["kind", "branch", "from_version", "to_version", "actor", "reason", "at"]))
            #expect(newest.string("actor") == "oncall")
            #expect(newest.string("reason") == "regression")
            #expect(newest.string("branch") == "master")
            #expect(isRFC3339Milliseconds(newest.string("at")))

            let master = try await registry.json("history", "fraud", "--branch", "master")
            #expect(master.objects("transitions")?.allSatisfy { $0.string("branch") == "master" } == true)
            #expect(master.objects("transitions")?.count == 3)

            let limited = try await registry.json("history", "fraud", "--limit", "2")
            #expect(limited.objects("transitions")?.count == 2)
            let cursor = try #require(limited.string("next_cursor"))
            let next = try await registry.json("history", "fraud", "--limit", "2", "--cursor", cursor)
            #expect(next.objects("transitions")?.first?.int("id") == ids[2])

            let human = try await registry.mreg("history", "fraud")
            #expect(human.status == 0)
            #expect(human.stdout.contains("KIND") && human.stdout.contains("rollback"), "\(human)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func historyAtATimeShowsWhatEachBranchHeld(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            let beforeAnything = try await instantBetweenSteps()
            try await Self.promoteThrough(1, in: registry)
            let afterFirst = try await instantBetweenSteps()
            try await registry.register("fraud")
            _ = try await registry.json("promote", "fraud", "--to", "release")

            let then = try await registry.json("history", "fraud", "--at", afterFirst)
            let branches = try #require(then.object("branches"))
            #expect(branches.keySet == ["develop", "release", "master"])
            #expect(branches.int("develop") == 1)
            #expect(branches.int("release") == 1)
            #expect(branches.int("master") == 1)

            let now = try await registry.json("history", "fraud", "--at", rfc3339(Date()))
            #expect(now.object("branches")?.int("develop") == 2)
            #expect(now.object("branches")?.int("release") == 2)
            #expect(now.object("branches")?.int("master") == 1)

            let empty = try await registry.json("history", "fraud", "--at", beforeAnything)
            #expect(empty.object("branches")?.isNull("master") == true)

            let badTime = try await registry.mreg("history", "fraud", "--at", "yesterday")
            #expect(badTime.status == 2, "\(badTime)")
            #expect(badTime.stderr.contains("yesterday"), "\(badTime)")

            let unknown = try await registry.mreg("history", "ghost")
            #expect(unknown.status == 3, "\(unknown)")
            #expect(unknown.stderr.contains("model \"ghost\" does not exist"), "\(unknown)")
        }
    }
}
