import Foundation
import Testing

@testable import RegistryCore

/// `rollback`: back through promotion history, or to a version the branch held before.
@Suite struct RollbackTests {
    /// v1 → v2 → v3 on master (and on develop and release on the way).
    private static func threeOnMaster(_ registry: Registry) async throws {
        for _ in 1...3 { try await registry.shipVersion() }
        #expect(try registry.model(named: "fraud-scorer").branches == BranchHeads(develop: 3, release: 3, master: 3))
    }

    @Test func repeatedRollbacksWalkBackThroughPromotionHistory() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.threeOnMaster(registry)
            let first = try await registry.rollback(model: "fraud-scorer", RollbackRequest(reason: "error rate up"), by: .bob)
            #expect(first.fromVersion == 3)
            #expect(first.toVersion == 2)
            #expect(first.kind == .rollback)
            #expect(first.branch == .master)
            #expect(first.gates.isEmpty)
            #expect(try registry.model(named: "fraud-scorer").branches.master == 2)

            let second = try await registry.rollback(model: "fraud-scorer", RollbackRequest(reason: "still bad"), by: .bob)
            #expect(second.fromVersion == 2)
            #expect(second.toVersion == 1)

            let error = await expectError(.conflict) {
                try await registry.rollback(model: "fraud-scorer", RollbackRequest(reason: "and again"), by: .bob)
            }
            #expect(error?.message.contains("nothing before it") == true)
            #expect(try registry.model(named: "fraud-scorer").branches.master == 1)
            // Other branches are untouched.
            #expect(try registry.model(named: "fraud-scorer").branches.release == 3)

            let transitions = try registry.history(model: "fraud-scorer", branch: .master).transitions
            #expect(transitions.map(\.kind) == [.rollback, .rollback, .promote, .promote, .promote])
            #expect(transitions[0].reason == "still bad")
            #expect(transitions[0].actor == "bob")
            let entry = try #require(try registry.allAuditEntries().last)
            #expect(entry.action == "branch.rollback")
            #expect(entry.details.contains("still bad"))
        }
    }

    @Test(arguments: ["", "  "])
    func aRollbackNeedsAReason(reason: String) async throws {
        try await withTemporaryRegistry { registry in
            try await Self.threeOnMaster(registry)
            await expectError(.invalidArgument) { try await registry.rollback(model: "fraud-scorer", RollbackRequest(reason: reason), by: .alice) }
            #expect(try registry.model(named: "fraud-scorer").branches.master == 3)
        }
    }

    @Test func rollingBackToANamedVersionNeedsItToHaveBeenOnTheBranch() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.shipVersion()
            try await registry.shipVersion()
            try await registry.registerVersion()
            try await registry.promoteVersion(to: .release, version: 3)  // 3 on release, never on master

            let never = await expectError(.conflict) {
                try await registry.rollback(model: "fraud-scorer", RollbackRequest(to: 3, reason: "try 3"), by: .bob)
            }
            #expect(never?.message.contains("never been on master") == true)
            let current = await expectError(.conflict) {
                try await registry.rollback(model: "fraud-scorer", RollbackRequest(to: 2, reason: "stay"), by: .bob)
            }
            #expect(current?.message.contains("already holds version 2") == true)
            await expectError(.notFound) { try await registry.rollback(model: "fraud-scorer", RollbackRequest(to: 9, reason: "x"), by: .bob) }

            let result = try await registry.rollback(model: "fraud-scorer", RollbackRequest(to: 1, reason: "back to 1"), by: .bob)
            #expect(result.fromVersion == 2)
            #expect(result.toVersion == 1)
            #expect(try registry.model(named: "fraud-scorer").branches.master == 1)
            // Rolling "back" to a newer version the branch held is allowed too.
            await #expect(try registry.rollback(model: "fraud-scorer", RollbackRequest(to: 2, reason: "2 was fine"), by: .bob).toVersion == 2)
        }
    }

    @Test func otherBranchesRollBackToo() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            try await registry.registerVersion()
            let result = try await registry.rollback(model: "fraud-scorer", RollbackRequest(branch: .develop, reason: "bad build"), by: .bob)
            #expect(result.fromVersion == 2)
            #expect(result.toVersion == 1)
            #expect(try registry.model(named: "fraud-scorer").branches.develop == 1)
        }
    }

    @Test func nothingToRollBackIsAConflict() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            await expectError(.conflict) { try await registry.rollback(model: "fraud-scorer", RollbackRequest(reason: "empty master"), by: .bob) }
            try await registry.shipVersion()
            await expectError(.conflict) { try await registry.rollback(model: "fraud-scorer", RollbackRequest(reason: "only one"), by: .bob) }
            await expectError(.notFound) { try await registry.rollback(model: "nope", RollbackRequest(reason: "x"), by: .bob) }
        }
    }

    @Test func aStaleExpectIsPreconditionFailedAndRolesAreChecked() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.threeOnMaster(registry)
            await expectError(.preconditionFailed) {
                try await registry.rollback(model: "fraud-scorer", RollbackRequest(reason: "x", expect: 2), by: .bob)
            }
            await expectError(.permissionDenied) { try await registry.rollback(model: "fraud-scorer", RollbackRequest(reason: "x"), by: .eve) }
            #expect(try registry.model(named: "fraud-scorer").branches.master == 3)
            await #expect(try registry.rollback(model: "fraud-scorer", RollbackRequest(reason: "x", expect: 3), by: .bob).toVersion == 2)
        }
    }
}
