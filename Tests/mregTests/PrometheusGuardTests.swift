import Foundation
import MregTestSupport
import Testing

/// Guards that read a real Prometheus (contract section 11, docs/ROLLOUT.md): a stand-in model
/// server exposes request and error counters by version, Prometheus scrapes it every second,
/// and `mreg serve --prometheus-url` reads the guards' queries while rollouts run themselves.
@Suite(.serialized) struct PrometheusGuardTests {
    /// error_rate bounds the candidate alone; error_ratio compares it with the baseline (the same
    /// query asked again with {{candidate}} standing for the baseline).
    static let policy = """
        master:
          rollout:
            auto: true
            interval: 1s
            steps: [{percent: 20, hold: 2s}, {percent: 60, hold: 2s}, 100]
            failure_limit: 0
            guards:
              error_rate:
                query: sum(rate(errors_total{model="{{model}}",version="{{candidate}}"}[5s])) / sum(rate(requests_total{model="{{model}}",version="{{candidate}}"}[5s]))
                max: 0.05
              error_ratio:
                query: sum(rate(errors_total{model="{{model}}",version="{{candidate}}"}[5s])) / sum(rate(requests_total{model="{{model}}",version="{{candidate}}"}[5s]))
                max_ratio_to_baseline: 3
        """

    /// Registers the next version of fraud and promotes it to release.
    static func nextCandidate(_ registry: TemporaryRegistry) async throws -> Int {
        let version = try await registry.register("fraud")
        _ = try await registry.json("promote", "fraud", "--to", "release", "--version", String(version))
        return version
    }

    @Test(.enabled(if: PrometheusServer.installed, "Debian's prometheus is not installed; `make test-tools` installs it"), .timeLimit(.minutes(5)))
    func rolloutsAdvanceAndAbortOnWhatPrometheusReads() async throws {
        try await withTemporaryDirectory { directory in
            try await ModelServerStandIn.with(in: directory.path) { traffic in
                try await PrometheusServer.with(scraping: traffic.target, in: directory.path) { prometheus in
                    try await withTemporaryRegistry(.server, serveOptions: ["--prometheus-url", prometheus.url]) { registry in
                        try await Self.run(registry, traffic, prometheus)
                    }
                }
            }
        }
    }

    static func run(_ registry: TemporaryRegistry, _ traffic: ModelServerStandIn, _ prometheus: PrometheusServer) async throws {
        try await RolloutAutomationTests.prepare(registry)  // v1 on master, v2 on release
        _ = try await registry.json("policy", "set", "fraud", "--file", try registry.write("policy.yaml", policy))
        for version in 1...2 { try await traffic.set(model: "fraud", version: version, rate: 200, errorFraction: 0.01) }

        // 1. Low errors: the rollout reads them at every step and completes by itself.
        let first = try await registry.json("rollout", "start", "fraud", "--version", "2")
        #expect(first.bool("auto") == true && first.string("next_evaluation_at") != nil, "\(first)")
        let done = try await RolloutAutomationTests.waitFor(registry, state: "completed", seconds: 60)
        #expect(done.string("state") == "completed", "\(done)")
        #expect(try await registry.branches("fraud").master == 2)
        let entries = try await RolloutAutomationTests.rolloutEntries(registry)
        let evaluations = entries.filter { $0.action == "rollout.observe" && $0.details["source"] as? String == "prometheus" }
        #expect(evaluations.allSatisfy { $0.actor == "system" })
        let conclusive = evaluations.filter { $0.details["inconclusive"] == nil }
        #expect(conclusive.count >= 3, "read at each of the three steps: \(evaluations.map(\.details))")
        for evaluation in conclusive {
            let metrics = try #require(evaluation.details["metrics"] as? [String: Any])
            #expect((metrics["error_rate"] as? Double).map { abs($0 - 0.01) < 0.005 } == true, "\(metrics)")
            #expect((metrics["error_ratio"] as? Double).map { abs($0 - 1) < 0.5 } == true, "\(metrics)")
        }
        #expect(entries.filter { $0.action == "rollout.advance" }.allSatisfy { $0.actor == "system" })
        let history = try await registry.mreg("rollout", "history", "fraud")
        #expect(history.status == 0 && history.stdout.contains("source=\"prometheus\""), "\(history)")

        // 2. The candidate's errors rise: the next reading breaches and aborts.
        let v3 = try await nextCandidate(registry)
        try await traffic.set(model: "fraud", version: v3, rate: 200, errorFraction: 0.01)
        _ = try await registry.json("rollout", "start", "fraud", "--version", String(v3), "--steps", "20:1m,100")
        let holding = try await waitForGuards(registry, ["holds", "holds"])
        #expect(holding.string("state") == "progressing", "\(holding)")
        let raised = Date()
        try await traffic.set(model: "fraud", version: v3, rate: 200, errorFraction: 0.5)
        let aborted = try await RolloutAutomationTests.waitFor(registry, state: "aborted", seconds: 30)
        #expect(aborted.string("state") == "aborted", "\(aborted)")
        // Whichever guard the rising rate crosses first: the ratio (3 × 1 %) before the bound (5 %)
        // when a reading falls between them.
        #expect(aborted.string("reason")?.hasPrefix("guard breached 1 times, more than the failure limit 0: error_rat") == true, "\(aborted)")
        let abort = try #require(try await RolloutAutomationTests.rolloutEntries(registry).last)
        #expect(abort.action == "rollout.abort" && abort.actor == "system")
        let breachToAbort = Double(abort.at) / 1000 - raised.timeIntervalSince1970
        print("prometheus guards: errors raised → abort committed in \(String(format: "%.2f", breachToAbort)) s (scrape 1s, rate over 5s, interval 1s)")
        #expect(breachToAbort < 20)
        #expect(try await registry.branches("fraud").master == 2, "an abort leaves master alone")

        // 3. Errors under error_rate's bound but four times the baseline's: the ratio aborts.
        let v4 = try await nextCandidate(registry)
        try await traffic.set(model: "fraud", version: v4, rate: 200, errorFraction: 0.04)
        _ = try await registry.json("rollout", "start", "fraud", "--version", String(v4), "--steps", "20:1m,100")
        let byRatio = try await RolloutAutomationTests.waitFor(registry, state: "aborted", seconds: 30)
        #expect(byRatio.string("state") == "aborted", "\(byRatio)")
        let reason = byRatio.string("reason") ?? ""
        #expect(reason.contains("error_ratio is") && reason.contains("× the baseline") && !reason.contains("error_rate is"), "\(reason)")

        // 4. Prometheus stops: every reading is inconclusive, and the rollout holds still past its hold.
        prometheus.stop()
        let v5 = try await nextCandidate(registry)
        _ = try await registry.json("rollout", "start", "fraud", "--version", String(v5), "--steps", "20:1s,100")
        let unreachable = "Prometheus at \(prometheus.url) did not answer"
        let stuck = try await waitForStatus(registry) { status in
            (status["guard_status"] as? [[String: Any]])?.allSatisfy {
                $0.string("verdict") == "inconclusive" && $0.string("message")?.hasPrefix(unreachable) == true
            } == true
        }
        #expect((stuck["guard_status"] as? [[String: Any]])?.count == 2, "\(stuck)")
        try await Task.sleep(for: .seconds(2))  // past the hold
        let still = try await registry.json("rollout", "status", "fraud")
        #expect(still.string("state") == "progressing" && still.int("step") == 1 && still.int("percent") == 20, "\(still)")
        #expect(still.object("next")?.string("action") == "wait", "\(still)")
        #expect(still.object("next")?.string("reason")?.contains("is inconclusive: \(unreachable)") == true, "\(still.object("next") ?? [:])")
        #expect(still.int("failures") == 0, "inconclusive is not a breach")
        let human = try await registry.mreg("rollout", "status", "fraud")
        #expect(human.stdout.contains("error_rate (prometheus) <= 0.05: inconclusive"), "\(human)")
        let port = try #require(registry.server?.process.port)
        let metrics = try await LoopbackHTTP.request("GET", "http://127.0.0.1:\(port)/metrics").text
        #expect(metrics.contains(#"mreg_rollout_controller_guard_readings_total{verdict="inconclusive"}"#), "\(metrics)")
        #expect(metrics.contains(#"mreg_rollout_controller_guard_readings_total{verdict="breached"}"#))
        // What a reading costs, queries to a real Prometheus included; the readings after it
        // stopped wait for their connection to fail (up to the 5 s timeout).
        func readings(under bucket: String) -> Int? {
            let line = #"mreg_rollout_controller_evaluation_duration_seconds_bucket{le=""# + bucket + #""} "#
            return metrics.split(separator: "\n").first { $0.hasPrefix(line) }.flatMap { Int($0.dropFirst(line.count)) }
        }
        let all = try #require(readings(under: "+Inf"), "\(metrics)")
        #expect(all > 0)
        print("prometheus guards: \(all) readings, \(readings(under: "0.01") ?? 0) within 10 ms, \(readings(under: "0.025") ?? 0) within 25 ms, \(readings(under: "1.0") ?? 0) within 1 s")
        #expect(try await registry.json("audit", "verify", "--state").bool("ok") == true)
    }

    /// An address Prometheus cannot be asked at, or one with credentials (they would be written
    /// into the audit log with every failed reading), stops `mreg serve` before it starts.
    @Test(arguments: ["prometheus:9090", "ftp://prometheus:9090", "http://ops:s3cret@prometheus:9090", "http://prometheus:9090/?x=1"])
    func aBadPrometheusURLIsAUsageError(url: String) async throws {
        try await withTemporaryRegistry(.file) { registry in
            let refused = try await registry.mreg("serve", "--port", "0", "--prometheus-url", url)
            #expect(refused.status == 2, "\(refused)")
            #expect(refused.stderr.contains("--prometheus-url must"), "\(refused)")
            #expect(!refused.stderr.contains("s3cret") || refused.stderr.contains("must not carry credentials"), "\(refused)")
        }
    }

    /// Waits up to 30 s for the rollout's guards to read `verdicts` (by metric name), and returns its status.
    static func waitForGuards(_ registry: TemporaryRegistry, _ verdicts: [String]) async throws -> [String: Any] {
        try await waitForStatus(registry) { status in
            (status["guard_status"] as? [[String: Any]])?.compactMap { $0.string("verdict") } == verdicts
        }
    }

    /// Waits up to 30 s for the rollout's status to satisfy `done`, and returns the last one read.
    static func waitForStatus(_ registry: TemporaryRegistry, _ done: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + .seconds(30)
        while true {
            let status = try await registry.json("rollout", "status", "fraud")
            if done(status) || ContinuousClock.now > deadline { return status }
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
