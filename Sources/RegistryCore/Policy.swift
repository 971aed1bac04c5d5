import Foundation

/// A model's promotion policy: the gates per target branch (docs/POLICY.md).
public struct Policy: Sendable, Hashable, Codable, JSONWritable {
    public var release: BranchPolicy?
    public var master: BranchPolicy?

    public init(release: BranchPolicy? = nil, master: BranchPolicy? = nil) {
        self.release = release
        self.master = master
    }

    public subscript(branch: Branch) -> BranchPolicy? {
        switch branch {
        case .develop: nil
        case .release: release
        case .master: master
        }
    }
}

/// The gates of one target branch.
public struct BranchPolicy: Sendable, Hashable, Codable {
    public var requireReports: [String]?
    public var thresholds: [String: Threshold]?
    public var score: ScoreRule?
    public var noRegression: NoRegression?
    public var approvals: ApprovalRule?
    public var rollout: RolloutRule?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case thresholds, score, approvals, rollout
        case requireReports = "require_reports"
        case noRegression = "no_regression"
    }

    public init(
        requireReports: [String]? = nil, thresholds: [String: Threshold]? = nil, score: ScoreRule? = nil,
        noRegression: NoRegression? = nil, approvals: ApprovalRule? = nil, rollout: RolloutRule? = nil
    ) {
        self.requireReports = requireReports
        self.thresholds = thresholds
        self.score = score
        self.noRegression = noRegression
        self.approvals = approvals
        self.rollout = rollout
    }
}

/// A comparison such as `>= 0.90`, written as a string in policy documents.
public struct Threshold: Sendable, Hashable, Codable, JSONWritable, CustomStringConvertible {
    public enum Comparison: String, Sendable, CaseIterable {
        case greaterOrEqual = ">=", lessOrEqual = "<=", equal = "==", greater = ">", less = "<"
    }

    public let comparison: Comparison
    public let value: Double

    public init(_ comparison: Comparison, _ value: Double) {
        self.comparison = comparison
        self.value = value
    }

    /// Parses `>= 0.9`, `<50`, `== 1`.
    public init?(parsing text: String) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        // Two-character operators first, so ">=" is not read as ">" followed by "=0.9".
        guard let comparison = Comparison.allCases.sorted(by: { $0.rawValue.count > $1.rawValue.count })
            .first(where: { trimmed.hasPrefix($0.rawValue) })
        else { return nil }
        let rest = trimmed.dropFirst(comparison.rawValue.count).trimmingCharacters(in: .whitespaces)
        guard let value = Double(rest), value.isFinite else { return nil }
        self.init(comparison, value)
    }

    public func holds(for observed: Double) -> Bool {
        switch comparison {
        case .greaterOrEqual: observed >= value
        case .lessOrEqual: observed <= value
        case .equal: observed == value
        case .greater: observed > value
        case .less: observed < value
        }
    }

    public var description: String { "\(comparison.rawValue) \(formatNumber(value))" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let threshold = Threshold(parsing: text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "\"\(text)\" is not a comparison; write e.g. \">= 0.9\" (>=, >, <=, <, ==)")
        }
        self = threshold
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}

/// The weighted score gate.
public struct ScoreRule: Sendable, Hashable, Codable {
    public enum Mode: String, Sendable, Codable {
        /// P = Σ wᵢ·pᵢ / Σ wᵢ
        case weightedMean = "weighted_mean"
        /// P = (1/N)·Σ wᵢ·pᵢ, the formula as written in the source documents.
        case perMetricMean = "per_metric_mean"
    }

    public var weights: [String: Double]
    public var min: Double?
    public var mode: Mode
    /// Metrics where smaller is better (latency, error rate): they enter the score negated.
    public var lowerIsBetter: [String]

    enum CodingKeys: String, CodingKey {
        case weights, min, mode
        case lowerIsBetter = "lower_is_better"
    }

    public init(weights: [String: Double], min: Double? = nil, mode: Mode = .weightedMean, lowerIsBetter: [String] = []) {
        self.weights = weights
        self.min = min
        self.mode = mode
        self.lowerIsBetter = lowerIsBetter
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        weights = try c.decode([String: Double].self, forKey: .weights)
        min = try c.decodeIfPresent(Double.self, forKey: .min)
        mode = try c.decodeIfPresent(Mode.self, forKey: .mode) ?? .weightedMean
        lowerIsBetter = try c.decodeIfPresent([String].self, forKey: .lowerIsBetter) ?? []
    }

    /// The score of a set of metric values, or the names of the weighted metrics that are missing.
    public func evaluate(_ lookup: (String) -> Double?) -> Result<Double, ScoreFailure> {
        var sum = 0.0
        var totalWeight = 0.0
        var missing: [String] = []
        for (name, weight) in weights.sorted(by: { $0.key < $1.key }) {
            guard let value = lookup(name) else {
                missing.append(name)
                continue
            }
            sum += weight * (lowerIsBetter.contains(name) ? -value : value)
            totalWeight += weight
        }
        guard missing.isEmpty else { return .failure(.missing(missing)) }
        let score = switch mode {
        case .weightedMean: totalWeight == 0 ? 0 : sum / totalWeight
        case .perMetricMean: weights.isEmpty ? 0 : sum / Double(weights.count)
        }
        // Metrics near Double's limits can overflow the sum; such a score cannot be compared.
        guard score.isFinite else { return .failure(.notFinite) }
        return .success(score)
    }

    public enum ScoreFailure: Error, Sendable, Hashable {
        /// Weighted metrics the version lacks.
        case missing([String])
        /// The metrics are so large that the score overflows.
        case notFinite

        var sentence: String {
            switch self {
            case .missing(let names): "metric \(names.joined(separator: ", ")) is missing"
            case .notFinite: "the weighted metrics are too large to combine"
            }
        }
    }
}

public struct NoRegression: Sendable, Hashable, Codable {
    public var tolerance: Double

    public init(tolerance: Double = 0) { self.tolerance = tolerance }
}

public struct ApprovalRule: Sendable, Hashable, Codable {
    public var count: Int
    public var excludeRegistrant: Bool

    enum CodingKeys: String, CodingKey {
        case count
        case excludeRegistrant = "exclude_registrant"
    }

    public init(count: Int, excludeRegistrant: Bool = true) {
        self.count = count
        self.excludeRegistrant = excludeRegistrant
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        count = try c.decode(Int.self, forKey: .count)
        excludeRegistrant = try c.decodeIfPresent(Bool.self, forKey: .excludeRegistrant) ?? true
    }
}

public struct RolloutRule: Sendable, Hashable, Codable {
    public var steps: [RolloutStep]?
    /// Whether the server advances the rollouts this policy starts (contract section 11).
    public var auto: Bool?
    public var guards: [String: RolloutGuard]?
    /// How often the server evaluates the query guards; 30 s when not given.
    public var intervalMilliseconds: Int64?
    public var failureLimit: Int?

    /// The shortest `interval`: queries more often than Prometheus scrapes learn nothing new.
    public static let minimumIntervalMilliseconds: Int64 = 1000
    public static let defaultIntervalMilliseconds: Int64 = 30_000

    enum CodingKeys: String, CodingKey {
        case steps, auto, guards, interval
        case failureLimit = "failure_limit"
    }

    public init(steps: [RolloutStep]? = nil, auto: Bool? = nil, guards: [String: RolloutGuard]? = nil, intervalMilliseconds: Int64? = nil, failureLimit: Int? = nil) {
        self.steps = steps
        self.auto = auto
        self.guards = guards
        self.intervalMilliseconds = intervalMilliseconds
        self.failureLimit = failureLimit
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        steps = try c.decodeIfPresent([RolloutStep].self, forKey: .steps)
        auto = try c.decodeIfPresent(Bool.self, forKey: .auto)
        guards = try c.decodeIfPresent([String: RolloutGuard].self, forKey: .guards)
        intervalMilliseconds = try c.decodeIfPresent(Double.self, forKey: .interval).map { Int64(($0 * 1000).rounded()) }
        failureLimit = try c.decodeIfPresent(Int.self, forKey: .failureLimit)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(steps, forKey: .steps)
        try c.encode(auto, forKey: .auto)
        try c.encode(guards, forKey: .guards)
        try c.encode(intervalMilliseconds.map { Double($0) / 1000 }, forKey: .interval)
        try c.encode(failureLimit, forKey: .failureLimit)
    }
}
