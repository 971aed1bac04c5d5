import CSQLite
import Foundation
import Synchronization

/// Folds the WAL back into the database file from a thread of its own, and keeps the WAL
/// bounded, without making writes wait for a whole checkpoint (https://www.sqlite.org/wal.html#ckpt).
///
/// By default SQLite checkpoints inside the commit that crosses 1000 WAL pages: that one write
/// waits for the copy and two fsyncs while holding the write lock. A PASSIVE checkpoint from
/// another connection blocks nobody, but under steady writes it never finds the moment when
/// every frame is copied, and only then does the next write start the log over: the WAL grows
/// without bound. A RESTART checkpoint forces that moment by holding every writer back while
/// it copies the whole log and syncs the file, which was the writes' 40–78 ms tail
/// (BENCHMARKS.md, "#18").
///
/// So the work is split (https://www.sqlite.org/c3ref/wal_checkpoint_v2.html):
/// 1. A PASSIVE checkpoint every `interval`, and at once when a burst of commits leaves twice
///    `restartFrames` in the log (the write connection's WAL hook wakes the thread, `logGrew`).
///    A quiet moment after one leaves the log fully copied, and the next write restarts it.
///    Each checkpoint syncs the database file, and those syncs share the disk with the
///    commits' own: checkpointing once per interval rather than each time the log passes
///    `restartFrames` cut them by a factor of ten under one steady client (BENCHMARKS.md, "#18").
/// 2. Past `restartFrames`, more PASSIVE runs while each leaves fewer frames uncopied (those
///    written during the run before), down to `tailFrames`.
/// 3. Then, between two groups of writes (`DatabaseWriter.pausingWrites`), a RESTART copies that
///    tail (and whatever the groups queued ahead of the pause wrote), syncs the log and the file,
///    and waits at most `restartPatience` for readers of the old log: the next write starts the
///    log from its beginning. Writes wait for that short copy and its syncs, about once per
///    `restartFrames` pages written; `totals` counts it.
///
/// A reader that holds an old snapshot (a backup, a long export) keeps every frame after it
/// in the log until it ends (https://www.sqlite.org/wal.html#avoiding_excessively_large_wal_files).
/// The backlog then stays above `pauseFrames` and writes are not paused for a restart that could
/// not happen; the thread tries again each interval, and restarts the log once the reader left.
///
/// `@unchecked Sendable` invariant: `connection`, `writer` and `restartedAt` are used only by the
/// checkpoint thread (once it started); `state`, `wakeRequested` and `patient` are only read or written while `condition`
/// is locked.
final class WALCheckpointer: @unchecked Sendable {
    /// Closed by the thread before it reports `.stopped`, so the files are closed when `stop()`
    /// returns (the thread may still hold the checkpointer itself for a moment).
    private var connection: Connection?
    /// Dropped with `connection`: the writer owns the write connection, which must be closed
    /// too once the database is gone.
    private var writer: (any DatabaseWriter)?
    private let interval: Duration
    private let restartFrames: Int
    /// The log length at which a commit wakes the thread at once: twice `restartFrames`.
    private let wakeFrames: Int
    /// The log length a RESTART last left, on the checkpoint thread: until the next write the
    /// log's header still counts those frames, all copied, and there is nothing to restart.
    private var restartedAt: Int?
    /// Wakes the thread early when the log is long or it is told to stop, and tells `stop()`
    /// when it has.
    private let condition = NSCondition()
    private var state = State.idle
    private var wakeRequested = false
    /// After a restart that could not happen, a long log wakes the thread no sooner than the
    /// next interval.
    private var patient = false
    private let counters = Counters()

    private enum State {
        case idle, running, stopping, stopped
    }

    /// - Parameter writer: the database's writer, paused for the last step of a restart.
    init(path: String, options: Connection.Options, policy: Database.BackgroundCheckpoint, writer: any DatabaseWriter) throws(SQLiteError) {
        // A RESTART waits in the busy handler for readers to leave the old log while writes are
        // paused: it gives up after `restartPatience` and tries again at the next interval.
        var options = options
        options.busyTimeoutMilliseconds = Self.restartPatienceMilliseconds
        self.connection = try Connection(path: path, options: options)
        self.writer = writer
        self.interval = policy.interval
        self.restartFrames = max(1, policy.restartFrames)
        self.wakeFrames = self.restartFrames > Int.max / 2 ? Int.max : 2 * self.restartFrames
    }

    /// Uncopied frames the PASSIVE runs aim to leave for the pause to copy.
    static let tailFrames = 64
    /// The most uncopied frames writes are paused for: a larger backlog means a reader holds an
    /// old snapshot, or writes outran the copying, and the restart waits.
    var pauseFrames: Int { max(Self.tailFrames, restartFrames / 16) }
    /// PASSIVE runs, at most, to bring the backlog down before the pause; under writes faster
    /// than a checkpoint copies, the pause copies what is left.
    static let catchUpRuns = 8
    static let restartPatienceMilliseconds: Int32 = 5

    /// The thread's name in `top -H`, `perf` and `/proc/PID/task/*/comm`. Linux keeps at most
    /// 15 bytes of a name and refuses a longer one, and Foundation passes a name to the kernel
    /// only when it is set on the running thread, so the thread sets it itself.
    static let threadName = "mreg-checkpoint"

    func start() {
        let starts = condition.withLock {
            guard state == .idle else { return false }
            state = .running
            return true
        }
        guard starts else { return }
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18
        let thread = Thread { [self] in
            Thread.current.name = Self.threadName
            while waitForWork(seconds), let connection, let writer {
                let restarted = checkpoint(connection, pausing: writer)
                condition.withLock {
                    patient = !restarted
                    // A commit during a failed round asked to run again: the interval decides.
                    if patient { wakeRequested = false }
                }
            }
            connection = nil
            writer = nil
            condition.withLock {
                state = .stopped
                condition.broadcast()
            }
        }
        thread.start()
    }

    /// Called after every commit of the write connection with the frames now in the log:
    /// wakes the thread once the log is past twice `restartFrames`.
    func logGrew(to frames: Int) {
        guard frames > wakeFrames else { return }
        condition.withLock {
            guard state == .running, !wakeRequested, !patient else { return }
            wakeRequested = true
            condition.signal()
        }
    }

    /// Restarts so far, and how long writes waited for them.
    var totals: CheckpointTotals { counters.totals }

    /// Checkpoints, and restarts a long log; false when a long log could not be restarted.
    private func checkpoint(_ connection: Connection, pausing writer: any DatabaseWriter) -> Bool {
        // A failed checkpoint (e.g. the disk is full) is tried again at the next interval; the
        // WAL keeps every committed change meanwhile.
        guard var backlog = passive(connection) else { return false }
        guard backlog.log > restartFrames, !(backlog.uncopied == 0 && backlog.log == restartedAt) else { return true }
        for _ in 0..<Self.catchUpRuns where backlog.uncopied > Self.tailFrames && isRunning {
            guard let next = passive(connection), next.uncopied < backlog.uncopied else { break }
            backlog = next
        }
        guard backlog.uncopied <= pauseFrames, isRunning else { return false }
        let clock = ContinuousClock()
        let (row, paused) = writer.pausingWrites {
            // Timed from the moment writes stop, not from when the pause joined their queue.
            let start = clock.now
            let row = try? connection.queryFirst("PRAGMA wal_checkpoint(RESTART)")
            return (row, start.duration(to: clock.now))
        }
        // busy = 1 when a reader (or another process's writer) outlasted the patience.
        let restarted = (try? row?.int(0)) == 0
        counters.paused(for: paused, restarted: restarted)
        if restarted { restartedAt = try? row?.int(1) }
        return restarted
    }

    /// Whether the thread is to go on (`stop()` has not been called).
    private var isRunning: Bool { condition.withLock { state == .running } }

    /// Runs a PASSIVE checkpoint: the frames in the log, and how many are not yet copied.
    private func passive(_ connection: Connection) -> (log: Int, uncopied: Int)? {
        guard let row = try? connection.queryFirst("PRAGMA wal_checkpoint(PASSIVE)"),
            let log = try? row.int(1), let copied = try? row.int(2), log >= 0
        else { return nil }
        return (log, log - copied)
    }

    /// Waits for the interval, a long log, or a stop, whichever is first; whether to go on.
    private func waitForWork(_ seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        return condition.withLock {
            while state == .running, !wakeRequested, condition.wait(until: deadline) {}
            wakeRequested = false
            return state == .running
        }
    }

    /// Stops the thread, at once unless it is in a checkpoint, and waits for it.
    func stop() {
        condition.withLock {
            guard state == .running else { return }
            state = .stopping
            condition.broadcast()
            while state != .stopped { condition.wait() }
        }
    }

    deinit { stop() }
}

/// What restarting the WAL cost the writes: how often they were paused and for how long.
public struct CheckpointTotals: Sendable, Equatable {
    /// Pauses of the writes, one per restart attempted.
    public var pauses: Int
    /// Pauses after which the log started over (the others found a reader that stayed too long).
    public var restarts: Int
    public var longestPause: Duration
    public var totalPaused: Duration
}

private final class Counters: Sendable {
    private let totalsNow = Mutex(CheckpointTotals(pauses: 0, restarts: 0, longestPause: .zero, totalPaused: .zero))

    func paused(for duration: Duration, restarted: Bool) {
        totalsNow.withLock { totals in
            totals.pauses += 1
            if restarted { totals.restarts += 1 }
            totals.longestPause = max(totals.longestPause, duration)
            totals.totalPaused += duration
        }
    }

    var totals: CheckpointTotals { totalsNow.withLock { $0 } }
}
