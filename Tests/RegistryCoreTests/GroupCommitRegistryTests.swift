import Foundation
import MregTestSupport
import SQLite
import Testing

@testable import RegistryCore

/// A registry with the `.server` workload, as `mreg serve` uses it: its writes go through the
/// group-committing writer, a lone change commits at once, and every call returns only once committed.
@Suite struct GroupCommitRegistryTests {
    private static func withServerRegistry(_ body: @Sendable (Registry, String) async throws -> Void) async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("mreg.db")
            try await body(try Registry(path: path, workload: .server), path)
        }
    }

    /// The newest version of `model` as another process would see it: a registry of its own.
    private static func newestCommitted(_ model: String, path: String) throws -> Int? {
        try Registry(path: path, workload: .oneShot).versions(model: model, limit: 1).items.first?.version
    }

    @Test func aLoneChangeCommitsAtOnce() async throws {
        try await Self.withServerRegistry { registry, path in
            for n in 1...3 {
                let version = try await registry.register(model: "fraud", RegisterRequest(artifactURI: "s3://m/\(n)"), by: .eve).version
                #expect(version == n)
                #expect(try Self.newestCommitted("fraud", path: path) == n)
            }
            #expect(registry.writeTotals == WriteTotals(commits: 3, writes: 3), "nobody to share with: a group of one each")
        }
    }

    @Test func changesInFlightTogetherAllLandEachAnsweredOnceCommitted() async throws {
        try await Self.withServerRegistry { registry, path in
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for n in 0..<21 {
                    tasks.addTask {
                        let version = try await registry.register(model: "fraud", RegisterRequest(artifactURI: "s3://m/\(n)"), by: .eve).version
                        // Answered only once committed: another process already sees it.
                        #expect(try Self.newestCommitted("fraud", path: path).map { $0 >= version } == true)
                    }
                }
                try await tasks.waitForAll()
            }
            #expect(try Self.newestCommitted("fraud", path: path) == 21)
            let totals = registry.writeTotals
            #expect(totals.writes == 21)
            #expect((1...21).contains(totals.commits))
            #expect(try registry.verifyAudit().ok)
        }
    }
}
