import Foundation
import Testing

@testable import RegistryCore

/// `createModel` and `model(named:)`: names per the contract's `^[a-z0-9][a-z0-9._-]{0,127}$`.
@Suite struct ModelTests {
    @Test func createModelStoresTheModelWithThreeEmptyBranches() async throws {
        let clock = TestClock()
        try await withTemporaryRegistry(clock: { clock() }) { registry in
            let model = try await registry.createModel(name: "fraud-scorer", description: "card fraud scorer", by: .alice)
            #expect(model.name == "fraud-scorer")
            #expect(model.description == "card fraud scorer")
            #expect(model.createdBy == "alice")
            #expect(model.createdAt == clock())
            #expect(model.versionCount == 0)
            #expect(model.branches == BranchHeads(develop: nil, release: nil, master: nil))
            #expect(try registry.model(named: "fraud-scorer") == model)
            for branch in Branch.allCases {
                #expect(try registry.branch(model: "fraud-scorer", branch).version == nil)
            }
        }
    }

    @Test(arguments: [
        "a", "0", "fraud-scorer", "fraud.scorer_v2", "9lives", String(repeating: "a", count: 128),
    ])
    func createModelAcceptsValidNames(name: String) async throws {
        try await withTemporaryRegistry { registry throws in
            await #expect(try registry.createModel(name: name, by: .alice).name == name)
        }
    }

    @Test(arguments: [
        "Fraud", "fraudScorer", "-fraud", ".fraud", "_fraud", "", "fraud scorer", "fraud/scorer", "fraud:1", "zoë",
        String(repeating: "a", count: 129),
    ])
    func createModelRefusesBadNames(name: String) async throws {
        try await withTemporaryRegistry { registry throws in
            let error = await expectError(.invalidArgument) { try await registry.createModel(name: name, by: .alice) }
            #expect(error?.message.contains("not a valid model name") == true)
            #expect(try registry.models().items.isEmpty)
            #expect(try registry.verifyAudit().entries == 0)
        }
    }

    @Test func aDuplicateNameIsAlreadyExists() async throws {
        try await withTemporaryRegistry { registry in
            _ = try await registry.createModel(name: "fraud-scorer", description: "first", by: .alice)
            let error = await expectError(.alreadyExists) {
                try await registry.createModel(name: "fraud-scorer", description: "second", by: .alice)
            }
            #expect(error?.message.contains("fraud-scorer") == true)
            #expect(try registry.model(named: "fraud-scorer").description == "first")
        }
    }

    @Test func anUnknownModelIsNotFound() async throws {
        try await withTemporaryRegistry { registry throws in
            await expectError(.notFound) { try registry.model(named: "nope") }
            await expectError(.notFound) { try registry.versions(model: "nope") }
            await expectError(.notFound) { try registry.history(model: "nope") }
        }
    }

    @Test func modelsAreListedInNameOrderAcrossPages() async throws {
        try await withTemporaryRegistry { registry in
            for name in ["delta", "alpha", "echo", "charlie", "bravo"] {
                _ = try await registry.createModel(name: name, by: .alice)
            }
            let first = try registry.models(limit: 2)
            #expect(first.items.map(\.name) == ["alpha", "bravo"])
            #expect(first.nextCursor != nil)
            let second = try registry.models(limit: 2, cursor: first.nextCursor)
            #expect(second.items.map(\.name) == ["charlie", "delta"])
            #expect(second.nextCursor != nil)
            let third = try registry.models(limit: 2, cursor: second.nextCursor)
            #expect(third.items.map(\.name) == ["echo"])
            #expect(third.nextCursor == nil)
        }
    }
}
