import Logging
import RegistryCore
import ServiceLifecycle

/// Looks after the progressing rollouts (contract section 11, docs/ROLLOUT.md) inside `mreg serve`.
///
/// Each round it reads them with their plans (`RolloutPlan`). For each whose query guards are
/// due (`nextEvaluationAt`: at once in a new step, then every `interval`) it asks Prometheus and
/// records the evaluation, which may abort the rollout; then, for an automatic one, it takes the
/// step that is due, one transaction each with its audit entry (actor `system`). It sleeps until
/// the earliest hold end or evaluation, at most `maxNap`, and wakes early when something commits
/// (an observation may have made the guards hold), at most every `minGap`. The state is in the
/// database, so after a restart it goes on where the holds stand; with no server running,
/// rollouts wait. Several servers on one file may run it: each step and each evaluation is
/// checked again inside its transaction, so none is taken twice.
final class RolloutController: Service, Sendable {
    private let registry: Registry
    /// Nil without `--prometheus-url`: query guards are then inconclusive.
    private let prometheus: PrometheusClient?
    private let metrics: ServerMetrics
    private let maxNap: Duration
    private let minGap: Duration
    private let wake = Wakeup()
    private let logger = Logger(label: "mreg.rollouts")

    init(
        registry: Registry, prometheus: PrometheusClient?, metrics: ServerMetrics, maxNap: Duration = .seconds(1),
        minGap: Duration = .milliseconds(100)
    ) {
        self.registry = registry
        self.prometheus = prometheus
        self.metrics = metrics
        self.maxNap = maxNap
        self.minGap = minGap
        registry.observeCommits { [weak self] in self?.wake.poke() }
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { [self] in
            while !Task.isCancelled {
                let nap = await round()
                try? await Task.sleep(for: minGap)
                await wake.nap(for: max(.zero, nap - minGap))
            }
        }
        await prometheus?.shutdown()
    }

    /// Takes the steps that are due; returns how long to sleep before the next round.
    func round() async -> Duration {
        let rollouts: [Rollout]
        do {
            rollouts = try registry.rolloutsToWatch()
        } catch {
            logger.error("the rollout controller cannot read the rollouts: \(error.message)")
            metrics.recordRolloutRound(automatic: nil)
            return maxNap
        }
        var nap = maxNap
        for read in rollouts {
            var rollout = read
            if let due = rollout.nextEvaluationAt {
                let now = registry.clock()
                if due <= now {
                    guard let evaluated = await evaluate(rollout) else { continue }
                    rollout = evaluated
                }
                if let next = rollout.nextEvaluationAt { nap = min(nap, until(next)) }
            }
            guard rollout.next.isDue(at: registry.clock()) else {
                if let at = rollout.next.at { nap = min(nap, until(at)) }
                continue
            }
            do {
                // Decided again in the transaction: nil when another server took the step first.
                guard let after = try await registry.advanceAutomatically(model: rollout.model, rollout: rollout.id) else { continue }
                let action: RolloutPlan.Action = after.state == .completed ? .complete : .advance
                logger.info("rollout #\(rollout.id) of \(rollout.model): \(action.rawValue), now \(after.state.rawValue) at \(after.percent)%")
                metrics.countRolloutStep(action.rawValue)
                nap = .zero  // its next step may be due at once
            } catch {
                // Holds up this rollout alone, until the next round tries it again.
                logger.error("the rollout controller cannot advance rollout #\(rollout.id) of \(rollout.model): \(error.message)")
                metrics.countRolloutError()
            }
        }
        metrics.recordRolloutRound(automatic: rollouts.count { $0.auto })
        return nap
    }

    /// How long from now until `moment` (zero once it has passed).
    private func until(_ moment: Timestamp) -> Duration {
        .milliseconds(max(0, moment.millisecondsSinceEpoch - registry.clock().millisecondsSinceEpoch))
    }

    /// Reads `rollout`'s query guards from Prometheus and records the evaluation. Returns the
    /// rollout after it, or nil when it was not recorded (it ended, another server evaluated
    /// first, or the write failed), and this round leaves the rollout alone.
    private func evaluate(_ rollout: Rollout) async -> Rollout? {
        let start = ContinuousClock.now
        let readings = await withTaskGroup(of: (String, Result<[Double], GuardInconclusive>).self) { group in
            for (metric, rule) in rollout.guards {
                guard let query = rule.prometheus else { continue }
                group.addTask { [prometheus] in
                    switch query.queries(model: rollout.model, candidate: rollout.candidate, baseline: rollout.baseline) {
                    case .failure(let why): return (metric, .failure(why))
                    case .success(let queries):
                        guard let prometheus else { return (metric, .failure(GuardInconclusive("mreg serve has no --prometheus-url to ask"))) }
                        var answers: [Double] = []
                        for promQL in queries {
                            switch await prometheus.value(of: promQL) {
                            case .success(let value): answers.append(value)
                            case .failure(let why): return (metric, .failure(why))
                            }
                        }
                        return (metric, .success(answers))
                    }
                }
            }
            return await group.reduce(into: [:]) { $0[$1.0] = $1.1 }
        }
        do {
            guard let after = try await registry.recordEvaluation(of: rollout, readings: readings)
            else { return nil }
            metrics.recordGuardEvaluation(ContinuousClock.now - start)
            if let evaluation = after.observations.last {
                for check in evaluation.checks { metrics.countGuardReading(check.passed ? "holds" : "breached") }
                for _ in evaluation.inconclusive { metrics.countGuardReading("inconclusive") }
            }
            if after.state == .aborted { logger.warning("rollout #\(rollout.id) of \(rollout.model) aborted: \(after.reason)") }
            return after.state == .progressing ? after : nil
        } catch {
            logger.error("the rollout controller cannot record rollout #\(rollout.id)'s evaluation: \(error.message)")
            metrics.countRolloutError()
            return nil
        }
    }
}
