import Synchronization
import Hummingbird
import Prometheus
import RegistryCore

/// The server's Prometheus metrics, recorded into a registry of its own (not the process-wide
/// swift-metrics bootstrap), so each application, and each test, has separate counts.
final class ServerMetrics: Sendable {
    let collectors: PrometheusCollectorRegistry
    private let models: Gauge
    private let versions: Gauge
    private let groupCommits: Gauge
    private let groupedWrites: Gauge
    private let walPauses: Gauge
    private let walRestarts: Gauge
    private let walLongestPause: Gauge
    private let walPaused: Gauge
    private let eventStreams: Gauge
    private let eventHead: Gauge
    /// The collectors of each (route, method, status), so a request costs one dictionary lookup
    /// instead of the registry's label matching.
    private let perRequest = Mutex<[RequestKey: (Counter, DurationHistogram)]>([:])

    private struct RequestKey: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    init(collectors: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.collectors = collectors
        self.models = collectors.makeGauge(descriptor: Self.models)
        self.versions = collectors.makeGauge(descriptor: Self.versions)
        self.groupCommits = collectors.makeGauge(descriptor: Self.groupCommits)
        self.groupedWrites = collectors.makeGauge(descriptor: Self.groupedWrites)
        self.walPauses = collectors.makeGauge(descriptor: Self.walPauses)
        self.walRestarts = collectors.makeGauge(descriptor: Self.walRestarts)
        self.walLongestPause = collectors.makeGauge(descriptor: Self.walLongestPause)
        self.walPaused = collectors.makeGauge(descriptor: Self.walPaused)
        self.eventStreams = collectors.makeGauge(descriptor: Self.eventStreams)
        self.eventHead = collectors.makeGauge(descriptor: Self.eventHead)
        self.rolloutRounds = collectors.makeCounter(descriptor: Self.rolloutRoundsRun)
        self.rolloutErrors = collectors.makeCounter(descriptor: Self.rolloutRoundErrors)
        self.rolloutsAutomatic = collectors.makeGauge(descriptor: Self.rolloutsAutomaticActive)
        self.guardEvaluations = collectors.makeDurationHistogram(descriptor: Self.guardEvaluationDuration, buckets: Self.latencyBuckets)
    }

    private let rolloutRounds: Counter
    private let rolloutErrors: Counter
    private let rolloutsAutomatic: Gauge
    private let rolloutSteps = Mutex<[String: Counter]>([:])
    private let guardReadings = Mutex<[String: Counter]>([:])
    private let guardEvaluations: DurationHistogram

    /// One round of the rollout controller: how many automatic rollouts it read, and whether it
    /// failed.
    func recordRolloutRound(automatic: Int?) {
        rolloutRounds.increment()
        if let automatic { rolloutsAutomatic.set(Double(automatic)) } else { rolloutErrors.increment() }
    }

    /// One query guard read by the controller: `holds`, `breached` or `inconclusive`.
    func countGuardReading(_ verdict: String) {
        counter(in: guardReadings, Self.guardReadingsTaken, label: "verdict", verdict).increment()
    }

    /// How long one reading of a rollout's query guards took: its queries and its record.
    func recordGuardEvaluation(_ duration: Duration) {
        guardEvaluations.record(duration)
    }

    /// A step the controller found due and could not take (the round goes on with the others).
    func countRolloutError() {
        rolloutErrors.increment()
    }

    /// A step the controller took: `advance` or `complete`.
    func countRolloutStep(_ action: String) {
        counter(in: rolloutSteps, Self.rolloutStepsTaken, label: "action", action).increment()
    }

    /// The counter of `descriptor` with `label` = `value`, made on first use and kept in `cache`
    /// (the registry's own lookup matches labels on every call).
    private func counter(in cache: borrowing Mutex<[String: Counter]>, _ descriptor: MetricNameDescriptor, label: String, _ value: String) -> Counter {
        cache.withLock { counters in
            if let known = counters[value] { return known }
            let made = collectors.makeCounter(descriptor: descriptor, labels: [(label, value)])
            counters[value] = made
            return made
        }
    }

    private let webhookLags = Mutex<[String: Gauge]>([:])
    private let webhookOutcomes = Mutex<[String: Counter]>([:])

    /// How many events a subscription has yet to deliver: the newest seq minus its cursor.
    func setWebhookLag(_ webhook: String, _ lag: Int) {
        let gauge = webhookLags.withLock { gauges in
            if let known = gauges[webhook] { return known }
            let made = collectors.makeGauge(descriptor: Self.webhookLag, labels: [("webhook", webhook)])
            gauges[webhook] = made
            return made
        }
        gauge.set(Double(lag))
    }

    /// Stops showing a subscription that is no longer delivered to.
    func forgetWebhook(_ webhook: String) {
        if let gauge = webhookLags.withLock({ $0.removeValue(forKey: webhook) }) { collectors.unregisterGauge(gauge) }
    }

    /// Counts one delivery attempt by outcome: `delivered`, `retried` (failed, to be tried
    /// again) or `rejected` (refused for good by the receiver).
    func countWebhookDelivery(_ outcome: String) {
        counter(in: webhookOutcomes, Self.webhookDeliveries, label: "outcome", outcome).increment()
    }

    func recordRequest(route: String, method: String, status: Int, seconds: Double) {
        let key = RequestKey(route: route, method: method, status: status)
        let (counter, histogram) = perRequest.withLock { cache in
            if let known = cache[key] { return known }
            let made = (
                collectors.makeCounter(descriptor: Self.requests, labels: [("route", route), ("method", method), ("status", String(status))]),
                collectors.makeDurationHistogram(
                    descriptor: Self.latency, labels: [("route", route), ("method", method)], buckets: Self.latencyBuckets)
            )
            cache[key] = made
            return made
        }
        counter.increment()
        histogram.record(.nanoseconds(Int64(seconds * 1e9)))
    }

    /// The Prometheus text exposition, with the registry gauges read now.
    func exposition(registry: Registry, events: EventHub) -> [UInt8] {
        eventStreams.set(Double(events.openStreams))
        eventHead.set(Double(events.head))
        if let counts = try? registry.counts() {
            models.set(Double(counts.models))
            versions.set(Double(counts.versions))
        }
        let totals = registry.writeTotals
        groupCommits.set(Double(totals.commits))
        groupedWrites.set(Double(totals.writes))
        if let checkpoints = registry.checkpointTotals {
            walPauses.set(Double(checkpoints.pauses))
            walRestarts.set(Double(checkpoints.restarts))
            walLongestPause.set(Self.seconds(checkpoints.longestPause))
            walPaused.set(Self.seconds(checkpoints.totalPaused))
        }
        var output: [UInt8] = []
        collectors.emit(into: &output)
        return output
    }

    static var models: MetricNameDescriptor { MetricNameDescriptor(namespace: "mreg", metricName: "models", unitName: "", helpText: "Registered models.") }
    static var versions: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", metricName: "versions", unitName: "", helpText: "Registered model versions.") }
    static var groupCommits: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "db", metricName: "group_commits", unitName: "",
        helpText: "Commits of grouped writes since the server started.") }
    static var groupedWrites: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "db", metricName: "grouped_writes", unitName: "",
        helpText: "Writes those commits carried (divided by mreg_db_group_commits: the mean group size).") }
    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    static var walPauses: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "db", metricName: "wal_write_pauses", unitName: "",
        helpText: "Times writes were paused between two groups for the WAL to start over, since the server started.") }
    static var walRestarts: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "db", metricName: "wal_restarts", unitName: "",
        helpText: "Pauses after which the WAL started over (the others found a reader of the old log).") }
    static var walLongestPause: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "db", metricName: "wal_write_pause_longest", unitName: "seconds",
        helpText: "The longest of those pauses.") }
    static var walPaused: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "db", metricName: "wal_write_paused", unitName: "seconds",
        helpText: "The time writes spent paused for the WAL, in all.") }
    static var eventStreams: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "events", metricName: "streams_open", unitName: "",
        helpText: "Event streams (GET /v1/events) open now.") }
    static var eventHead: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "events", metricName: "head_seq", unitName: "",
        helpText: "The newest event (audit seq) the server has read for its streams.") }
    static var webhookLag: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "webhook", metricName: "lag", unitName: "events",
        helpText: "Events a webhook subscription has yet to deliver (the newest seq minus its delivered seq).") }
    static var webhookDeliveries: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "webhook", metricName: "deliveries", unitName: "total",
        helpText: "Webhook delivery attempts by outcome: delivered, retried (failed, tried again) or rejected (a 4xx).") }
    static var rolloutRoundsRun: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "rollout_controller", metricName: "rounds", unitName: "total",
        helpText: "Rounds of the rollout controller (each reads the active automatic rollouts and takes the due steps).") }
    static var rolloutRoundErrors: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "rollout_controller", metricName: "errors", unitName: "total",
        helpText: "Failures of the rollout controller: rounds that could not read the rollouts, and due steps it could not take (the server's log says why).") }
    static var rolloutStepsTaken: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "rollout_controller", metricName: "steps", unitName: "total",
        helpText: "Steps the rollout controller took, by action: advance or complete.") }
    static var guardReadingsTaken: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "rollout_controller", metricName: "guard_readings", unitName: "total",
        helpText: "Query guards the rollout controller read from Prometheus, by verdict: holds, breached or inconclusive (unreachable, an error, no sample).") }
    static var guardEvaluationDuration: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "rollout_controller", metricName: "evaluation_duration", unitName: "seconds",
        helpText: "How long the rollout controller took to read one rollout's query guards from Prometheus and record the reading.") }
    static var rolloutsAutomaticActive: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "rollout_controller", metricName: "automatic_rollouts", unitName: "",
        helpText: "Automatic rollouts progressing, as of the controller's last round.") }
    static var requests: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "http", metricName: "requests", unitName: "total",
        helpText: "HTTP requests by route, method and status.") }
    static var latency: MetricNameDescriptor { MetricNameDescriptor(
        namespace: "mreg", subsystem: "http", metricName: "request_duration", unitName: "seconds",
        helpText: "HTTP request latency by route and method.") }

    static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
        .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(500), .seconds(1),
    ]
}
