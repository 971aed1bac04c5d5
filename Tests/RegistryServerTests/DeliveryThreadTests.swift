import Foundation
import Testing

@testable import RegistryServer

#if os(Linux)
/// `DeliveryThread`: the delivering tasks run below the requests' priority, their writes do not.
@Suite struct DeliveryThreadTests {
    /// The nice value of the thread running the caller.
    private static func niceness() -> Int32 {
        errno = 0
        return getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
    }

    @Test func tasksRunNicedAndTheirWritesDoNot() async throws {
        let thread = DeliveryThread()
        let task = Task(executorPreference: thread) {
            let delivering = Self.niceness()
            let writing = await thread.atRequestPriority { Self.niceness() }
            let after = Self.niceness()
            return (delivering, writing, after)
        }
        let (delivering, writing, after) = await task.value
        await thread.shutdown()
        #expect(delivering == DeliveryThread.niceness)
        #expect(writing == 0, "a registry write can lead a group commit: not at nice \(DeliveryThread.niceness)")
        #expect(after == DeliveryThread.niceness, "back on the delivery thread after the write")
    }
}
#endif
