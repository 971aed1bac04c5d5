import CSQLite
import Foundation

/// Folds the WAL back into the database file from a thread of its own, so no request pays for
/// a checkpoint's fsyncs (https://www.sqlite.org/wal.html#ckpt).
///
/// By default SQLite checkpoints inside the commit that crosses 1000 WAL pages: that one write
/// waits for two fsyncs while holding the write lock, which is what a server's tail latency
/// shows. A long-running process turns automatic checkpoints off on its writer and runs this
/// instead: a PASSIVE checkpoint every interval, which never blocks readers or writers.
///
/// `@unchecked Sendable` invariant: `connection` is used only by the checkpoint thread (once it
/// started); `state` is only read or written while `condition` is locked.
final class WALCheckpointer: @unchecked Sendable {
    /// Closed by the thread before it reports `.stopped`, so the files are closed when `stop()`
    /// returns (the thread may still hold the checkpointer itself for a moment).
    private var connection: Connection?
    private let interval: Duration
    /// Wakes the thread early when it is told to stop, and tells `stop()` when it has.
    private let condition = NSCondition()
    private var state = State.idle

    private enum State {
        case idle, running, stopping, stopped
    }

    init(path: String, options: Connection.Options, interval: Duration) throws(SQLiteError) {
        // A RESTART holds the write lock while it waits (in the busy handler) for readers to
        // leave the old log: every writer waits with it. So it waits 5 ms at most, gives up, and
        // tries again at the next interval; a short read is always over by then.
        var options = options
        options.busyTimeoutMilliseconds = Self.restartPatienceMilliseconds
        self.connection = try Connection(path: path, options: options)
        self.interval = interval
    }

    /// 4096 frames of 4 KiB pages: 16 MiB of WAL.
    static let restartFrames = 4096
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
            while sleep(seconds), let connection {
                // A failed checkpoint (e.g. the disk is full) is retried at the next interval; the
                // WAL keeps every committed change meanwhile.
                let frames = (try? connection.queryFirst("PRAGMA wal_checkpoint(PASSIVE)")?.optionalInt(1)) ?? 0
                // Under steady load a PASSIVE checkpoint never finds a moment without readers,
                // so the WAL is never restarted and grows without bound. Past a size, RESTART
                // waits for readers and briefly holds writers back so the log starts over.
                if frames > Self.restartFrames { try? connection.execute("PRAGMA wal_checkpoint(RESTART)") }
            }
            connection = nil
            condition.withLock {
                state = .stopped
                condition.broadcast()
            }
        }
        thread.start()
    }

    /// Waits for the interval, or less if told to stop; whether to go on.
    private func sleep(_ seconds: Double) -> Bool {
        let deadline = Date(timeIntervalSinceNow: seconds)
        return condition.withLock {
            while state == .running && condition.wait(until: deadline) {}
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
