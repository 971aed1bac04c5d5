import Dispatch

/// Runs the handlers of changing requests on one thread of their own.
///
/// SQLite takes one writer at a time, and the registry's calls are synchronous: on Swift's
/// cooperative pool (one thread per core) a write waiting for the writer lock blocks a thread
/// that reads and other requests need. Serializing writes on their own thread means they never
/// wait for each other's locks and never take the pool's threads away.
final class WriteExecutor: TaskExecutor, @unchecked Sendable {
    // @unchecked Sendable: the only state is the serial queue, which is thread-safe.
    private let queue = DispatchQueue(label: "mreg.writes", qos: .userInitiated)

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
