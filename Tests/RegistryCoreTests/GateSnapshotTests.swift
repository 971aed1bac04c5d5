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
    private func promoteWhileAnotherWriterHoldsAReport(commit: Bool) throws -> Result<TransitionResult, RegistryError> {
        try withTemporaryRegistry { registry in
            let version = try registry.registerVersion("fraud").version
            _ = try registry.setPolicy(model: "fraud", document: Self.policy, by: .alice)
            let other = try Connection(path: registry.path)
            try other.execute("BEGIN IMMEDIATE")
            try other.execute(
                """
                INSERT INTO test_reports (version_id, suite, status, tests, failures, errors, skipped, sha256, created_by, created_at)
                SELECT id, 'unit', 'passed', 1, 0, 0, 0, ?, 'ci', 0 FROM versions WHERE version = ?
                """, [.text(String(repeating: "a", count: 64)), .integer(Int64(version))])

            let outcome = Mutex<Result<TransitionResult, RegistryError>?>(nil)
            let started = DispatchSemaphore(value: 0)
            let thread = Thread {
                started.signal()
                let result: Result<TransitionResult, RegistryError>
                do throws(RegistryError) {
                    result = .success(try registry.promote(model: "fraud", PromoteRequest(to: .release), by: .alice))
                } catch {
                    result = .failure(error)
                }
                outcome.withLock { $0 = result }
            }
            thread.start()
            started.wait()
            Thread.sleep(forTimeInterval: 0.3)
            // The promotion cannot have decided while the other writer holds the lock.
            #expect(outcome.withLock { $0 == nil })
            try other.execute(commit ? "COMMIT" : "ROLLBACK")
            for _ in 0..<200 where outcome.withLock({ $0 == nil }) { Thread.sleep(forTimeInterval: 0.05) }
            return try #require(outcome.withLock { $0 })
        }
    }

    @Test func aReportCommittedDuringThePromotionCounts() throws {
        let result = try promoteWhileAnotherWriterHoldsAReport(commit: true)
        let promoted = try result.get()
        #expect(promoted.gates.map(\.name) == ["require_reports.unit"])
        #expect(promoted.passed)
    }

    @Test func aReportRolledBackDuringThePromotionDoesNot() throws {
        let result = try promoteWhileAnotherWriterHoldsAReport(commit: false)
        guard case .failure(let error) = result else {
            Issue.record("the promotion passed on a report that was never committed")
            return
        }
        #expect(error.code == .gateFailed)
        #expect(error.gates?.first?.observed == .null)
    }
}

