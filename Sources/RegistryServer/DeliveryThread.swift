import Foundation
import NIOCore
import NIOPosix

/// The thread webhook deliveries run on: one event loop that carries both the delivering tasks
/// (as their task executor) and their HTTP connections, at a lower CPU priority than the
/// threads that serve requests.
///
/// Delivering an event costs about as much CPU as the request that caused it, and a registration
/// with ten subscriptions causes ten. On a machine whose cores are all busy, those sends would
/// otherwise take a share of the CPU from the writes themselves. Here the writes come first: the
/// deliveries get what the requests leave (the kernel still gives a niced thread a small share,
/// so they never stop), their lag grows while the machine is saturated
/// (`mreg_webhook_lag_events`) and they catch up when it is not. On a machine with a spare core
/// the niceness changes nothing.
final class DeliveryThread: TaskExecutor {
    /// How much lower the thread's priority is (`nice`): at 10 the kernel weighs it at about a
    /// tenth of a request thread when both want the same core.
    static let niceness: Int32 = 10

    /// For the HTTP client: its connections live on the same thread.
    let group: MultiThreadedEventLoopGroup
    private let loop: any EventLoop

    init() {
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        loop = group.next()
        // The first job on the loop, so before any delivery. On Linux a thread's nice value is
        // its own, and `who` 0 is the calling thread.
        loop.execute {
            #if os(Linux)
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
            #endif
        }
    }

    /// Runs `body` on the global executor, at the requests' priority, and then comes back: for a
    /// delivering task's writes to the registry. A write can lead a group commit and run the
    /// requests' writes queued behind it (`GroupCommitWriter`); on this thread they would wait
    /// for what CPU the requests leave over, which is the inversion this thread exists to avoid.
    func atRequestPriority<T, Failure: Error>(
        isolation: isolated (any Actor)? = #isolation, _ body: () async throws(Failure) -> T
    ) async throws(Failure) -> T {
        try await withTaskExecutorPreference(globalConcurrentExecutor, isolation: isolation, operation: body)
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }

    func shutdown() async {
        try? await group.shutdownGracefully()
    }
}
