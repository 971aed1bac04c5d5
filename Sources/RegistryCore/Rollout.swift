/// A gray release of a candidate version onto `master` (contract section 6).
public struct Rollout: Sendable, Codable, Hashable, JSONWritable {
    public enum State: String, Sendable, Codable, CaseIterable {
        case progressing, paused, aborted, completed

        public var isActive: Bool { self == .progressing || self == .paused }
    }

    public struct Observation: Sendable, Codable, Hashable {
        public let id: Int
        public let target: Target
        /// Pushed by `rollout observe`, or read from Prometheus by the server.
        public let source: Source
        public let metrics: [String: Double]
        /// Whether no guard it judged was breached.
        public let passed: Bool
        public let checks: [GateResult]
        /// The query guards it could not judge, and why (Prometheus unreachable, no sample …).
        public let inconclusive: [String: String]
        public let actor: String
        public let at: Timestamp
    }

    /// Contract section 11: `observe` (pushed) or `prometheus` (the server's reading).
    public enum Source: String, Sendable, Codable { case observe, prometheus }

    public enum Target: String, Sendable, Codable { case candidate, baseline }

    public let id: Int
    public let model: String
    public let state: State
    public let candidate: Int
    /// What `master` held when the rollout started; it keeps serving the other keys.
    public let baseline: Int?
    public let steps: [RolloutStep]
    /// 1-based number of the current step.
    public let step: Int
    /// Whether the server advances it (contract section 11; `RolloutPlan`).
    public let auto: Bool
    /// When the current step began (started, advanced to, or resumed): its hold counts from here.
    public let stepStartedAt: Timestamp
    /// How many of `observations` came before the current step began; its guards are judged on
    /// the rest. Counted rather than timed: commits are ordered, their clocks only roughly.
    public let observationsBeforeStep: Int
    /// When the current step's hold ends; nil without a hold or once the rollout has ended.
    public var holdEndsAt: Timestamp? {
        guard state.isActive, step >= 1, step <= steps.count, steps[step - 1].holdMilliseconds > 0 else { return nil }
        return Timestamp(millisecondsSinceEpoch: stepStartedAt.millisecondsSinceEpoch + steps[step - 1].holdMilliseconds)
    }
    /// The share of request keys the candidate serves now.
    public let percent: Int
    public let guards: [String: RolloutGuard]
    /// How often the server evaluates the query guards.
    public let intervalMilliseconds: Int64
    /// When the server evaluates the query guards next: at once in a step not yet evaluated,
    /// then every interval. Nil without query guards or while not progressing.
    public var nextEvaluationAt: Timestamp? {
        guard state == .progressing, guards.values.contains(where: { $0.prometheus != nil }) else { return nil }
        guard let last = observations.dropFirst(observationsBeforeStep).last(where: { $0.source == .prometheus }) else { return stepStartedAt }
        return Timestamp(millisecondsSinceEpoch: last.at.millisecondsSinceEpoch + intervalMilliseconds)
    }
    /// The id of the server's last reading in the current step, which the next one must follow
    /// (two servers on one file record one reading between them). Of the step, so that a full
    /// read and a controller's read of the step's newest observations agree.
    public var lastEvaluationID: Int? { observations.dropFirst(observationsBeforeStep).last { $0.source == .prometheus }?.id }
    public let failureLimit: Int
    /// Candidate observations that breached a guard so far.
    public let failures: Int
    public let reason: String
    public let startedBy: String
    public let startedAt: Timestamp
    public let updatedAt: Timestamp
    public let observations: [Observation]
    /// Each guard's latest value in the current step, and its verdict.
    public private(set) var guardStatus: [GuardStatus]
    /// What the server's controller does next, as of when this was read.
    public private(set) var next: RolloutPlan

    public init(
        id: Int, model: String, state: State, candidate: Int, baseline: Int?, steps: [RolloutStep], step: Int, auto: Bool,
        stepStartedAt: Timestamp, observationsBeforeStep: Int, percent: Int, guards: [String: RolloutGuard], intervalMilliseconds: Int64, failureLimit: Int, failures: Int, reason: String,
        startedBy: String, startedAt: Timestamp, updatedAt: Timestamp, observations: [Observation], now: Timestamp
    ) {
        self.id = id
        self.model = model
        self.state = state
        self.candidate = candidate
        self.baseline = baseline
        self.steps = steps
        self.step = step
        self.auto = auto
        self.stepStartedAt = stepStartedAt
        self.observationsBeforeStep = observationsBeforeStep
        self.percent = percent
        self.guards = guards
        self.intervalMilliseconds = intervalMilliseconds
        self.failureLimit = failureLimit
        self.failures = failures
        self.reason = reason
        self.startedBy = startedBy
        self.startedAt = startedAt
        self.updatedAt = updatedAt
        self.observations = observations
        guardStatus = []
        next = .none
        guardStatus = GuardStatus.of(self)
        next = RolloutPlan.decide(self, now: now)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(Int.self, forKey: .id)
        model = try c.decode(String.self, forKey: .model)
        state = try c.decode(State.self, forKey: .state)
        candidate = try c.decode(Int.self, forKey: .candidate)
        baseline = try c.decodeIfPresent(Int.self, forKey: .baseline)
        steps = try c.decode([RolloutStep].self, forKey: .steps)
        step = try c.decode(Int.self, forKey: .step)
        auto = try c.decode(Bool.self, forKey: .auto)
        stepStartedAt = try c.decode(Timestamp.self, forKey: .stepStartedAt)
        observationsBeforeStep = try c.decode(Int.self, forKey: .observationsBeforeStep)
        percent = try c.decode(Int.self, forKey: .percent)
        guards = try c.decode([String: RolloutGuard].self, forKey: .guards)
        intervalMilliseconds = Int64((try c.decode(Double.self, forKey: .interval) * 1000).rounded())
        failureLimit = try c.decode(Int.self, forKey: .failureLimit)
        failures = try c.decode(Int.self, forKey: .failures)
        reason = try c.decode(String.self, forKey: .reason)
        startedBy = try c.decode(String.self, forKey: .startedBy)
        startedAt = try c.decode(Timestamp.self, forKey: .startedAt)
        updatedAt = try c.decode(Timestamp.self, forKey: .updatedAt)
        observations = try c.decode([Observation].self, forKey: .observations)
        guardStatus = try c.decode([GuardStatus].self, forKey: .guardStatus)
        next = try c.decode(RolloutPlan.self, forKey: .next)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(model, forKey: .model)
        try c.encode(state, forKey: .state)
        try c.encode(candidate, forKey: .candidate)
        try c.encode(baseline, forKey: .baseline)
        try c.encode(steps, forKey: .steps)
        try c.encode(step, forKey: .step)
        try c.encode(auto, forKey: .auto)
        try c.encode(stepStartedAt, forKey: .stepStartedAt)
        try c.encode(observationsBeforeStep, forKey: .observationsBeforeStep)
        try c.encode(holdEndsAt, forKey: .holdEndsAt)
        try c.encode(percent, forKey: .percent)
        try c.encode(guards, forKey: .guards)
        try c.encode(Double(intervalMilliseconds) / 1000, forKey: .interval)
        try c.encode(nextEvaluationAt, forKey: .nextEvaluationAt)
        try c.encode(failureLimit, forKey: .failureLimit)
        try c.encode(failures, forKey: .failures)
        try c.encode(reason, forKey: .reason)
        try c.encode(startedBy, forKey: .startedBy)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encode(observations, forKey: .observations)
        try c.encode(guardStatus, forKey: .guardStatus)
        try c.encode(next, forKey: .next)
    }

    enum CodingKeys: String, CodingKey {
        case id, model, state, candidate, baseline, steps, step, auto, percent, guards, interval, failures, reason, observations, next
        case nextEvaluationAt = "next_evaluation_at"
        case stepStartedAt = "step_started_at"
        case observationsBeforeStep = "observations_before_step"
        case guardStatus = "guard_status"
        case holdEndsAt = "hold_ends_at"
        case failureLimit = "failure_limit"
        case startedBy = "started_by"
        case startedAt = "started_at"
        case updatedAt = "updated_at"
    }
}

/// Which version serves a request key now (`mreg resolve`).
public struct Resolution: Sendable, Codable, Hashable {
    public let model: String
    public let version: Int
    /// The key's bucket (0…9999) in the active rollout; `nil` without one.
    public let bucket: Int?
    public let rolloutID: Int?

    enum CodingKeys: String, CodingKey {
        case model, version, bucket
        case rolloutID = "rollout_id"
    }
}

/// The REST body of `POST /v1/models/{name}/rollout`.
public struct RolloutStartRequest: Sendable, Codable, Hashable, JSONWritable {
    public var version: Int
    /// The steps; nil for the policy's, else `Registry.defaultRolloutSteps`.
    public var steps: [RolloutStep]?
    /// Whether the server advances it; nil for the policy's `auto`, else false.
    public var auto: Bool?

    public init(version: Int, steps: [RolloutStep]? = nil, auto: Bool? = nil) {
        self.version = version
        self.steps = steps
        self.auto = auto
    }

    enum CodingKeys: String, CodingKey { case version, steps, auto }
}
