import CSQLite
import Foundation
import Synchronization

/// Folds the WAL back into the database file from a thread of its own, so no request pays for
/// a checkpoint's fsyncs (https://www.sqlite.org/wal.html#ckpt).
///
/// By default SQLite checkpoints inside the commit that crosses 1000 WAL pages: that one write
/// waits for two fsyncs while holding the write lock, which is what a server's tail latency
/// shows. A long-running process turns automatic checkpoints off on its writer and runs this
/// instead: a PASSIVE checkpoint every interval, which never blocks readers or writers.
///
/// `@unchecked Sendable` invariant: `connection` is used only by the checkpoint thread while it
/// runs and by `stop()` after that thread has finished; `state` is behind a Mutex.
final class WALCheckpointer: @unchecked Sendable {
    private let connection: Connection
    private let interval: Duration
    private let state = Mutex(State())
    private let finished = DispatchSemaphore(value: 0)

    private struct State {
        var stopping = false
        var started = false
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

    /// At most 15 bytes, set from the thread itself, as `GroupCommitExecutor.threadName` explains.
    static let threadName = "mreg-checkpoint"

    func start() {
        guard state.withLock({ state in
            defer { state.started = true }
            return !state.started
        }) else { return }
        let thread = Thread { [self] in
            Thread.current.name = Self.threadName
            while !state.withLock({ $0.stopping }) {
                Thread.sleep(forTimeInterval: Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18)
                // A failed checkpoint (e.g. the disk is full) is retried at the next interval; the
                // WAL keeps every committed change meanwhile.
                let frames = (try? connection.queryFirst("PRAGMA wal_checkpoint(PASSIVE)"))?.optionalInt(1) ?? 0
                // Under steady load a PASSIVE checkpoint never finds a moment without readers,
                // so the WAL is never restarted and grows without bound. Past a size, RESTART
                // waits for readers and briefly holds writers back so the log starts over.
                if frames > Self.restartFrames { try? connection.execute("PRAGMA wal_checkpoint(RESTART)") }
            }
            finished.signal()
        }
        thread.start()
    }

    /// Stops the thread after its current checkpoint and waits for it.
    func stop() {
        let wasRunning = state.withLock { state in
            defer { state.stopping = true }
            return state.started && !state.stopping
        }
        if wasRunning { finished.wait() }
    }

    deinit { stop() }
}
