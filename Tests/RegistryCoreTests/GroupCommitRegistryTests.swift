import Foundation
import MregTestSupport
import Testing

@testable import RegistryCore

/// `Registry.withGroupCommit`, as `mreg serve` uses it: changes in flight together share
/// commits, a lone change commits at once, and every call returns only once committed.
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

    /// The commit resumes a waiting change on the group-commit thread; the caller must still
    /// go on elsewhere, or a server would render its answers on the thread every write waits for.
    @Test func theCallerGoesOnOffTheGroupCommitThread() async throws {
        try await Self.withServerRegistry { registry, _ in
            for n in 1...3 {
                let (version, writer) = try await registry.withGroupCommit {
                    (try registry.register(model: "fraud", RegisterRequest(artifactURI: "s3://m/\(n)"), by: .eve).version,
                     pthread_self())
                }
                #expect(version == n)
                #expect(pthread_equal(pthread_self(), writer) == 0, "change \(n) went on on the group-commit thread")
            }
        }
    }

    @Test func aLoneChangeCommitsAtOnce() async throws {
        try await Self.withServerRegistry { registry, path in
            for n in 1...3 {
                let version = try await registry.withGroupCommit {
                    try registry.register(model: "fraud", RegisterRequest(artifactURI: "s3://m/\(n)"), by: .eve).version
                }
                #expect(version == n)
                #expect(try Self.newestCommitted("fraud", path: path) == n)
            }
            #expect(registry.groupCommitTotals == (commits: 3, writes: 3), "nobody to share with: a group of one each")
        }
    }

    @Test func changesInFlightTogetherShareCommitsAndAllLand() async throws {
        try await Self.withServerRegistry { registry, path in
            // The first change stays in flight (suspended, before it writes) until the others
            // have come and gone: it holds no group open meanwhile.
            let (gate, opener) = AsyncStream<Void>.makeStream()
            let (entered, enter) = AsyncStream<Void>.makeStream()
            async let first: Int = registry.withGroupCommit {
                enter.yield()
                for await _ in gate { break }
                return try registry.register(model: "fraud", RegisterRequest(artifactURI: "s3://m/first"), by: .eve).version
            }
            for await _ in entered { break }
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                for n in 0..<20 {
                    tasks.addTask {
                        let version = try await registry.withGroupCommit {
                            try registry.register(model: "fraud", RegisterRequest(artifactURI: "s3://m/\(n)"), by: .eve).version
                        }
                        // Answered only once committed: another process already sees it.
                        #expect(try Self.newestCommitted("fraud", path: path).map { $0 >= version } == true)
                    }
                }
                try await tasks.waitForAll()
            }
            opener.yield()
            opener.finish()
            #expect(try await first == 21)
            let totals = registry.groupCommitTotals
            #expect(totals.writes == 21)
            #expect(totals.commits >= 2, "the first change committed after the others")
            #expect(try registry.verifyAudit().ok)
        }
    }
}
