import Foundation
import MregTestSupport
import Synchronization

/// Where threads wait for each other so that their work really overlaps.
private final class StartLine: Sendable {
    private let arrived = Atomic<Int>(0)
    private let expected: Int

    init(expected: Int) { self.expected = expected }

    func arriveAndWait() {
        arrived.add(1, ordering: .sequentiallyConsistent)
        while arrived.load(ordering: .sequentiallyConsistent) < expected { sched_yield() }
    }
}

/// Runs `body(0)`, `body(1)` … `body(count - 1)` each on a thread of its own, all released at
/// once, and waits for every one of them.
///
/// Plain threads rather than tasks: the code under test blocks (locks, SQLite's busy handler),
/// and blocking the few threads of Swift's cooperative pool would hide the contention.
/// - Throws: the first error a thread threw (after all have finished).
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) async throws {
    let startLine = StartLine(expected: count)
    try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0..<count {
            group.addTask {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    let thread = Thread {
                        startLine.arriveAndWait()
                        do {
                            try body(index)
                            continuation.resume()
                        } catch {
                            continuation.resume(throwing: error)
                        }
                    }
                    thread.start()
                }
            }
        }
        try await group.waitForAll()
    }
}

/// A count that threads can bump and read.
final class Counter: Sendable {
    private let storage = Atomic<Int>(0)

    func increment() { storage.add(1, ordering: .relaxed) }
    var value: Int { storage.load(ordering: .relaxed) }
}

/// A list that threads can append to.
final class SharedList<Element: Sendable>: Sendable {
    private let storage = Mutex<[Element]>([])

    func append(_ element: Element) { storage.withLock { $0.append(element) } }
    func append(contentsOf elements: [Element]) { storage.withLock { $0.append(contentsOf: elements) } }
    var elements: [Element] { storage.withLock { $0 } }
}

/// The kernel's name of the calling thread, as `top -H` and `perf` show it.
func currentThreadName() -> String? { threadName(at: "/proc/thread-self/comm") }

/// The kernel's names of this process's threads.
func processThreadNames() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").compactMap { threadName(at: "/proc/self/task/\($0)/comm") }
}

private func threadName(at path: String) -> String? {
    try? String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .newlines)
}

/// Runs `body(0..<count)` as that many concurrent tasks and waits for all of them: for writers,
/// whose `Database.write` is `async`.
func concurrently(_ count: Int, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for index in 0..<count { group.addTask { try await body(index) } }
        try await group.waitForAll()
    }
}
