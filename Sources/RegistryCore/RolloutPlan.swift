/// What the server does next with a rollout (contract section 11, docs/ROLLOUT.md): the one
/// place that decides when an automatic rollout advances. `mreg serve` acts on it; `rollout
/// status` shows it; both ask `decide` with the same rollout and clock.
///
/// An automatic rollout leaves a step once the step's hold has passed and every guard holds:
/// for each guard, the newest candidate observation since the step began that carries its
/// metric must pass it. A guard without such an observation is not known to hold, so the
/// rollout waits (the metrics must be observed during each step). Past the last step it
/// completes and `master` moves. Breaches abort when they are observed (`observeRollout`),
/// not here.
public struct RolloutPlan: Sendable, Hashable, Codable {
    public enum Action: String, Sendable, Codable {
        /// To the next step, at `at`.
        case advance
        /// Onto master, at `at`.
        case complete
        /// Nothing until a guard holds (`reason` says which does not).
        case wait
        /// Nothing ever by itself: ended, paused, or advanced by hand.
        case none
    }

    public let action: Action
    /// When the action is due; nil for `wait` and `none`.
    public let at: Timestamp?
    public let reason: String

    static let none = RolloutPlan(action: .none, at: nil, reason: "")

    /// Whether the controller should act at `now`.
    public func isDue(at now: Timestamp) -> Bool {
        guard action == .advance || action == .complete, let at else { return false }
        return at <= now
    }

    public static func decide(_ rollout: Rollout, now: Timestamp) -> RolloutPlan {
        guard rollout.state.isActive else { return RolloutPlan(action: .none, at: nil, reason: "the rollout is \(rollout.state.rawValue)") }
        guard rollout.auto else {
            return RolloutPlan(action: .none, at: nil, reason: "advanced by hand (`mreg rollout advance`); a rollout started with --auto advances itself")
        }
        guard rollout.state == .progressing else { return RolloutPlan(action: .none, at: nil, reason: "paused; the server advances it again once resumed") }
        let last = rollout.step >= rollout.steps.count
        let action: Action = last ? .complete : .advance
        let target = last ? "completes onto master" : "advances to \(rollout.steps[rollout.step].percent)%"
        let problem = guardProblem(rollout)
        if let holdEnds = rollout.holdEndsAt, holdEnds > now {
            let then = problem.map { "; then it waits while \($0)" } ?? "; then, if every guard holds, it \(target)"
            return RolloutPlan(action: action, at: holdEnds, reason: "step \(rollout.step) holds until \(holdEnds)\(then)")
        }
        if let problem { return RolloutPlan(action: .wait, at: nil, reason: problem) }
        let held = rollout.steps[rollout.step - 1].holdMilliseconds > 0 ? "the hold has passed" : "the step has no hold"
        let guards = rollout.guards.isEmpty ? "there are no guards" : "every guard holds"
        return RolloutPlan(action: action, at: now, reason: "\(held) and \(guards): it \(target)")
    }

    /// Why the guards are not known to hold now, or nil when they do.
    static func guardProblem(_ rollout: Rollout) -> String? {
        for check in rollout.guardStatus where check.verdict != .holds {
            switch check.verdict {
            case .unknown:
                let how = check.source == .observe ? "observed" : "read from Prometheus"
                return "\(check.metric) has not been \(how) since step \(rollout.step) began"
            case .inconclusive: return "\(check.metric) is inconclusive: \(check.message ?? "no reading")"
            default: return check.message ?? "\(check.metric) does not hold, required \(check.required)"
            }
        }
        return nil
    }
}

/// Where one guard stands in the current step (`rollout status`): judged on the newest
/// observation since the step began that judged it, pushed or read from Prometheus.
public struct GuardStatus: Sendable, Hashable, Codable {
    public enum Verdict: String, Sendable, Codable {
        case holds, breached
        /// Not judged since the step began.
        case unknown
        /// The server's last reading of its query failed (`message` says why).
        case inconclusive
    }

    public let metric: String
    /// `<= 0.02`, or `<= 1.5 × the baseline`.
    public let required: String
    public let source: Rollout.Source
    /// The value judged: the candidate's, or its ratio to the baseline's.
    public let value: Double?
    public let observedAt: Timestamp?
    public let verdict: Verdict
    /// The check's sentence, or why the reading was inconclusive.
    public let message: String?

    enum CodingKeys: String, CodingKey {
        case metric, required, source, value, verdict, message
        case observedAt = "observed_at"
    }

    /// Every guard of `rollout`, by metric name.
    static func of(_ rollout: Rollout) -> [GuardStatus] {
        let step = rollout.observations.dropFirst(rollout.observationsBeforeStep)
        return rollout.guards.sorted { $0.key < $1.key }.map { metric, rule in
            let source: Rollout.Source = rule.prometheus == nil ? .observe : .prometheus
            let name = "guards.\(metric)"
            let latest = step.last { $0.source == source && ($0.checks.contains { $0.name == name } || $0.inconclusive[metric] != nil) }
            guard let latest else {
                return GuardStatus(
                    metric: metric, required: rule.description, source: source, value: nil, observedAt: nil, verdict: .unknown, message: nil)
            }
            if let reason = latest.inconclusive[metric] {
                return GuardStatus(
                    metric: metric, required: rule.description, source: source, value: nil, observedAt: latest.at, verdict: .inconclusive,
                    message: reason)
            }
            let check = latest.checks.last { $0.name == name }
            return GuardStatus(
                metric: metric, required: rule.description, source: source, value: latest.metrics[metric], observedAt: latest.at,
                verdict: check?.passed == true ? .holds : .breached, message: check?.message)
        }
    }
}
