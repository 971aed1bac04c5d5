import Foundation
import MregTestSupport
import Testing

@testable import RegistryCore

/// The first admin token, which `mreg serve` creates on a registry that has none.
@Suite struct TokenTests {
    @Test func theFirstAdminTokenIsCreatedOnceAndAudited() async throws {
        try await withTemporaryRegistry { registry in
            let first = try #require(try await registry.createFirstAdminToken())
            #expect(first.name == "admin" && first.role == .admin)
            #expect(try registry.caller(forToken: first.token) == Caller(name: "admin", role: .admin))
            #expect(try await registry.createFirstAdminToken() == nil, "a token exists now")
            #expect(try registry.tokens().map(\.id) == [first.id])
            let entry = try #require(try registry.allAuditEntries().last)
            #expect(entry.action == "token.create" && entry.actor == "system")
        }
    }

    /// Two servers starting on a new file at once: the check and the insert are one
    /// transaction, so they create one token between them.
    @Test func twoRegistriesStartingTogetherCreateOneToken() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("mreg.db")
            let registries = [try Registry(path: path, workload: .server), try Registry(path: path, workload: .server)]
            let issued = try await withThrowingTaskGroup(of: IssuedToken?.self) { group in
                for registry in registries { group.addTask { try await registry.createFirstAdminToken() } }
                return try await group.reduce(into: [IssuedToken]()) { if let token = $1 { $0.append(token) } }
            }
            #expect(issued.count == 1)
            #expect(try registries[0].tokens().count == 1)
        }
    }

    @Test func anAdminTokenAlreadyThereMeansNoFirstToken() async throws {
        try await withTemporaryRegistry { registry in
            _ = try await registry.createToken(name: "ci", role: .engineer, by: .alice)
            #expect(try await registry.createFirstAdminToken() == nil)
        }
    }
}
