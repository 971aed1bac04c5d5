import Foundation
import Logging
import RegistryCore
import ServiceLifecycle
import Synchronization

/// Carries the audit log to the server's event streams (`GET /v1/events`; contract section 10).
///
/// The log is the outbox: nothing but committed entries is ever sent, and they are read back
/// from the log itself, so a stream can never show an event the log does not hold. One thread
/// follows the log's head: woken by each commit of this server (`Registry.observeCommits`),
/// and every `pollInterval` for changes made by other processes on the same file. It reads the
/// new entries once and keeps the most recent in memory, so that hundreds of streams are fed
/// from one read, and wakes the streams waiting for them. A stream that is further behind reads
/// the log itself until it catches up.
final class EventHub: Service, @unchecked Sendable {
    // @unchecked: `condition` is a lock; everything else is in `state` or immutable.
    private let registry: Registry
    private let pollInterval: Duration
    private let capacity: Int
    private let condition = NSCondition()
    /// Guarded by `condition`: a commit happened since the thread last looked.
    private var poked = false
    private let state: Mutex<State>

    private struct State {
        /// The newest entries, ending at `head`, oldest first, each with its message.
        var recent: [Event] = []
        /// The last `seq` the hub has seen in the log.
        var head: Int
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
        var stopped = false
        var openStreams = 0
    }

    /// An entry as the hub holds it, encoded once for every stream and subscription.
    struct Event: Sendable {
        let entry: AuditEntry
        /// The entry as the audit log's JSON: a webhook message's `data`.
        let json: [UInt8]
        /// Its Server-Sent Events message: `id:` its seq, `event:` its action, `data:` the JSON
        /// (one line: the JSON writer escapes line breaks inside strings).
        let message: [UInt8]

        init(_ entry: AuditEntry) {
            self.entry = entry
            json = JSONCoding.bytes(entry)
            var message = Array("id: \(entry.seq)\nevent: \(entry.action)\ndata: ".utf8)
            message.append(contentsOf: json)
            message.append(contentsOf: "\n\n".utf8)
            self.message = message
        }
    }

    private struct Waiter {
        let after: Int
        let deadline: ContinuousClock.Instant
        let continuation: CheckedContinuation<Void, Never>
    }

    /// - Parameters:
    ///   - pollInterval: how often the log is looked at without a commit of this server, and
    ///     so how late a stream's heartbeat may be.
    ///   - capacity: how many recent entries are kept for streams to read from memory.
    init(registry: Registry, pollInterval: Duration = .milliseconds(250), capacity: Int = 8_192) throws(RegistryError) {
        self.registry = registry
        self.pollInterval = pollInterval
        self.capacity = capacity
        state = Mutex(State(head: try registry.auditHead()))
        registry.observeCommits { [weak self] in self?.poke() }
    }

    /// The last `seq` the hub has seen.
    var head: Int { state.withLock { $0.head } }

    var openStreams: Int { state.withLock { $0.openStreams } }

    // MARK: The service

    /// Follows the log until the server shuts down, then ends every stream.
    func run() async throws {
        let thread = Thread { [self] in follow() }
        thread.name = "mreg-events"
        thread.start()
        try? await gracefulShutdown()
        stop()
    }

    /// Ends every stream and the thread.
    func stop() {
        condition.lock()
        let waiters = state.withLock { state in
            state.stopped = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        condition.signal()
        condition.unlock()
        for waiter in waiters { waiter.continuation.resume() }
    }

    private func poke() {
        condition.lock()
        poked = true
        condition.signal()
        condition.unlock()
    }

    private func follow() {
        let logger = Logger(label: "mreg.events")
        while true {
            condition.lock()
            if !poked, !state.withLock({ $0.stopped }) {
                _ = condition.wait(until: Date(timeIntervalSinceNow: Self.seconds(pollInterval)))
            }
            poked = false
            condition.unlock()
            if state.withLock({ $0.stopped }) { return }
            do {
                try readNewEntries()
            } catch {
                logger.error("the event stream cannot read the audit log: \(error.message)")
            }
            wakeWaiters()
        }
    }

    /// Appends the entries committed since `head` to `recent`.
    private func readNewEntries() throws(RegistryError) {
        var head = state.withLock { $0.head }
        let newest = try registry.auditHead()
        while head < newest {
            let entries = try registry.auditEntries(after: head, through: newest)
            guard let last = entries.last else { break }
            let events = entries.map(Event.init)
            state.withLock { state in
                state.recent.append(contentsOf: events)
                if state.recent.count > 2 * capacity { state.recent.removeFirst(state.recent.count - capacity) }
                state.head = last.seq
            }
            head = last.seq
        }
    }

    /// Resumes the streams that have something to read, and those whose heartbeat is due.
    private func wakeWaiters() {
        let now = ContinuousClock.now
        let due = state.withLock { state -> [Waiter] in
            let ready = state.waiters.filter { $0.value.after < state.head || $0.value.deadline <= now }
            for id in ready.keys { state.waiters[id] = nil }
            return Array(ready.values)
        }
        for waiter in due { waiter.continuation.resume() }
    }

    // MARK: What a stream asks

    /// Waits until the log has entries after `seq`, `deadline` passes (within `pollInterval`)
    /// or the hub stops.
    func wait(after seq: Int, until deadline: ContinuousClock.Instant) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let now = state.withLock { state -> Bool in
                guard state.head <= seq, !state.stopped else { return true }
                state.waiters[state.nextWaiter] = Waiter(after: seq, deadline: deadline, continuation: continuation)
                state.nextWaiter += 1
                return false
            }
            if now { continuation.resume() }
        }
    }

    var stopped: Bool { state.withLock { $0.stopped } }

    /// The messages of the entries after `seq` through `last` that `filter` lets through, and
    /// how far the log was read: from memory when the hub still holds the entry after `seq`,
    /// else from the log.
    func messages(after seq: Int, through last: Int, _ filter: EventFilter) throws(RegistryError) -> (bytes: [UInt8], through: Int) {
        let fromMemory = state.withLock { state -> (bytes: [UInt8], through: Int)? in
            guard let slice = Self.recent(state, after: seq, through: last) else { return nil }
            var bytes: [UInt8] = []
            for event in slice where filter.matches(event.entry) { bytes.append(contentsOf: event.message) }
            return (bytes, slice.last?.entry.seq ?? seq)
        }
        if let fromMemory { return fromMemory }
        // A stream that ends at `last` reads up to it even past what the hub has seen (it may
        // lag the log by a commit, or have stopped); a followed one up to the hub's head.
        let page = try registry.events(after: seq, through: last == .max ? max(head, seq) : last, filter)
        return (page.events.flatMap { Event($0).message }, page.through)
    }

    /// The entries after `seq` through the hub's head that `filter` lets through, and how far
    /// the log was read: from memory when the hub still holds the entry after `seq`, else from
    /// the log. Webhook deliveries read here, so that many subscriptions cost one read of the
    /// log and one encoding of each entry per commit, not one each.
    func entries(after seq: Int, _ filter: EventFilter) throws(RegistryError) -> (events: [Event], through: Int) {
        let fromMemory = state.withLock { state -> (events: [Event], through: Int)? in
            guard let slice = Self.recent(state, after: seq, through: .max) else { return nil }
            return (slice.filter { filter.matches($0.entry) }, slice.last?.entry.seq ?? seq)
        }
        if let fromMemory { return fromMemory }
        let page = try registry.events(after: seq, through: max(head, seq), filter)
        return (page.events.map(Event.init), page.through)
    }

    /// The held entries after `seq` through `last` (or the head), a page at most; nil when the
    /// hub no longer holds the entry after `seq`, or has nothing after it.
    private static func recent(_ state: State, after seq: Int, through last: Int) -> ArraySlice<Event>? {
        guard let oldest = state.recent.first?.entry.seq, seq + 1 >= oldest, seq < state.head else { return nil }
        return state.recent[(seq + 1 - oldest)...(min(last, state.head) - oldest)].prefix(AuditExport.pageSize)
    }

    /// Counts a stream while `body` runs.
    func counting<T>(_ body: () async throws -> T) async rethrows -> T {
        state.withLock { $0.openStreams += 1 }
        defer { state.withLock { $0.openStreams -= 1 } }
        return try await body()
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
