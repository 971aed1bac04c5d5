import Foundation
import Synchronization

// Group commit: the writes of many concurrent requests share one transaction and one commit.
//
// A server's writes arrive faster than one transaction per write can carry them: each commit
// appends every page it touched to the WAL, and two registrations a few microseconds apart
// touch the same right-most pages of the same tables and indexes. So a server runs its
// changing requests on a `GroupCommitExecutor`, one thread that owns the writer connection
// while a group is open: the first write opens `BEGIN IMMEDIATE`, each write runs in a
// SAVEPOINT of its own inside it (so one write failing rolls back that write alone, never its
// neighbours: https://www.sqlite.org/lang_savepoint.html), and the group commits when no more
// work is waiting or it holds `maxGroupSize` writes. A request's answer waits for that
// commit (`CommitTicket`), so nobody hears "done" about a change that is not yet committed,
// and a failed commit fails every request in the group: each write is still all or nothing.

/// The commit a request's writes joined, which its answer must wait for.
///
/// Set as `CommitTicket.current` around a request's handler on a `GroupCommitExecutor`;
/// `Database.write` joins the open group to it.
public final class CommitTicket: Sendable {
    /// The ticket of the request running now, if its writes may join a group.
    @TaskLocal public static var current: CommitTicket?

    private let groups = Mutex<[CommitGroup]>([])

    public init() {}

    func join(_ group: CommitGroup) {
        groups.withLock { groups in
            if !groups.contains(where: { $0 === group }) { groups.append(group) }
        }
    }

    /// Returns once every group this request's writes joined has committed.
    /// - Throws: the error of a commit that failed (the writes are then not in the database).
    public func waitUntilCommitted() async throws {
        for group in groups.withLock({ $0 }) { try await group.committed() }
    }
}

/// One open transaction shared by several writes, and the requests waiting for its commit.
final class CommitGroup: Sendable {
    private enum State {
        case open([CheckedContinuation<Void, any Error>])
        case finished(Result<Void, any Error>)
    }

    private let state = Mutex<State>(.open([]))

    func committed() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let outcome: Result<Void, any Error>? = state.withLock { state in
                switch state {
                case .open(var waiters):
                    waiters.append(continuation)
                    state = .open(waiters)
                    return nil
                case .finished(let outcome):
                    return outcome
                }
            }
            if let outcome { continuation.resume(with: outcome) }
        }
    }

    func finish(_ outcome: Result<Void, any Error>) {
        let waiters: [CheckedContinuation<Void, any Error>] = state.withLock { state in
            guard case .open(let waiters) = state else { return [] }
            state = .finished(outcome)
            return waiters
        }
        for waiter in waiters { waiter.resume(with: outcome) }
    }
}

/// The thread a server's changing requests run on, committing their writes in groups.
///
/// Jobs run one at a time, in the order they arrive. After each job the group commits if
/// `maxGroupSize` jobs have run since it opened; after a run of jobs it commits if nothing else
/// is waiting, so a lone write is committed at once and only writes that queued up behind each
/// other share a commit. One executor per `Database`, kept alive by whoever enqueues on it (the
/// thread holds it unowned, so that dropping it stops the thread).
public final class GroupCommitExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: the only state is `jobs`, whose queue is guarded by its condition.
    private let jobs: JobQueue

    /// Starts the thread.
    /// - Parameters:
    ///   - database: whose writer the thread owns while a group is open.
    ///   - maxGroupSize: the most jobs one group spans, which bounds how long the first write
    ///     of a busy group waits for its commit. 16 wrote 15–40 % more under wrk with 32
    ///     connections (groups overlap instead of every client waiting on one commit) but
    ///     raised the writes' p99 by a third to a half, so 32 stays (BENCHMARKS.md).
    public init(database: Database, maxGroupSize: Int = 32) {
        let jobs = JobQueue()
        self.jobs = jobs
        // Unowned: the thread must not keep the executor alive, or `deinit` would never stop it.
        let executor = asUnownedTaskExecutor()
        let thread = Thread {
            Thread.current.name = Self.threadName
            database.adoptCurrentThreadForGroupCommit()
            jobs.run(on: executor, database: database, maxGroupSize: max(1, maxGroupSize))
        }
        thread.start()
    }

    /// The thread's name in `top -H`, `perf` and `/proc/PID/task/*/comm`. Linux keeps at most
    /// 15 bytes of a name and refuses a longer one, leaving the thread under its creator's name;
    /// and Foundation passes a name to the kernel only when it is set on the running thread
    /// (set before `start()`, it stays in the `Thread` object).
    static let threadName = "mreg-commit"

    /// Stops the thread once the jobs already queued have run; the open group commits.
    deinit { jobs.stop() }

    public func enqueue(_ job: consuming ExecutorJob) {
        jobs.push(UnownedJob(job))
    }
}

/// The jobs waiting for the group-commit thread.
///
/// `@unchecked Sendable` invariant: `pending` and `stopped` are only read or written while
/// `condition` is locked.
private final class JobQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [UnownedJob] = []
    private var stopped = false

    func push(_ job: UnownedJob) {
        condition.withLock {
            pending.append(job)
            condition.signal()
        }
    }

    func stop() {
        condition.withLock {
            stopped = true
            condition.signal()
        }
    }

    /// The thread's loop: run what is queued, commit when idle or full, sleep when empty.
    func run(on executor: UnownedTaskExecutor, database: Database, maxGroupSize: Int) {
        var batch: [UnownedJob] = []
        // Jobs run while the group was open, failed writes and reads included: the bound on
        // how long the group's first request waits, whatever the others do.
        var jobsInGroup = 0
        while true {
            condition.lock()
            while pending.isEmpty && !stopped { condition.wait() }
            if pending.isEmpty {
                condition.unlock()
                database.commitGroup()
                return
            }
            swap(&batch, &pending)
            condition.unlock()
            for job in batch {
                job.runSynchronously(on: executor)
                jobsInGroup = database.isGroupOpen ? jobsInGroup + 1 : 0
                if jobsInGroup >= maxGroupSize {
                    database.commitGroup()
                    jobsInGroup = 0
                }
            }
            batch.removeAll(keepingCapacity: true)
            if condition.withLock({ pending.isEmpty }) {
                database.commitGroup()
                jobsInGroup = 0
            }
        }
    }
}
