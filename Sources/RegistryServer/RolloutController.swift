import Logging
import RegistryCore
import ServiceLifecycle

/// Advances the automatic rollouts (contract section 11, docs/ROLLOUT.md) inside `mreg serve`.
///
/// Each round it reads the active automatic rollouts with their plans (`RolloutPlan`) and takes
/// every step that is due, one transaction each with its audit entry (actor `system`). It
/// sleeps until the earliest hold ends, at most `maxNap`, and wakes early when something
/// commits (an observation may have made the guards hold), at most every `minGap`. The state
/// is in the database, so after a restart it goes on where the holds stand; with no server
/// running, automatic rollouts wait. Several servers on one file may run it: each step is
/// decided again inside its transaction (`Registry.advanceAutomatically`), so none is taken twice.
final class RolloutController: Service, Sendable {
    private let registry: Registry
    private let metrics: ServerMetrics
    private let maxNap: Duration
    private let minGap: Duration
    private let wake = Wakeup()
    private let logger = Logger(label: "mreg.rollouts")

    init(registry: Registry, metrics: ServerMetrics, maxNap: Duration = .seconds(1), minGap: Duration = .milliseconds(100)) {
        self.registry = registry
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
    }

    /// Takes the steps that are due; returns how long to sleep before the next round.
    func round() async -> Duration {
        let rollouts: [Rollout]
        do {
            rollouts = try registry.automaticRollouts()
        } catch {
            logger.error("the rollout controller cannot read the automatic rollouts: \(error.message)")
            metrics.recordRolloutRound(automatic: nil)
            return maxNap
        }
        var nap = maxNap
        for rollout in rollouts {
            let now = registry.clock()
            guard rollout.next.isDue(at: now) else {
                if let at = rollout.next.at { nap = min(nap, .milliseconds(max(0, at.millisecondsSinceEpoch - now.millisecondsSinceEpoch))) }
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
        metrics.recordRolloutRound(automatic: rollouts.count)
        return nap
    }
}
