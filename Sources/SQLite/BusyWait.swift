import CSQLite
import Foundation

/// How a connection waits for another connection's lock: up to its timeout, trying again every
/// 100 µs (https://www.sqlite.org/c3ref/busy_handler.html).
///
/// SQLite's own `sqlite3_busy_timeout` sleeps 1, 2, 5, 10, 15, 20, 25 … ms between tries, so a
/// lock held for 3 ms costs its waiter 8 ms. In a server the lock is the WAL checkpointer's
/// RESTART, which holds writers back for a few milliseconds up to twice a second under load; the
/// group-commit leader waiting out those steps was the writes' p999 and much of their p99
/// (strace showed it sleeping 1, 2 and 5 ms in turn).
///
/// Used by one connection, which SQLite calls on the thread running its statement.
final class BusyWait {
    private let timeout: Duration
    private var deadline = ContinuousClock.now
    private static let step: UInt32 = 100  // µs

    init(timeoutMilliseconds: Int32) {
        timeout = .milliseconds(Int(timeoutMilliseconds))
    }

    /// Installs this wait as `connection`'s busy handler. The caller keeps `self` alive for as
    /// long as the connection is open (SQLite holds only a raw pointer).
    func install(on connection: OpaquePointer) {
        sqlite3_busy_handler(connection, busyWaitHandler, Unmanaged.passUnretained(self).toOpaque())
    }

    /// Whether to try again; sleeps first. `attempt` is 0 on the first call of each wait.
    func shouldRetry(attempt: Int32) -> Bool {
        let now = ContinuousClock.now
        if attempt == 0 { deadline = now + timeout }
        guard now < deadline else { return false }
        usleep(Self.step)
        return true
    }
}

private let busyWaitHandler: @convention(c) (UnsafeMutableRawPointer?, Int32) -> Int32 = { context, attempt in
    guard let context else { return 0 }
    return Unmanaged<BusyWait>.fromOpaque(context).takeUnretainedValue().shouldRetry(attempt: attempt) ? 1 : 0
}
