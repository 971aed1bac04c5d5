/// A CI test report attached to one version. The newest report per (version, suite) counts.
public struct TestReport: Sendable, Hashable, Codable, JSONWritable {
    public enum Status: String, Sendable, Codable { case passed, failed }

    public let model: String
    public let version: Int
    public let suite: String
    public let status: Status
    public let tests: Int
    public let failures: Int
    public let errors: Int
    public let skipped: Int
    public let metrics: [String: Double]
    public let durationSeconds: Double?
    /// SHA-256 (hex) of the uploaded document.
    public let sha256: String
    public let createdBy: String
    public let createdAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case model, version, suite, status, tests, failures, errors, skipped, metrics, sha256
        case durationSeconds = "duration_s"
        case createdBy = "created_by"
        case createdAt = "created_at"
    }
}

/// A report as submitted, before it is attached: the REST body of
/// `POST /v1/models/{name}/versions/{n}/reports`, or what a JUnit document parses into.
public struct ReportSubmission: Sendable, Hashable, Codable, JSONWritable {
    public var suite: String
    public var status: TestReport.Status
    public var tests: Int
    public var failures: Int
    public var errors: Int
    public var skipped: Int
    public var metrics: [String: Double]
    public var durationSeconds: Double?

    public init(
        suite: String, status: TestReport.Status, tests: Int = 0, failures: Int = 0, errors: Int = 0, skipped: Int = 0,
        metrics: [String: Double] = [:], durationSeconds: Double? = nil
    ) {
        self.suite = suite
        self.status = status
        self.tests = tests
        self.failures = failures
        self.errors = errors
        self.skipped = skipped
        self.metrics = metrics
        self.durationSeconds = durationSeconds
    }

    enum CodingKeys: String, CodingKey {
        case suite, status, tests, failures, errors, skipped, metrics
        case durationSeconds = "duration_s"
    }

    /// `status` may be left out: it is then `failed` when any test failed or errored.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        suite = try c.decode(String.self, forKey: .suite)
        tests = try c.decodeIfPresent(Int.self, forKey: .tests) ?? 0
        failures = try c.decodeIfPresent(Int.self, forKey: .failures) ?? 0
        errors = try c.decodeIfPresent(Int.self, forKey: .errors) ?? 0
        skipped = try c.decodeIfPresent(Int.self, forKey: .skipped) ?? 0
        metrics = try c.decodeIfPresent([String: Double].self, forKey: .metrics) ?? [:]
        durationSeconds = try c.decodeIfPresent(Double.self, forKey: .durationSeconds)
        status = try c.decodeIfPresent(TestReport.Status.self, forKey: .status)
            ?? (failures > 0 || errors > 0 ? .failed : .passed)
    }

    func validate() throws(RegistryError) {
        try Self.validate(suite: suite)
        for (name, count) in [("tests", tests), ("failures", failures), ("errors", errors), ("skipped", skipped)]
        where !(0...Self.maximumCount).contains(count) {
            throw RegistryError(.invalidArgument, "\(name) must be between 0 and \(Self.maximumCount), got \(count)")
        }
        for (name, value) in metrics where !value.isFinite {
            throw RegistryError(.invalidArgument, "report metric \"\(name)\" is \(value); metrics must be finite numbers")
        }
        if let durationSeconds, !(durationSeconds.isFinite && durationSeconds >= 0) {
            throw RegistryError(.invalidArgument, "duration_s must be a non-negative number, got \(durationSeconds)")
        }
    }

    /// Far above any real suite, and low enough that sums of counts cannot overflow.
    static let maximumCount = 1_000_000_000

    static func validate(suite: String) throws(RegistryError) {
        let bytes = Array(suite.utf8)
        guard (1...128).contains(bytes.count),
            bytes.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 65 && $0 <= 90) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 45 })
        else {
            // No '.': gates name report metrics as SUITE.METRIC.
            throw RegistryError(.invalidArgument, "\"\(suite)\" is not a valid suite name: use 1 to 128 letters, digits, '_' or '-'")
        }
    }
}
