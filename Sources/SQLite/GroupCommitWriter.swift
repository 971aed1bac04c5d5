import CSQLite
import Foundation
import Synchronization

/// Writes that share commits: a server's writes arrive faster than one transaction per write
/// can carry them.
///
/// Each commit appends every page it touched to the WAL, and two registrations a few
/// microseconds apart touch the same right-most pages of the same tables and indexes. So writes
/// that arrive while another is running wait in a queue, and the next of them to run leads a
/// group: on its caller's thread it opens `BEGIN IMMEDIATE`, runs its own write and those queued
/// behind it (up to `maxGroupSize`), each in a SAVEPOINT of its own (so a write that fails rolls
/// back alone, never its neighbours: https://www.sqlite.org/lang_savepoint.html), commits, answers
/// them, and hands the lead to the first write that queued meanwhile. A write returns only after
/// its group's commit, so nobody hears "done" about a change that is not yet committed, and a
/// failed commit fails every write in the group: each write is still all or nothing.
///
/// A lone write runs on its caller's thread, like `SerialWriter`, with no hop to another thread
/// and back; under load a group costs one hop (to its leader) and one resumption per follower.
/// A pause (`pausingWrites`) queues like a write and, when its turn comes, runs alone.
///
/// `@unchecked Sendable` invariant: `leading` and `queue` are only used while `lock` is held;
/// `group` (the write connection) only by the leader, and there is one leader at a time: a
/// write (or a pause, which leaves `group` alone) leads after setting `leading` under the lock,
/// or when the leader before it hands over.
final class GroupCommitWriter: DatabaseWriter, @unchecked Sendable {
    // NSLock is a plain pthread mutex (see SerialWriter). Held only to queue, take or hand over.
    private let lock = NSLock()
    private var leading = false
    private var queue: [Waiter] = []
    private var group: CommitGroup
    private let maxGroupSize: Int

    /// - Parameter maxGroupSize: the most writes one group spans, which bounds how long the
    ///   last write of a busy group waits for its commit (BENCHMARKS.md, "group size").
    init(connection: Connection, maxGroupSize: Int) {
        self.maxGroupSize = max(1, maxGroupSize)
        group = CommitGroup(connection: connection, capacity: self.maxGroupSize)
    }

    func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        let write = PendingWrite(body: body)
        let leads = lock.withLock {
            if leading {
                queue.append(.write(write))
                return false
            }
            leading = true
            return true
        }
        if !leads, await write.turn() == .answered { return try write.result() }
        lead(write)
        return try write.result()
    }

    /// Runs `first` and the writes queued behind it as one group, then hands the lead on.
    private func lead(_ first: any QueuedWrite) {
        var batch = [first]
        lock.withLock {
            var taken = 0
            for waiter in queue.prefix(maxGroupSize - 1) {
                guard case .write(let write) = waiter else { break }  // a pause runs alone, after this group
                batch.append(write)
                taken += 1
            }
            queue.removeFirst(taken)
        }
        group.run(batch)
        handOver()
    }

    /// Gives the lead to the first in the queue, or gives it up when nothing waits.
    private func handOver() {
        let next: Waiter? = lock.withLock {
            guard !queue.isEmpty else {
                leading = false
                return nil
            }
            return queue.removeFirst()
        }
        switch next {
        case .write(let write)?: write.signal(.lead)
        case .pause(let pause)?: pause.go()
        case nil: break
        }
    }

    func pausingWrites<T>(_ body: () throws -> T) rethrows -> T {
        let pause = Pause()
        let leads = lock.withLock {
            if leading {
                queue.append(.pause(pause))
                return false
            }
            leading = true
            return true
        }
        if !leads { pause.waitForTurn() }
        defer { handOver() }
        return try body()
    }

    var totals: WriteTotals { group.counters.totals }

    /// Writes waiting for a leader (not counting those it is running).
    var queued: Int { lock.withLock { queue.count } }

    /// Tests: makes the writes that follow queue, as behind a busy leader, until `releaseQueue`.
    func holdQueue() {
        lock.withLock {
            precondition(!leading, "holdQueue while writes run")
            leading = true
        }
    }

    /// Tests: lets the queued writes run, the first of them leading.
    func releaseQueue() { handOver() }
}

/// What waits in the queue for the lead.
private enum Waiter {
    case write(any QueuedWrite)
    case pause(Pause)
}

/// A pause's place in the queue: its thread sleeps until the group before it hands over.
///
/// `@unchecked Sendable` invariant: `ready` is only read or written while `condition` is locked.
private final class Pause: @unchecked Sendable {
    private let condition = NSCondition()
    private var ready = false

    func waitForTurn() {
        condition.withLock {
            while !ready { condition.wait() }
        }
    }

    func go() {
        condition.withLock {
            ready = true
            condition.signal()
        }
    }
}

/// What a queued write's caller is woken for.
enum WriteTurn: Sendable {
    /// Its group committed (or failed): the outcome is ready.
    case answered
    /// It leads the next group: its write has not run yet.
    case lead
}

/// A write in a group, whose caller may be suspended until it is answered or asked to lead.
private protocol QueuedWrite: AnyObject, Sendable {
    /// Runs the write in a savepoint of the open group; its error, if it failed.
    func run(on connection: Connection) -> (any Error)?
    /// Records the outcome once the group's commit succeeded or failed, and wakes the caller.
    func finish(_ commit: Result<Void, any Error>)
    /// Wakes the caller for `turn` (or, if it is not asleep yet, saves the turn for it).
    func signal(_ turn: WriteTurn)
}

/// `@unchecked Sendable` invariant: `body` and `outcome` are used by one thread at a time: the
/// leader running the group, then (after `signal`, under `lock`) the caller; `waiting` and
/// `pendingTurn` only while `lock` is held.
private final class PendingWrite<T: Sendable>: QueuedWrite, @unchecked Sendable {
    /// Dropped as soon as it ran or the write was answered, so that what it holds is released
    /// by its own caller's path.
    private var body: (@Sendable (Connection) throws -> T)?
    private var outcome: Result<T, any Error>?
    private let lock = NSLock()
    private var waiting: CheckedContinuation<WriteTurn, Never>?
    private var pendingTurn: WriteTurn?

    init(body: @escaping @Sendable (Connection) throws -> T) { self.body = body }

    /// Suspends until the leader answers this write or hands it the lead.
    func turn() async -> WriteTurn {
        await withCheckedContinuation { continuation in
            let ready: WriteTurn? = lock.withLock {
                if let turn = pendingTurn { return turn }
                waiting = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    func signal(_ turn: WriteTurn) {
        let continuation: CheckedContinuation<WriteTurn, Never>? = lock.withLock {
            guard let waiting else {
                pendingTurn = turn
                return nil
            }
            self.waiting = nil
            return waiting
        }
        continuation?.resume(returning: turn)
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
        case (.success, let outcome?): self.outcome = outcome
        case (.failure(let error), _): outcome = .failure(error)
        case (.success, nil): preconditionFailure("a write is answered after it ran")
        }
        signal(.answered)
    }

    /// The outcome, once answered.
    func result() throws -> T {
        let outcome = lock.withLock { self.outcome }
        guard let outcome else { preconditionFailure("a write's result is read once it is answered") }
        return try outcome.get()
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

/// The write connection and the group open on it, used by one leader at a time.
private struct CommitGroup {
    let connection: Connection
    let counters = Counters()
    /// The writes run in the open group, failed ones included (each waits for the commit: its
    /// refusal may rest on state the group has not committed yet), and how many succeeded.
    private var waiting: [any QueuedWrite] = []
    private var succeeded = 0

    init(connection: Connection, capacity: Int) {
        self.connection = connection
        waiting.reserveCapacity(capacity)
    }

    /// Runs `batch` in one transaction (or more, when a write ends one) and commits it.
    mutating func run(_ batch: [any QueuedWrite]) {
        for write in batch { run(write) }
        commit()
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
