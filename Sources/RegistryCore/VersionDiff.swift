extension Double {
    /// `nil` for infinities and NaN, which JSON cannot carry.
    var finite: Double? { isFinite ? self : nil }
}

/// What changed between two versions of a model (`mreg diff`).
public struct VersionDiff: Sendable, Codable, JSONWritable {
    public struct MapChanges: Sendable, Codable, Hashable {
        public struct Change: Sendable, Codable, Hashable {
            public let from: String
            public let to: String
        }

        public let added: [String: String]
        public let removed: [String: String]
        public let changed: [String: Change]

        public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty }

        init(from old: [String: String], to new: [String: String]) {
            added = new.filter { old[$0.key] == nil }
            removed = old.filter { new[$0.key] == nil }
            changed = new.reduce(into: [:]) { result, entry in
                if let before = old[entry.key], before != entry.value { result[entry.key] = Change(from: before, to: entry.value) }
            }
        }
    }

    /// A metric on both sides: `delta = to - from`, `relative = delta / |from|` (null when
    /// either side lacks the metric, or `from` is 0).
    public struct MetricDelta: Sendable, Codable, Hashable {
        public let from: Double?
        public let to: Double?
        public let delta: Double?
        public let relative: Double?

        init(from: Double?, to: Double?) {
            self.from = from
            self.to = to
            if let from, let to, (to - from).isFinite {
                delta = to - from
                relative = from == 0 ? nil : ((to - from) / abs(from)).finite
            } else {
                delta = nil
                relative = nil
            }
        }


        static func compare(_ old: [String: Double], _ new: [String: Double]) -> [String: MetricDelta] {
            Set(old.keys).union(new.keys).reduce(into: [:]) { $0[$1] = MetricDelta(from: old[$1], to: new[$1]) }
        }
    }

    public struct Artifact: Sendable, Codable, Hashable {
        public let changed: Bool
        public let fromURI: String
        public let toURI: String
        public let fromDigest: String?
        public let toDigest: String?

        enum CodingKeys: String, CodingKey {
            case changed
            case fromURI = "from_uri"
            case toURI = "to_uri"
            case fromDigest = "from_digest"
            case toDigest = "to_digest"
        }
    }

    /// One suite's newest report on each side.
    public struct SuiteChange: Sendable, Codable, Hashable {
        public let from: TestReport.Status?
        public let to: TestReport.Status?
        public let statusChanged: Bool
        public let metrics: [String: MetricDelta]

        enum CodingKeys: String, CodingKey {
            case from, to, metrics
            case statusChanged = "status_changed"
        }
    }

    /// The policy score of each side under the model's current policy (null without a score gate).
    public struct Score: Sendable, Codable, Hashable {
        public let from: Double?
        public let to: Double?
        public let delta: Double?

    }

    public let model: String
    public let from: ModelVersion
    public let to: ModelVersion
    public let artifact: Artifact
    public let params: MapChanges
    public let metrics: [String: MetricDelta]
    public let tags: MapChanges
    public let reports: [String: SuiteChange]
    public let score: Score
    /// Whether `to` descends from `from` through `parent` links.
    public let descends: Bool
}
