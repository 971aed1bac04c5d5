import Foundation
import Testing

@testable import RegistryCore

/// Separation of duties: approvals come from distinct release managers, never the registrant.
@Suite struct ApprovalTests {
    /// Version 1 registered by `registrant` and on release, with a master policy needing `count` approvals.
    private static func prepare(_ registry: Registry, registrant: Caller, count: Int, excludeRegistrant: Bool = true) async throws {
        try await registry.registerVersion(by: registrant)
        try await registry.promoteVersion(to: .release)
        _ = try await registry.setPolicy(
            model: "fraud-scorer", document: "master:\n  approvals: {count: \(count), exclude_registrant: \(excludeRegistrant)}\n",
            by: .alice)
    }

    @Test func theRegistrantsOwnApprovalDoesNotCount() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.prepare(registry, registrant: .bob, count: 1)
            let own = try await registry.approve(model: "fraud-scorer", version: 1, to: .master, by: .bob)
            #expect(own.approvers == ["bob"])
            let gate = try #require(try await registry.dryRunGates(to: .master)["approvals"])
            #expect(!gate.passed)
            #expect(gate.observed == .number(0))
            #expect(gate.message.contains("registrant"))
            await expectError(.gateFailed) { try await registry.promoteVersion(to: .master, by: .bob) }

            _ = try await registry.approve(model: "fraud-scorer", version: 1, to: .master, by: .carol)
            let counted = try #require(try await registry.dryRunGates(to: .master)["approvals"])
            #expect(counted.passed)
            #expect(counted.observed == .number(1))
            #expect(try await registry.promoteVersion(to: .master, by: .carol).toVersion == 1)
        }
    }

    @Test func theRegistrantCountsWhenThePolicySaysSo() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.prepare(registry, registrant: .bob, count: 1, excludeRegistrant: false)
            _ = try await registry.approve(model: "fraud-scorer", version: 1, to: .master, by: .bob)
            #expect(try await registry.dryRunGates(to: .master)["approvals"]?.passed == true)
        }
    }

    @Test func approvingTwiceIsAlreadyExistsAndCountsOnce() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.prepare(registry, registrant: .eve, count: 2)
            let first = try await registry.approve(model: "fraud-scorer", version: 1, to: .master, comment: "ok", by: .bob)
            #expect(first.actor == "bob")
            #expect(first.comment == "ok")
            #expect(first.to == .master)
            let error = await expectError(.alreadyExists) {
                try await registry.approve(model: "fraud-scorer", version: 1, to: .master, comment: "really ok", by: .bob)
            }
            #expect(error?.message.contains("bob") == true)
            let gate = try #require(try await registry.dryRunGates(to: .master)["approvals"])
            #expect(!gate.passed)
            #expect(gate.observed == .number(1))
            #expect(try registry.allAuditEntries().filter { $0.action == "approval.add" }.count == 1)
        }
    }

    @Test func anEngineerCannotApprove() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.prepare(registry, registrant: .alice, count: 1)
            let before = try registry.verifyAudit()
            let error = await expectError(.permissionDenied) {
                try await registry.approve(model: "fraud-scorer", version: 1, to: .master, by: .eve)
            }
            #expect(error?.message.contains("release-manager") == true)
            #expect(try await registry.dryRunGates(to: .master)["approvals"]?.observed == .number(0))
            #expect(try registry.verifyAudit() == before)
        }
    }

    @Test func approvalsAreForAVersionAndABranch() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.prepare(registry, registrant: .eve, count: 1)
            await expectError(.invalidArgument) { try await registry.approve(model: "fraud-scorer", version: 1, to: .develop, by: .bob) }
            await expectError(.notFound) { try await registry.approve(model: "fraud-scorer", version: 2, to: .master, by: .bob) }
            await expectError(.notFound) { try await registry.approve(model: "nope", version: 1, to: .master, by: .bob) }
            // An approval for release is not one for master.
            _ = try await registry.approve(model: "fraud-scorer", version: 1, to: .release, by: .bob)
            #expect(try await registry.dryRunGates(to: .master)["approvals"]?.passed == false)
        }
    }
}
