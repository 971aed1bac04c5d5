import CSQLite
import Foundation
import Synchronization

/// Writes that share commits: a server's writes arrive faster than one transaction per write
/// can carry them.
///
/// Each commit appends every page it touched to the WAL, and two registrations a few
/// microseconds apart touch the same right-most pages of the same tables and indexes. So one
/// thread owns the write connection and takes the writes queued for it in turn: the first opens
/// `BEGIN IMMEDIATE`, each runs in a SAVEPOINT of its own inside it (so a write that fails rolls
/// back alone, never its neighbours: https://www.sqlite.org/lang_savepoint.html), and the group
/// commits when no more writes are waiting or it holds `maxGroupSize` of them. A write returns
/// only after that commit, so nobody hears "done" about a change that is not yet committed, and
/// a failed commit fails every write in the group: each write is still all or nothing.
///
/// `@unchecked Sendable` invariant: the write connection is only ever used by the thread, which
/// the writer reaches only through `queue`, itself guarded by its condition.
final class GroupCommitWriter: DatabaseWriter, @unchecked Sendable {
    private let queue = WriteQueue()
    private let counters = Counters()
    /// Signalled by the thread once it has closed the write connection.
    private let closed = DispatchSemaphore(value: 0)

    /// Starts the thread, which owns `connection` from then on.
    /// - Parameter maxGroupSize: the most writes one group spans, which bounds how long the
    ///   first write of a busy group waits for its commit (BENCHMARKS.md, "group size").
    init(connection: Connection, maxGroupSize: Int) {
        let handoff = Handoff(connection)
        let thread = Thread { [queue, counters, closed] in
            Thread.current.name = Self.threadName
            do {
                var loop = CommitLoop(connection: handoff.take(), maxGroupSize: max(1, maxGroupSize), counters: counters)
                loop.run(queue)
            }  // the loop held the connection's last reference: it is closed here
            closed.signal()
        }
        thread.start()
    }

    /// The thread's name in `top -H`, `perf` and `/proc/PID/task/*/comm`. Linux keeps at most
    /// 15 bytes of a name and refuses a longer one, leaving the thread under its creator's name;
    /// and Foundation passes a name to the kernel only when it is set on the running thread
    /// (set before `start()`, it stays in the `Thread` object).
    static let threadName = "mreg-commit"

    /// Stops the thread once the writes already queued have run and committed, and waits until
    /// it has closed the write connection, so the file is closed (and its WAL checkpointed) when
    /// the `Database` is gone, not whenever the thread gets to it, perhaps after the process has
    /// begun to exit. This never runs on the thread itself: the thread holds nothing that owns
    /// the writer, since a queued write lets go of its body once it ran or was answered.
    deinit {
        queue.stop()
        closed.wait()
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.push(PendingWrite(body: body, continuation: continuation))
        }
    }

    var totals: WriteTotals { counters.totals }

    /// Writes waiting for the thread (not counting the one it is running).
    var queued: Int { queue.count }
}

/// A write waiting for the thread, whose caller is suspended until `finish`.
private protocol QueuedWrite: AnyObject, Sendable {
    /// Runs the write in a savepoint of the open group; its error, if it failed.
    func run(on connection: Connection) -> (any Error)?
    /// Answers the caller once the group's commit succeeded or failed.
    func finish(_ commit: Result<Void, any Error>)
}

/// `@unchecked Sendable` invariant: once queued, only the commit thread touches it.
private final class PendingWrite<T: Sendable>: QueuedWrite, @unchecked Sendable {
    /// Dropped as soon as it ran or the write was answered: it may hold what owns the writer
    /// (a `Registry`), which must never be released on the commit thread (`deinit` waits for it).
    private var body: (@Sendable (Connection) throws -> T)?
    private let continuation: CheckedContinuation<T, any Error>
    private var outcome: Result<T, any Error>?

    init(body: @escaping @Sendable (Connection) throws -> T, continuation: CheckedContinuation<T, any Error>) {
        self.body = body
        self.continuation = continuation
    }

    func run(on connection: Connection) -> (any Error)? {
        guard let body else { preconditionFailure("a write runs once") }
        self.body = nil
        do {
            outcome = .success(try connection.savepoint(body))
            return nil
        } catch {
            outcome = .failure(error)
            return error
        }
    }

    func finish(_ commit: Result<Void, any Error>) {
        body = nil
        // A commit that fails takes every write of the group with it, this one included.
        switch (commit, outcome) {
        case (.success, let outcome?): continuation.resume(with: outcome)
        case (.failure(let error), _): continuation.resume(throwing: error)
        case (.success, nil): preconditionFailure("a write is answered after it ran")
        }
    }
}

private final class Counters: Sendable {
    private let commits = Atomic<Int>(0)
    private let writes = Atomic<Int>(0)

    func committed(writes count: Int) {
        commits.add(1, ordering: .relaxed)
        writes.add(count, ordering: .relaxed)
    }

    var totals: WriteTotals {
        WriteTotals(commits: commits.load(ordering: .relaxed), writes: writes.load(ordering: .relaxed))
    }
}

/// The writes waiting for the thread, in the order they arrived.
///
/// `@unchecked Sendable` invariant: `pending` and `stopped` are only read or written while
/// `condition` is locked.
private final class WriteQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [any QueuedWrite] = []
    private var stopped = false

    func push(_ write: any QueuedWrite) {
        condition.withLock {
            pending.append(write)
            condition.signal()
        }
    }

    func stop() {
        condition.withLock {
            stopped = true
            condition.signal()
        }
    }

    /// Waits for writes and takes all of them; an empty batch once stopped and drained.
    func takeAll(into batch: inout [any QueuedWrite]) {
        condition.withLock {
            while pending.isEmpty && !stopped { condition.wait() }
            swap(&batch, &pending)
        }
    }

    var isEmpty: Bool { condition.withLock { pending.isEmpty } }

    var count: Int { condition.withLock { pending.count } }
}

/// The thread's state: the write connection and the group open on it.
private struct CommitLoop {
    let connection: Connection
    let maxGroupSize: Int
    let counters: Counters
    /// The writes run in the open group, failed ones included (each waits for the commit: its
    /// refusal may rest on state the group has not committed yet), and how many succeeded.
    private var waiting: [any QueuedWrite] = []
    private var succeeded = 0

    init(connection: Connection, maxGroupSize: Int, counters: Counters) {
        self.connection = connection
        self.maxGroupSize = maxGroupSize
        self.counters = counters
        waiting.reserveCapacity(maxGroupSize)
    }

    /// Runs what is queued, commits when nothing more waits or the group is full, sleeps when
    /// the queue is empty, and returns once the queue is stopped and drained.
    mutating func run(_ queue: WriteQueue) {
        var batch: [any QueuedWrite] = []
        while true {
            queue.takeAll(into: &batch)
            if batch.isEmpty { return }
            for write in batch {
                run(write)
                if waiting.count >= maxGroupSize { commit() }
            }
            batch.removeAll(keepingCapacity: true)
            if queue.isEmpty { commit() }
        }
    }

    private mutating func run(_ write: any QueuedWrite) {
        if waiting.isEmpty {
            do {
                // A group whose ROLLBACK itself failed (the disk gone, say) left its transaction
                // open: undo it rather than fail every write from now on.
                if connection.isInTransaction { try connection.execute("ROLLBACK") }
                try connection.execute("BEGIN IMMEDIATE")
            } catch {
                write.finish(.failure(error))  // no group opened: this write alone fails, unrun
                return
            }
        }
        waiting.append(write)
        let error = write.run(on: connection)
        if error == nil { succeeded += 1 }
        // Some errors (SQLITE_FULL, an I/O error) make SQLite roll back the whole transaction,
        // and a write must never end it: the group's earlier writes are gone, and their callers
        // must hear so, each with an error of its own rather than this write's (a conflict of
        // this write's must not become theirs, and be stored as their answer).
        guard !connection.isInTransaction else { return }
        let cause = error ?? SQLiteError(extendedCode: SQLiteError.misuse, message: "a write ended its group's transaction")
        waiting.removeLast()
        finish(.failure(SQLiteError(extendedCode: SQLITE_ABORT, message: "rolled back with its group after another write failed: \(cause)")))
        write.finish(.failure(cause))
    }

    /// Commits the open group, if any, and tells its writes how it went.
    private mutating func commit() {
        guard !waiting.isEmpty else { return }
        do {
            try connection.execute("COMMIT")
            counters.committed(writes: succeeded)
            finish(.success(()))
        } catch {
            if connection.isInTransaction { try? connection.execute("ROLLBACK") }
            finish(.failure(error))
        }
    }

    private mutating func finish(_ outcome: Result<Void, any Error>) {
        for write in waiting { write.finish(outcome) }
        waiting.removeAll(keepingCapacity: true)
        succeeded = 0
    }
}

/// The write connection on its way to the thread: taken once, so that the thread's loop holds
/// its only reference and closes it when the loop ends.
///
/// `@unchecked Sendable` invariant: `connection` is set by `init` and taken once, by the thread.
private final class Handoff: @unchecked Sendable {
    private var connection: Connection?

    init(_ connection: Connection) { self.connection = connection }

    func take() -> Connection {
        guard let connection else { preconditionFailure("the write connection is taken once") }
        self.connection = nil
        return connection
    }
}
