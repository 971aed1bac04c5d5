import Foundation
import SQLite
import Synchronization
import Testing

@testable import RegistryCore

/// A promotion judges its gates on one consistent snapshot: a report written by another
/// connection (another process, in production) either counts entirely or not at all, never half.
@Suite struct GateSnapshotTests {
    private static let policy = "release:\n  require_reports: [unit]\n"

    /// Another writer holds the write lock with a passing `unit` report inserted but not yet
    /// committed; a promotion started meanwhile waits, then decides on what was committed.
    private func promoteWhileAnotherWriterHoldsAReport(commit: Bool) async throws -> Result<TransitionResult, RegistryError> {
        try await withTemporaryRegistry { registry in
            let version = try await registry.registerVersion("fraud").version
            _ = try await registry.setPolicy(model: "fraud", document: Self.policy, by: .alice)
            let other = try Connection(path: registry.path)
            try other.execute("BEGIN IMMEDIATE")
            try other.execute(
                """
                INSERT INTO test_reports (version_id, suite, status, tests, failures, errors, skipped, sha256, created_by, created_at)
                SELECT id, 'unit', 'passed', 1, 0, 0, 0, ?, 'ci', 0 FROM versions WHERE version = ?
                """, [String(repeating: "a", count: 64), version])

            // The other writer lets go after 300 ms, from a thread of its own (not one of Swift's
            // pool, where the waiting promotion sits in SQLite's busy handler).
            nonisolated(unsafe) let holder = other
            let released = Mutex(false)
            Thread {
                Thread.sleep(forTimeInterval: 0.3)
                released.withLock { $0 = true }
                try? holder.execute(commit ? "COMMIT" : "ROLLBACK")
            }.start()
            let result: Result<TransitionResult, RegistryError>
            do throws(RegistryError) {
                result = .success(try await registry.promote(model: "fraud", PromoteRequest(to: .release), by: .alice))
            } catch {
                result = .failure(error)
            }
            // The promotion cannot have decided while the other writer held the lock.
            #expect(released.withLock { $0 })
            return result
        }
    }

    @Test func aReportCommittedDuringThePromotionCounts() async throws {
        let result = try await promoteWhileAnotherWriterHoldsAReport(commit: true)
        let promoted = try result.get()
        #expect(promoted.gates.map(\.name) == ["require_reports.unit"])
        #expect(promoted.passed)
    }

    @Test func aReportRolledBackDuringThePromotionDoesNot() async throws {
        let result = try await promoteWhileAnotherWriterHoldsAReport(commit: false)
        guard case .failure(let error) = result else {
            Issue.record("the promotion passed on a report that was never committed")
            return
        }
        #expect(error.code == .gateFailed)
        #expect(error.gates?.first?.observed == .null)
    }
}

