import Foundation
import Testing

@testable import RegistryCore

/// `promote`: the ladder develop → release → master, optimistic concurrency, and `force`.
@Suite struct PromotionTests {
    @Test func promotingToReleaseTakesTheDevelopHead() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            try await registry.registerVersion()
            let result = try await registry.promote(model: "fraud-scorer", PromoteRequest(to: .release, reason: "nightly"), by: .eve)
            #expect(result.toVersion == 2)
            #expect(result.fromVersion == nil)
            #expect(result.branch == .release)
            #expect(result.kind == .promote)
            #expect(result.dryRun == false)
            #expect(result.passed)
            #expect(result.transitionID != nil)
            #expect(try registry.model(named: "fraud-scorer").branches == BranchHeads(develop: 2, release: 2, master: nil))
            let transition = try #require(try registry.history(model: "fraud-scorer").transitions.first)
            #expect(transition.id == result.transitionID)
            #expect(transition.kind == .promote)
            #expect(transition.actor == "eve")
            #expect(transition.reason == "nightly")
        }
    }

    @Test func promotingToMasterTakesTheReleaseHead() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            try await registry.registerVersion()
            try await registry.promoteVersion(to: .release, version: 1)
            try await registry.registerVersion()  // develop = 3, release = 1
            let result = try await registry.promoteVersion(to: .master, by: .bob)
            #expect(result.toVersion == 1)
            #expect(try registry.model(named: "fraud-scorer").branches == BranchHeads(develop: 3, release: 1, master: 1))
            // Then release moves on and master follows it.
            try await registry.promoteVersion(to: .release)
            let second = try await registry.promoteVersion(to: .master, by: .bob)
            #expect(second.fromVersion == 1)
            #expect(second.toVersion == 3)
        }
    }

    @Test func aVersionMustHaveBeenOnTheBranchBelow() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            try await registry.registerVersion()
            try await registry.promoteVersion(to: .release, version: 1)
            // Version 2 skips release.
            let error = await expectError(.conflict) { try await registry.promoteVersion(to: .master, version: 2) }
            #expect(error?.message.contains("release") == true)
            #expect(try registry.model(named: "fraud-scorer").branches.master == nil)
            // Having been on release once is enough, even after release moved on.
            try await registry.promoteVersion(to: .release, version: 2)
            #expect(try await registry.promoteVersion(to: .master, version: 1).toVersion == 1)
        }
    }

    @Test func promotingFromAnEmptyBranchIsAConflict() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            await expectError(.conflict) { try await registry.promoteVersion(to: .master) }
            await expectError(.notFound) { try await registry.promoteVersion(to: .release, version: 5) }
            await expectError(.notFound) { try await registry.promoteVersion("nope", to: .release) }
        }
    }

    @Test func promotingWhatTheBranchAlreadyHoldsIsAConflict() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            try await registry.promoteVersion(to: .release)
            let error = await expectError(.conflict) { try await registry.promoteVersion(to: .release) }
            #expect(error?.message.contains("already holds version 1") == true)
            #expect(try registry.history(model: "fraud-scorer", branch: .release).transitions.count == 1)
        }
    }

    @Test func aStaleExpectIsPreconditionFailed() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            try await registry.registerVersion()
            // Release holds nothing: 0 is right, anything else stale.
            await expectError(.preconditionFailed) {
                try await registry.promote(model: "fraud-scorer", PromoteRequest(to: .release, version: 1, expect: 2), by: .alice)
            }
            _ = try await registry.promote(model: "fraud-scorer", PromoteRequest(to: .release, version: 1, expect: 0), by: .alice)
            let error = await expectError(.preconditionFailed) {
                try await registry.promote(model: "fraud-scorer", PromoteRequest(to: .release, version: 2, expect: 0), by: .alice)
            }
            #expect(error?.message.contains("version 1") == true)
            #expect(try registry.model(named: "fraud-scorer").branches.release == 1)
            let moved = try await registry.promote(model: "fraud-scorer", PromoteRequest(to: .release, version: 2, expect: 1), by: .alice)
            #expect(moved.toVersion == 2)
        }
    }

    @Test func promotingToDevelopIsInvalidArgument() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            await expectError(.invalidArgument) { try await registry.promoteVersion(to: .develop, version: 1) }
        }
    }

    @Test func promotionRightsFollowTheRoles() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            await expectError(.permissionDenied) { try await registry.promoteVersion(to: .release, by: .ruth) }
            try await registry.promoteVersion(to: .release, by: .eve)
            await expectError(.permissionDenied) { try await registry.promoteVersion(to: .master, by: .eve) }
            #expect(try await registry.promoteVersion(to: .master, by: .bob).toVersion == 1)
        }
    }

    @Test func forceNeedsTheAdminRoleAndAReason() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            await expectError(.permissionDenied) {
                try await registry.promote(model: "fraud-scorer", PromoteRequest(to: .release, reason: "urgent", force: true), by: .bob)
            }
            for reason in ["", "   "] {
                await expectError(.invalidArgument) {
                    try await registry.promote(model: "fraud-scorer", PromoteRequest(to: .release, reason: reason, force: true), by: .alice)
                }
            }
            #expect(try registry.model(named: "fraud-scorer").branches.release == nil)
        }
    }

    @Test func aFailingGateRefusesThePromotionWithTheGateReport() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion(metrics: ["accuracy": 0.5])
            _ = try await registry.setPolicy(model: "fraud-scorer", document: "release:\n  thresholds: {accuracy: \">= 0.9\"}\n", by: .alice)
            let error = await expectError(.gateFailed) { try await registry.promoteVersion(to: .release) }
            #expect(error?.message.contains("thresholds.accuracy") == true)
            let gate = try #require(error?.gates?.first)
            #expect(gate.name == "thresholds.accuracy")
            #expect(!gate.passed)
            #expect(gate.observed == .number(0.5))
            #expect(gate.required == .string(">= 0.9"))
            #expect(try registry.model(named: "fraud-scorer").branches.release == nil)
        }
    }

    @Test func forceMovesPastFailingGatesAndRecordsWhichItOverrode() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion(metrics: ["accuracy": 0.5, "latency_ms": 20])
            _ = try await registry.setPolicy(
                model: "fraud-scorer",
                document: """
                    release:
                      require_reports: [unit]
                      thresholds: {accuracy: ">= 0.9", latency_ms: "<= 50"}
                    """,
                by: .alice)
            let result = try await registry.promote(
                model: "fraud-scorer", PromoteRequest(to: .release, reason: "hotfix for incident 42", force: true), by: .alice)
            #expect(result.kind == .force)
            #expect(result.passed == false)
            #expect(result.toVersion == 1)
            #expect(try registry.model(named: "fraud-scorer").branches.release == 1)

            let transition = try #require(try registry.history(model: "fraud-scorer", branch: .release).transitions.first)
            #expect(transition.kind == .force)
            #expect(transition.reason == "hotfix for incident 42")
            #expect(transition.gates.map(\.name).sorted() == ["require_reports.unit", "thresholds.accuracy", "thresholds.latency_ms"])

            let entry = try #require(try registry.allAuditEntries().last)
            #expect(entry.action == "branch.force")
            #expect(entry.branch == "release")
            #expect(entry.version == 1)
            let details = try JSONCoding.decode([String: JSONValue].self, from: entry.details)
            #expect(details["kind"] == .string("force"))
            #expect(details["reason"] == .string("hotfix for incident 42"))
            #expect(details["overridden_gates"] == .array([.string("require_reports.unit"), .string("thresholds.accuracy")]))
        }
    }

    @Test func aDryRunReportsEveryGateAndMovesNothing() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion(metrics: ["accuracy": 0.95])
            _ = try await registry.setPolicy(
                model: "fraud-scorer",
                document: "release:\n  require_reports: [unit]\n  thresholds: {accuracy: \">= 0.9\"}\n",
                by: .alice)
            let before = try registry.verifyAudit()
            let branchBefore = try registry.branch(model: "fraud-scorer", .release)

            let result = try await registry.promote(model: "fraud-scorer", PromoteRequest(to: .release, dryRun: true), by: .alice)
            #expect(result.dryRun)
            #expect(result.transitionID == nil)
            #expect(result.passed == false)
            #expect(result.toVersion == 1)
            #expect(result.gates.map(\.name) == ["require_reports.unit", "thresholds.accuracy"])
            #expect(result.gates.map(\.passed) == [false, true])
            #expect(result.gates[1].observed == .number(0.95))
            #expect(result.gates[1].required == .string(">= 0.9"))

            #expect(try registry.branch(model: "fraud-scorer", .release) == branchBefore)
            #expect(try registry.verifyAudit() == before)
            #expect(try registry.history(model: "fraud-scorer", branch: .release).transitions.isEmpty)
        }
    }
}
