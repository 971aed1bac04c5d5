import Foundation
import Logging
import RegistryCore
import ServiceLifecycle
import Synchronization

/// Delivers the audit log to the webhook subscriptions (contract section 10, docs/EVENTS.md).
///
/// The log is the outbox. Each enabled subscription has a task of its own that reads the events
/// after its `delivered_seq` (woken by the `EventHub`, as the streams are), sends those that pass
/// its filters one at a time, in order, retrying one that fails until it is taken, and records
/// every attempt and how far it got. Subscriptions are independent: a slow or dead receiver
/// holds up only its own, and never a write, which does not wait for any delivery. A crash
/// loses no event: what was sent but not yet recorded is sent again (at least once; the
/// `webhook-id` lets a receiver drop the repeat).
final class WebhookDispatcher: Service, Sendable {
    private let registry: Registry
    private let hub: EventHub
    private let settings: WebhookSettings
    private let key: SecretsKey
    private let sender: WebhookSender
    /// Where the delivering tasks and their connections run, below the requests' priority; their
    /// writes to the registry run at the requests' (`DeliveryThread.atRequestPriority`).
    private let thread = DeliveryThread()
    /// The sends an admin asks for (`webhook test`, `webhook redeliver`), with the same sender.
    let sends: WebhookSends
    private let metrics: ServerMetrics
    /// How often the list of subscriptions is read again: changes by another process on the
    /// same file are seen this late (those through this server at once, `refresh()`).
    private let rescan: Duration
    private let logger = Logger(label: "mreg.webhooks")
    /// The tokens of the tasks that ended by themselves (they disabled their subscription, or
    /// could not read it): on the next look, one still enabled is started again.
    private let finished = Mutex<Set<UUID>>([])
    /// Cut short by `refresh()`.
    private let wake = Wakeup()

    init(registry: Registry, hub: EventHub, settings: WebhookSettings, key: SecretsKey, metrics: ServerMetrics, rescan: Duration = .milliseconds(500)) {
        self.registry = registry
        self.hub = hub
        self.settings = settings
        self.key = key
        let sender = WebhookSender(settings: settings, group: thread.group, count: metrics.countWebhookDelivery)
        self.sender = sender
        self.sends = WebhookSends(registry: registry, key: key, sender: sender)
        self.metrics = metrics
        self.rescan = rescan
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { [self] in await supervise() }
        await sender.shutdown()
        await thread.shutdown()
    }

    /// Keeps one delivering task per enabled subscription, as the table says, until cancelled.
    /// A task is replaced only once it has ended, so two never send for one subscription.
    private func supervise() async {
        var running: [String: (webhook: Webhook, task: Task<Void, Never>, token: UUID)] = [:]
        while !Task.isCancelled {
            do {
                let enabled = try registry.webhooks().filter(\.enabled)
                let wanted = Dictionary(uniqueKeysWithValues: enabled.map { ($0.id, $0) })
                let ended = finished.withLock { ended in
                    defer { ended = [] }
                    return ended
                }
                for (id, worker) in running where ended.contains(worker.token) || wanted[id].map({ Self.sameTarget($0, worker.webhook) }) != true {
                    worker.task.cancel()
                    await worker.task.value
                    running[id] = nil
                    if wanted[id] == nil { metrics.forgetWebhook(id) }
                }
                for (id, webhook) in wanted where running[id] == nil {
                    // The task marks its own token, so that a task cancelled here (whose end is
                    // no news) is never taken for the one that replaced it.
                    let token = UUID()
                    let task = Task(executorPreference: thread) { [self] in
                        await deliver(webhook)
                        if !Task.isCancelled { finished.withLock { _ = $0.insert(token) } }
                    }
                    running[id] = (webhook, task, token)
                }
            } catch {
                logger.error("cannot read the webhook subscriptions: \(error.message)")
            }
            await wake.nap(for: rescan)
        }
        for worker in running.values { worker.task.cancel() }
        for worker in running.values { await worker.task.value }
    }

    /// Makes the supervisor look at the subscriptions now rather than at its next round: a
    /// subscription added, disabled or removed through this server takes effect at once.
    func refresh() { wake.poke() }

    /// Whether a running task still serves `webhook` as it is now (an admin may have changed
    /// nothing that matters, or re-enabled it after a failure the task ended on).
    private static func sameTarget(_ new: Webhook, _ old: Webhook) -> Bool {
        new.url == old.url && new.events == old.events && new.model == old.model && new.updatedAt == old.updatedAt
    }

    // MARK: One subscription

    /// Delivers to one subscription, in order, until cancelled or disabled.
    private func deliver(_ webhook: Webhook) async {
        let secret: [UInt8], filter: EventFilter
        do {
            let sealed = try registry.sealedWebhookSecret(id: webhook.id)
            do {
                secret = try key.unseal(sealed)
                filter = try webhook.filter()
            } catch {
                // Nothing this server can send will verify, or pass the right events.
                await disable(webhook, because: error.message)
                return
            }
        } catch {
            // Removed meanwhile, or the database is busy: the supervisor looks again.
            if error.code != .notFound { logger.error("cannot read webhook \(webhook.id): \(error.message)") }
            try? await Task.sleep(for: .seconds(5))
            return
        }
        var state = Progress(cursor: webhook.deliveredSeq, failingSince: webhook.failingSince)
        while !Task.isCancelled {
            await hub.wait(after: state.cursor, until: .now + .seconds(1))
            let head = hub.head
            metrics.setWebhookLag(webhook.id, head - state.cursor)
            guard head > state.cursor else {
                // Quiet: what was delivered since the last record is recorded now.
                if !state.pending.isEmpty || state.failingChanged { guard await flush(webhook, &state) else { return } }
                continue
            }
            let page: (events: [EventHub.Event], through: Int)
            do {
                page = try hub.entries(after: state.cursor, filter)
            } catch {
                logger.error("webhook \(webhook.id) cannot read the log: \(error.message)")
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            for event in page.events {
                guard await deliver(WebhookMessage(event.entry, json: event.json), to: webhook, secret: secret, state: &state) else {
                    await flush(webhook, &state)
                    return
                }
                state.cursor = event.entry.seq
                metrics.setWebhookLag(webhook.id, head - state.cursor)
                if state.pending.count >= 64 || ContinuousClock.now - state.lastFlush >= .milliseconds(200) {
                    guard await flush(webhook, &state) else { return }
                }
            }
            state.cursor = page.through
            metrics.setWebhookLag(webhook.id, head - state.cursor)
            // Recorded in batches, as above, and when the log goes quiet; a cursor that moved
            // only past events the filters dropped now and then (reading them again after a
            // restart sends nothing). Each record is a commit: one per page per subscription
            // made busy writers wait on the disk (BENCHMARKS.md).
            let due = state.pending.isEmpty ? .seconds(5) : Duration.milliseconds(200)
            if state.pending.count >= 64 || ContinuousClock.now - state.lastFlush >= due {
                guard await flush(webhook, &state) else { return }
            }
        }
        await flush(webhook, &state)
    }

    /// Where one subscription's deliveries stand, and what is not yet recorded.
    private struct Progress {
        var cursor: Int
        var failingSince: Timestamp?
        var failingChanged = false
        var pending: [WebhookDelivery] = []
        var lastFlush = ContinuousClock.now
    }

    /// Sends one event until the receiver takes it, or refuses it for good (a 4xx: recorded,
    /// and the next event goes on). Returns false when the task must end: cancelled (the
    /// server stops, or the subscription was disabled or removed) or disabled here after
    /// failing for `disableAfter`.
    private func deliver(_ message: WebhookMessage, to webhook: Webhook, secret: [UInt8], state: inout Progress) async -> Bool {
        var attempt = 1
        while true {
            if Task.isCancelled { return false }
            let at = registry.clock()
            let answer = await sender.send(message, to: webhook.url, secret: secret)
            // Stopped during the send (the server stops, the subscription changed): whatever came
            // of it is not this subscription's failure; the event is sent again later.
            if Task.isCancelled { return false }
            state.pending.append(answer.record(of: message, to: webhook.id, attempt: attempt, at: at, kind: .delivery))
            if answer.delivered || !answer.retryable {
                if state.failingSince != nil {
                    state.failingSince = nil
                    state.failingChanged = true
                }
                if answer.status == 410 {
                    await flush(webhook, &state)
                    await disable(webhook, because: "the receiver answered 410 Gone")
                    return false
                }
                return true
            }
            let failingSince = state.failingSince ?? at
            if state.failingSince == nil {
                state.failingSince = at
                state.failingChanged = true
            }
            // Failures are rare and worth seeing at once in `webhook deliveries`.
            guard await flush(webhook, &state) else { return false }
            let failing = Duration.milliseconds(registry.clock().millisecondsSinceEpoch - failingSince.millisecondsSinceEpoch)
            if failing >= settings.disableAfter {
                await disable(
                    webhook, because: "deliveries failed for \(Self.describe(failing)) (the last: \(answer.error ?? "no answer"))")
                return false
            }
            do {
                try await Task.sleep(for: settings.wait(beforeRetry: attempt, retryAfter: answer.retryAfter))
            } catch {
                return false
            }
            attempt += 1
        }
    }

    /// Records the pending attempts and the cursor. Returns false when the subscription is gone.
    @discardableResult
    private func flush(_ webhook: Webhook, _ state: inout Progress) async -> Bool {
        let attempts = state.pending
        let failing: Timestamp?? = state.failingChanged ? .some(state.failingSince) : .none
        do {
            let cursor = state.cursor
            let recorded = try await thread.atRequestPriority { () async throws(RegistryError) in
                try await registry.recordDeliveries(webhook: webhook.id, attempts, deliveredThrough: cursor, failingSince: failing)
            }
            state.pending = []
            state.failingChanged = false
            state.lastFlush = .now
            return recorded != nil
        } catch {
            // Kept for the next flush; the events are sent again after a restart if it never comes.
            logger.error("cannot record webhook \(webhook.id)'s deliveries: \(error.message)")
            return true
        }
    }

    private func disable(_ webhook: Webhook, because reason: String) async {
        logger.warning("disabling webhook \(webhook.id): \(reason)")
        do {
            _ = try await thread.atRequestPriority { () async throws(RegistryError) in
                try await registry.disableWebhook(id: webhook.id, reason: reason, by: Caller(name: "system", role: .admin))
            }
        } catch {
            logger.error("cannot disable webhook \(webhook.id): \(error.message)")
        }
    }

    private static func describe(_ duration: Duration) -> String {
        let seconds = duration.components.seconds
        if seconds >= 3600 { return "\(seconds / 3600) h \(seconds % 3600 / 60) min" }
        if seconds >= 60 { return "\(seconds / 60) min \(seconds % 60) s" }
        return "\(seconds) s"
    }
}
