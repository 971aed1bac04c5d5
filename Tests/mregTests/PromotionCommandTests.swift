import Foundation
import Testing

/// `mreg promote`, `policy set|show` and `approve`.
@Suite struct PromotionCommandTests {
    static let transitionKeys: Set<String> = ["model", "branch", "from_version", "to_version", "kind", "transition_id", "gates"]

    static let releasePolicy = """
        release:
          require_reports: [unit]
          thresholds: {accuracy: ">= 0.90"}
        """

    @Test(arguments: RegistryMode.allCases) func promoteTakesTheHeadOfTheBranchBelow(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            for _ in 1...3 { try await registry.register("fraud") }
            let release = try await registry.json("promote", "fraud", "--to", "release", "--reason", "nightly")
            #expect(release.keySet.isSuperset(of: Self.transitionKeys))
            #expect(release.string("model") == "fraud")
            #expect(release.string("branch") == "release")
            #expect(release.isNull("from_version"))
            #expect(release.int("to_version") == 3)
            #expect(release.string("kind") == "promote")
            #expect(release.int("transition_id") != nil)
            #expect(release.objects("gates")?.isEmpty == true)

            let master = try await registry.json("promote", "fraud", "--to", "master")
            #expect(master.int("to_version") == 3)
            #expect(try await registry.branches("fraud") == BranchHeads(develop: 3, release: 3, master: 3))

            let history = try await registry.json("history", "fraud", "--branch", "release")
            #expect(history.objects("transitions")?.first?.string("reason") == "nightly")
        }
    }

    @Test(arguments: RegistryMode.allCases) func promoteANamedVersion(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            for _ in 1...3 { try await registry.register("fraud") }
            let promoted = try await registry.json("promote", "fraud", "--to", "release", "--version", "1")
            #expect(promoted.int("to_version") == 1)

            let human = try await registry.mreg("promote", "fraud", "--to", "release", "--version", "2")
            #expect(human.status == 0, "\(human)")
            #expect(human.stdout.contains("Promoted fraud release: v1 → v2"), "\(human)")
            #expect(try await registry.branches("fraud") == BranchHeads(develop: 3, release: 2, master: nil))

            let missing = try await registry.mreg("promote", "fraud", "--to", "release", "--version", "9")
            #expect(missing.status == 3, "\(missing)")
            #expect(missing.stderr.contains("model \"fraud\" has no version 9"), "\(missing)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func promotingTheVersionTheBranchHoldsIsAConflict(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            _ = try await registry.json("promote", "fraud", "--to", "release")
            let entries = try await registry.auditEntryCount()

            let again = try await registry.mreg("promote", "fraud", "--to", "release")
            #expect(again.status == 4, "\(again)")
            #expect(again.stderr.contains("branch release of model \"fraud\" already holds version 1"), "\(again)")
            #expect(again.stdout.isEmpty)
            #expect(try await registry.auditEntryCount() == entries, "a refused promotion is not audited")
        }
    }

    @Test(arguments: RegistryMode.allCases) func aStaleExpectIsAConflict(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            try await registry.register("fraud")
            _ = try await registry.json("promote", "fraud", "--to", "release", "--version", "1", "--expect", "0")
            let entries = try await registry.auditEntryCount()

            let stale = try await registry.mreg("promote", "fraud", "--to", "release", "--expect", "0")
            #expect(stale.status == 4, "\(stale)")
            #expect(stale.stderr.contains("expected"), "\(stale)")
            #expect(try await registry.branches("fraud").release == 1)
            #expect(try await registry.auditEntryCount() == entries)

            let current = try await registry.json("promote", "fraud", "--to", "release", "--expect", "1")
            #expect(current.int("from_version") == 1)
            #expect(current.int("to_version") == 2)
        }
    }

    @Test(arguments: RegistryMode.allCases) func skippingABranchIsRefused(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            let outcome = try await registry.mreg("promote", "fraud", "--to", "master", "--version", "1")
            #expect([4, 5].contains(outcome.status), "\(outcome)")
            #expect(outcome.stderr.contains("never been on release"), "\(outcome)")
            #expect(try await registry.branches("fraud").master == nil)

            let unknown = try await registry.mreg("promote", "ghost", "--to", "release")
            #expect(unknown.status == 3, "\(unknown)")
            #expect(unknown.stderr.contains("model \"ghost\" does not exist"), "\(unknown)")

            let badBranch = try await registry.mreg("promote", "fraud", "--to", "production")
            #expect(badBranch.status == 2, "\(badBranch)")
            #expect(badBranch.stderr.contains("'production'"), "\(badBranch)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func failingGatesDenyWithTheGateTable(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud", "--metric", "accuracy=0.85")
            _ = try await registry.json("policy", "set", "fraud", "--file", try registry.write("policy.yaml", Self.releasePolicy))
            let entries = try await registry.auditEntryCount()

            let denied = try await registry.mreg("promote", "fraud", "--to", "release")
            #expect(denied.status == 5, "\(denied)")
            #expect(denied.stderr.contains("did not pass the release gates"), "\(denied)")
            for cell in ["GATE", "OBSERVED", "REQUIRED", "require_reports.unit", "thresholds.accuracy", "FAIL", "0.85", ">= 0.9"] {
                #expect(denied.stderr.contains(cell), "gate table lacks \(cell): \(denied)")
            }
            #expect(try await registry.branches("fraud").release == nil)
            #expect(try await registry.auditEntryCount() == entries)
        }
    }

    @Test(arguments: RegistryMode.allCases) func dryRunReportsEveryGateAndMovesNothing(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud", "--metric", "accuracy=0.85")
            _ = try await registry.json("policy", "set", "fraud", "--file", try registry.write("policy.yaml", Self.releasePolicy))
            let entries = try await registry.auditEntryCount()

            let failing = try await registry.mreg("promote", "fraud", "--to", "release", "--dry-run", "--json")
            #expect(failing.status == 5, "a dry run that would be refused fails like the real thing: \(failing)")
            let report = try failing.json()
            #expect(report.bool("dry_run") == true)
            #expect(report.bool("passed") == false)
            #expect(report.isNull("transition_id"))
            let gates = try #require(report.objects("gates"))
            #expect(gates.compactMap { $0.string("name") } == ["require_reports.unit", "thresholds.accuracy"])
            for gate in gates {
                #expect(gate.keySet.isSuperset(of: ["name", "passed", "observed", "required"]), "\(gate)")
                #expect(gate.bool("passed") == false)
            }
            let threshold = try #require(gates.first { $0.string("name") == "thresholds.accuracy" })
            #expect(threshold.double("observed") == 0.85)
            #expect(threshold.string("required") == ">= 0.9")
            #expect(try await registry.auditEntryCount() == entries, "a dry run writes nothing")

            _ = try await registry.json("report", "add", "fraud", "1", "--suite", "unit", "--status", "passed")
            try await registry.register("fraud", "--metric", "accuracy=0.95")
            _ = try await registry.json("report", "add", "fraud", "2", "--suite", "unit", "--status", "passed")
            let entriesBefore = try await registry.auditEntryCount()
            let passing = try await registry.json("promote", "fraud", "--to", "release", "--dry-run")
            #expect(passing.bool("dry_run") == true)
            #expect(passing.bool("passed") == true)
            #expect(passing.int("to_version") == 2)
            #expect(passing.objects("gates")?.allSatisfy { $0.bool("passed") == true } == true)
            #expect(try await registry.branches("fraud").release == nil, "a dry run moves nothing")
            #expect(try await registry.auditEntryCount() == entriesBefore)
        }
    }

    @Test(arguments: RegistryMode.allCases) func forcePassesFailingGatesWithAReason(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud", "--metric", "accuracy=0.85")
            _ = try await registry.json("policy", "set", "fraud", "--file", try registry.write("policy.yaml", Self.releasePolicy))

            let noReason = try await registry.mreg("promote", "fraud", "--to", "release", "--force")
            #expect(noReason.status == 2, "\(noReason)")
            #expect(noReason.stderr.contains("reason"), "\(noReason)")
            #expect(try await registry.branches("fraud").release == nil)

            let forced = try await registry.json("promote", "fraud", "--to", "release", "--force", "--reason", "hotfix for incident 42")
            #expect(forced.string("kind") == "force")
            #expect(forced.int("to_version") == 1)
            #expect(forced.objects("gates")?.contains { $0.bool("passed") == false } == true, "the overridden gates are reported")
            #expect(try await registry.branches("fraud").release == 1)

            let history = try await registry.json("history", "fraud", "--branch", "release")
            let last = try #require(history.objects("transitions")?.first)
            #expect(last.string("kind") == "force")
            #expect(last.string("reason") == "hotfix for incident 42")
        }
    }

    @Test(arguments: RegistryMode.allCases) func policySetAndShowAreVersioned(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            let first = try await registry.json("policy", "set", "fraud", "--file", try registry.write("p1.yaml", Self.releasePolicy), actor: "admin")
            #expect(first.int("revision") == 1)
            #expect(first.string("created_by") == "admin")
            #expect(isSHA256Hex(first.string("sha256")))
            #expect(first.object("policy")?.object("release")?.object("thresholds")?.string("accuracy") == ">= 0.9")

            let json = #"{"master": {"approvals": {"count": 2, "exclude_registrant": true}}}"#
            let second = try await registry.json("policy", "set", "fraud", "--file", try registry.write("p2.json", json))
            #expect(second.int("revision") == 2)

            let current = try await registry.json("policy", "show", "fraud")
            #expect(current.int("revision") == 2)
            #expect(current.object("policy")?.object("master")?.object("approvals")?.int("count") == 2)
            #expect(current.object("policy")?.object("release") == nil)

            let earlier = try await registry.json("policy", "show", "fraud", "--revision", "1")
            #expect(earlier.int("revision") == 1)
            #expect(earlier.object("policy")?.object("release") != nil)

            let human = try await registry.mreg("policy", "show", "fraud")
            #expect(human.status == 0)
            #expect(human.stdout.contains("revision 2"), "\(human)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func policyErrors(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            let none = try await registry.mreg("policy", "show", "fraud")
            #expect(none.status == 3, "\(none)")
            #expect(none.stderr.contains("has no policy"), "\(none)")

            let badComparison = try registry.write("bad.yaml", #"release: {thresholds: {accuracy: "about 0.9"}}"#)
            let invalid = try await registry.mreg("policy", "set", "fraud", "--file", badComparison)
            #expect(invalid.status == 2, "\(invalid)")
            #expect(invalid.stderr.contains("about 0.9"), "\(invalid)")

            let unknownModel = try await registry.mreg("policy", "set", "ghost", "--file", try registry.write("ok.yaml", Self.releasePolicy))
            #expect(unknownModel.status == 3, "\(unknownModel)")
            #expect(unknownModel.stderr.contains("model \"ghost\" does not exist"), "\(unknownModel)")

            let missingFile = try await registry.mreg("policy", "set", "fraud", "--file", registry.file("nope.yaml"))
            #expect([1, 2].contains(missingFile.status), "\(missingFile)")
            #expect(missingFile.stderr.contains("nope.yaml"), "\(missingFile)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func approvalsByOthersThanTheRegistrantOpenMaster(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud", actor: "alice")
            let policy = "master: {approvals: {count: 2, exclude_registrant: true}}"
            _ = try await registry.json("policy", "set", "fraud", "--file", try registry.write("policy.yaml", policy))
            _ = try await registry.json("promote", "fraud", "--to", "release")

            let unapproved = try await registry.mreg("promote", "fraud", "--to", "master")
            #expect(unapproved.status == 5, "\(unapproved)")
            #expect(unapproved.stderr.contains("approvals"), "\(unapproved)")

            let own = try await registry.json("approve", "fraud", "1", "--to", "master", actor: "alice")
            #expect(own.string("actor") == "alice")
            let bob = try await registry.json("approve", "fraud", "1", "--to", "master", "--comment", "eval looks right", actor: "bob")
            #expect(bob.string("actor") == "bob")
            #expect(bob.string("comment") == "eval looks right")
            #expect(bob.int("version") == 1)
            #expect((bob["approvers"] as? [String]) == ["alice", "bob"])

            let dryRun = try await registry.mreg("promote", "fraud", "--to", "master", "--dry-run", "--json")
            #expect(dryRun.status == 5, "the registrant's approval does not count: \(dryRun)")
            #expect(try dryRun.json().objects("gates")?.first?.int("observed") == 1)

            let twice = try await registry.mreg("approve", "fraud", "1", "--to", "master", actor: "bob")
            #expect(twice.status == 4, "\(twice)")
            #expect(twice.stderr.contains("bob already approved"), "\(twice)")

            _ = try await registry.json("approve", "fraud", "1", "--to", "master", actor: "carol")
            let promoted = try await registry.json("promote", "fraud", "--to", "master")
            let gate = try #require(promoted.objects("gates")?.first)
            #expect(gate.string("name") == "approvals")
            #expect(gate.bool("passed") == true)
            #expect(gate.int("observed") == 2)
            #expect(try await registry.branches("fraud").master == 1)

            let missing = try await registry.mreg("approve", "fraud", "9", "--to", "master")
            #expect(missing.status == 3, "\(missing)")
            #expect(missing.stderr.contains("model \"fraud\" has no version 9"), "\(missing)")
        }
    }
}
