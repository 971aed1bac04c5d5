/// A gray release of a candidate version onto `master` (contract section 6).
public struct Rollout: Sendable, Codable, Hashable, JSONWritable {
    public enum State: String, Sendable, Codable, CaseIterable {
        case progressing, paused, aborted, completed

        public var isActive: Bool { self == .progressing || self == .paused }
    }

    public struct Observation: Sendable, Codable, Hashable {
        public let id: Int
        public let target: Target
        public let metrics: [String: Double]
        public let passed: Bool
        public let checks: [GateResult]
        public let actor: String
        public let at: Timestamp
    }

    public enum Target: String, Sendable, Codable { case candidate, baseline }

    public let id: Int
    public let model: String
    public let state: State
    public let candidate: Int
    /// What `master` held when the rollout started; it keeps serving the other keys.
    public let baseline: Int?
    public let steps: [Int]
    /// 1-based number of the current step.
    public let step: Int
    /// The share of request keys the candidate serves now.
    public let percent: Int
    public let guards: [String: Threshold]
    public let failureLimit: Int
    /// Candidate observations that breached a guard so far.
    public let failures: Int
    public let reason: String
    public let startedBy: String
    public let startedAt: Timestamp
    public let updatedAt: Timestamp
    public let observations: [Observation]

    enum CodingKeys: String, CodingKey {
        case id, model, state, candidate, baseline, steps, step, percent, guards, failures, reason, observations
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
    public var steps: [Int]?

    public init(version: Int, steps: [Int]? = nil) {
        self.version = version
        self.steps = steps
    }

    enum CodingKeys: String, CodingKey { case version, steps }
}
