import Foundation
import Synchronization

/// How a `Database` runs its writes: each one a transaction of its own on the write connection
/// (`SerialWriter`), or many sharing one commit (`GroupCommitWriter`). `Database` picks one when
/// it opens and keeps it; nothing else touches the write connection.
protocol DatabaseWriter: Sendable {
    /// Runs `body` all or nothing on the write connection and returns once its changes are
    /// committed. When `body` throws, or the commit fails, nothing of `body` is kept.
    func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T

    /// Runs `body` on the calling thread while no write runs: writes that arrive meanwhile
    /// wait until it returns. Blocks the thread until the writes before it are done, so it is
    /// for a thread of its own (`WALCheckpointer`), never for a task on Swift's thread pool.
    func pausingWrites<T>(_ body: () throws -> T) rethrows -> T

    /// Commits so far and the writes they carried (equal for a serial writer).
    var totals: WriteTotals { get }
}

/// Commits and the writes they carried: their ratio is the mean group size.
public struct WriteTotals: Sendable, Equatable {
    public var commits: Int
    public var writes: Int

    public init(commits: Int, writes: Int) {
        self.commits = commits
        self.writes = writes
    }
}

/// Each write in a `BEGIN IMMEDIATE` transaction of its own, one at a time, on the caller's
/// thread: for processes with little concurrency (a CLI command, tests, tools).
///
/// `@unchecked Sendable` invariant: `connection` is only used while `lock` is held.
final class SerialWriter: DatabaseWriter, @unchecked Sendable {
    // NSLock is a plain pthread mutex. Synchronization.Mutex is a priority-inheritance futex on
    // Linux, whose hand-offs under write contention cost more than the writes.
    private let lock = NSLock()
    private let connection: Connection
    private let commits = Atomic<Int>(0)

    init(connection: Connection) { self.connection = connection }

    func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        let result = try lock.withLock { try connection.transaction(.immediate, body) }
        commits.add(1, ordering: .relaxed)
        return result
    }

    func pausingWrites<T>(_ body: () throws -> T) rethrows -> T { try lock.withLock(body) }

    var totals: WriteTotals {
        let commits = commits.load(ordering: .relaxed)
        return WriteTotals(commits: commits, writes: commits)
    }
}
