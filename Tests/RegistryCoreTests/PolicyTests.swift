import Foundation
import Testing

@testable import RegistryCore

/// Policy gates (contract section 5), evaluated through dry-run promotions, and policy documents.
@Suite struct PolicyTests {
    // MARK: require_reports

    @Test func requireReportsNeedsAPassingNewestReportPerSuite() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            _ = try await registry.setPolicy(model: "fraud-scorer", document: "release:\n  require_reports: [unit, integration]\n", by: .alice)

            var gates = try await registry.dryRunGates(to: .release)
            #expect(gates["require_reports.unit"]?.passed == false)
            #expect(gates["require_reports.unit"]?.observed == .null)
            #expect(gates["require_reports.unit"]?.message.contains("no unit report") == true)

            try await registry.addReport(version: 1, suite: "unit", status: .passed)
            try await registry.addReport(version: 1, suite: "integration", status: .failed)
            gates = try await registry.dryRunGates(to: .release)
            #expect(gates["require_reports.unit"]?.passed == true)
            #expect(gates["require_reports.integration"]?.passed == false)
            #expect(gates["require_reports.integration"]?.required == .string("passed"))
            await expectError(.gateFailed) { try await registry.promoteVersion(to: .release) }

            try await registry.addReport(version: 1, suite: "integration", status: .passed)
            #expect(try await registry.promoteVersion(to: .release).gates.allSatisfy(\.passed))
        }
    }

    // MARK: thresholds

    struct ThresholdCase: Sendable, CustomTestStringConvertible {
        let threshold: String
        let value: Double
        let passes: Bool
        var testDescription: String { "\(value) \(threshold): \(passes ? "passes" : "fails")" }
    }

    @Test(arguments: [
        ThresholdCase(threshold: ">= 0.9", value: 0.9, passes: true),
        ThresholdCase(threshold: ">= 0.9", value: 0.89, passes: false),
        ThresholdCase(threshold: "> 0.9", value: 0.91, passes: true),
        ThresholdCase(threshold: "> 0.9", value: 0.9, passes: false),
        ThresholdCase(threshold: "<= 50", value: 50, passes: true),
        ThresholdCase(threshold: "<= 50", value: 50.5, passes: false),
        ThresholdCase(threshold: "< 50", value: 49.9, passes: true),
        ThresholdCase(threshold: "< 50", value: 50, passes: false),
        ThresholdCase(threshold: "== 3", value: 3, passes: true),
        ThresholdCase(threshold: "==3", value: 3.5, passes: false),
        ThresholdCase(threshold: ">=-1", value: -1, passes: true),
    ])
    func aThresholdGatePassesOrFailsByItsOperator(_ check: ThresholdCase) async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion(metrics: ["m": check.value])
            _ = try await registry.setPolicy(model: "fraud-scorer", document: "release:\n  thresholds: {m: \"\(check.threshold)\"}\n", by: .alice)
            let gate = try #require(try await registry.dryRunGates(to: .release)["thresholds.m"])
            #expect(gate.passed == check.passes)
            #expect(gate.observed == .number(check.value))
            #expect(Threshold(parsing: check.threshold)?.holds(for: check.value) == check.passes)
        }
    }

    @Test func aThresholdReadsSuiteDotMetricFromThatSuitesNewestReport() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            _ = try await registry.setPolicy(
                model: "fraud-scorer", document: "release:\n  thresholds: {load.latency_p99_ms: \"<= 50\"}\n", by: .alice)
            try await registry.addReport(version: 1, suite: "load", status: .passed, metrics: ["latency_p99_ms": 61])
            var gate = try #require(try await registry.dryRunGates(to: .release)["thresholds.load.latency_p99_ms"])
            #expect(!gate.passed)
            #expect(gate.observed == .number(61))

            try await registry.addReport(version: 1, suite: "load", status: .passed, metrics: ["latency_p99_ms": 42])
            gate = try #require(try await registry.dryRunGates(to: .release)["thresholds.load.latency_p99_ms"])
            #expect(gate.passed)
            #expect(gate.observed == .number(42))
            // Another suite's metric of the same name does not count.
            try await registry.registerVersion()
            try await registry.addReport(version: 2, suite: "unit", status: .passed, metrics: ["latency_p99_ms": 1])
            gate = try #require(try await registry.dryRunGates(to: .release, version: 2)["thresholds.load.latency_p99_ms"])
            #expect(!gate.passed)
            #expect(gate.message.contains("missing"))
        }
    }

    @Test func aGateOnAMissingMetricFailsAndSaysSo() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion(metrics: ["accuracy": 0.95, "f1": 0.9])
            _ = try await registry.setPolicy(
                model: "fraud-scorer",
                document: """
                    release:
                      thresholds: {latency_p99_ms: "<= 50"}
                      score: {weights: {accuracy: 0.5, recall: 0.5}}
                    """,
                by: .alice)
            let gates = try await registry.dryRunGates(to: .release)
            let threshold = try #require(gates["thresholds.latency_p99_ms"])
            #expect(!threshold.passed)
            #expect(threshold.observed == .null)
            #expect(threshold.message.contains("latency_p99_ms"))
            #expect(threshold.message.contains("missing"))
            let score = try #require(gates["score"])
            #expect(!score.passed)
            #expect(score.message.contains("recall"))
            #expect(score.message.contains("missing"))
        }
    }

    // MARK: score

    /// The source documents' example: weights 0.4/0.3/0.3 on accuracy 0.90, recall 0.80, f1 0.85.
    private static let exampleMetrics: [String: Double] = ["accuracy": 0.90, "recall": 0.80, "f1": 0.85]

    @Test func theWeightedMeanOfTheSourceExampleIs0855() async throws {
        let rule = ScoreRule(weights: ["accuracy": 0.4, "recall": 0.3, "f1": 0.3])
        guard case .success(let score) = rule.evaluate({ Self.exampleMetrics[$0] }) else {
            Issue.record("the score could not be computed")
            return
        }
        #expect(isClose(score, 0.855))

        try await withTemporaryRegistry { registry in
            try await registry.registerVersion(metrics: Self.exampleMetrics)
            _ = try await registry.setPolicy(
                model: "fraud-scorer", document: "release:\n  score: {weights: {accuracy: 0.4, recall: 0.3, f1: 0.3}, min: 0.85}\n",
                by: .alice)
            let gate = try #require(try await registry.dryRunGates(to: .release)["score"])
            #expect(isClose(gate.observed.number, 0.855))
            #expect(gate.passed)
            #expect(gate.required == .string(">= 0.85"))
        }
    }

    @Test func thePerMetricMeanModeGives0285() async throws {
        let rule = ScoreRule(weights: ["accuracy": 0.4, "recall": 0.3, "f1": 0.3], mode: .perMetricMean)
        guard case .success(let score) = rule.evaluate({ Self.exampleMetrics[$0] }) else {
            Issue.record("the score could not be computed")
            return
        }
        #expect(isClose(score, 0.285))

        try await withTemporaryRegistry { registry in
            try await registry.registerVersion(metrics: Self.exampleMetrics)
            _ = try await registry.setPolicy(
                model: "fraud-scorer",
                document: "release:\n  score: {weights: {accuracy: 0.4, recall: 0.3, f1: 0.3}, min: 0.85, mode: per_metric_mean}\n",
                by: .alice)
            let gate = try #require(try await registry.dryRunGates(to: .release)["score"])
            #expect(isClose(gate.observed.number, 0.285))
            #expect(!gate.passed)
        }
    }

    @Test func aScoreBelowItsMinimumFails() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion(metrics: ["accuracy": 0.8, "recall": 0.8, "f1": 0.8])
            _ = try await registry.setPolicy(
                model: "fraud-scorer", document: "release:\n  score: {weights: {accuracy: 0.4, recall: 0.3, f1: 0.3}, min: 0.85}\n",
                by: .alice)
            let gate = try #require(try await registry.dryRunGates(to: .release)["score"])
            #expect(isClose(gate.observed.number, 0.8))
            #expect(!gate.passed)
        }
    }

    // MARK: no_regression

    @Test func noRegressionComparesWithTheCurrentMasterWithinTolerance() async throws {
        try await withTemporaryRegistry { registry in
            _ = try await registry.createModel(name: "fraud-scorer", by: .alice)
            _ = try await registry.setPolicy(
                model: "fraud-scorer",
                document: """
                    release:
                      score: {weights: {accuracy: 0.4, recall: 0.3, f1: 0.3}}
                    master:
                      no_regression: {tolerance: 0.01}
                    """,
                by: .alice)
            // Nothing on master yet: nothing to regress from.
            try await registry.registerVersion(metrics: Self.exampleMetrics)  // score 0.855
            try await registry.promoteVersion(to: .release)
            let first = try #require(try await registry.dryRunGates(to: .master)["no_regression"])
            #expect(first.passed)
            try await registry.promoteVersion(to: .master, by: .bob)

            // 0.851 >= 0.855 - 0.01
            try await registry.registerVersion(metrics: ["accuracy": 0.89, "recall": 0.80, "f1": 0.85])
            try await registry.promoteVersion(to: .release)
            let within = try #require(try await registry.dryRunGates(to: .master)["no_regression"])
            #expect(within.passed)
            #expect(isClose(within.observed.number, 0.851))

            // 0.82 < 0.845
            try await registry.registerVersion(metrics: ["accuracy": 0.85, "recall": 0.78, "f1": 0.82])
            try await registry.promoteVersion(to: .release)
            let regressed = try #require(try await registry.dryRunGates(to: .master)["no_regression"])
            #expect(!regressed.passed)
            #expect(isClose(regressed.observed.number, 0.82))
            #expect(regressed.message.contains("version 1"))
            let error = await expectError(.gateFailed) { try await registry.promoteVersion(to: .master, by: .bob) }
            #expect(error?.message.contains("no_regression") == true)
            #expect(try registry.model(named: "fraud-scorer").branches.master == 1)
        }
    }

    @Test func noRegressionWithoutToleranceNeedsAnEqualOrBetterScore() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion(metrics: ["accuracy": 0.9])
            _ = try await registry.setPolicy(
                model: "fraud-scorer",
                document: "master:\n  score: {weights: {accuracy: 1}}\n  no_regression: {}\n", by: .alice)
            try await registry.shipVersion(metrics: ["accuracy": 0.9])
            try await registry.registerVersion(metrics: ["accuracy": 0.8999])
            try await registry.promoteVersion(to: .release)
            #expect(try await registry.dryRunGates(to: .master)["no_regression"]?.passed == false)
        }
    }

    // MARK: approvals

    @Test func anApprovalsGatePassesAtItsCount() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion(by: .eve)
            try await registry.promoteVersion(to: .release)
            _ = try await registry.setPolicy(model: "fraud-scorer", document: "master:\n  approvals: {count: 2}\n", by: .alice)
            var gate = try #require(try await registry.dryRunGates(to: .master)["approvals"])
            #expect(!gate.passed)
            #expect(gate.observed == .number(0))
            #expect(gate.required == .string(">= 2"))

            _ = try await registry.approve(model: "fraud-scorer", version: 1, to: .master, by: .bob)
            gate = try #require(try await registry.dryRunGates(to: .master)["approvals"])
            #expect(!gate.passed)
            #expect(gate.observed == .number(1))

            _ = try await registry.approve(model: "fraud-scorer", version: 1, to: .master, comment: "looks good", by: .carol)
            gate = try #require(try await registry.dryRunGates(to: .master)["approvals"])
            #expect(gate.passed)
            #expect(gate.observed == .number(2))
            #expect(try await registry.promoteVersion(to: .master, by: .bob).toVersion == 1)
        }
    }

    // MARK: Documents

    @Test func theContractsExamplePolicyParses() throws {
        let policy = try PolicyDocument.parse(
            """
            release:
              require_reports: [unit, integration]      # a passing newest report per suite
              thresholds: {accuracy: ">= 0.90", latency_p99_ms: "<= 50"}
              score: {weights: {accuracy: 0.4, recall: 0.3, f1: 0.3}, min: 0.85}
            master:
              require_reports: [unit, integration, load]
              no_regression: {tolerance: 0.01}          # candidate score >= current master score - tolerance
              approvals: {count: 2, exclude_registrant: true}
              rollout: {steps: [5, 25, 50, 100], guards: {error_rate: "<= 0.02"}, failure_limit: 2}
            """)
        let release = try #require(policy.release)
        #expect(release.requireReports == ["unit", "integration"])
        #expect(release.thresholds == ["accuracy": Threshold(.greaterOrEqual, 0.9), "latency_p99_ms": Threshold(.lessOrEqual, 50)])
        #expect(release.score == ScoreRule(weights: ["accuracy": 0.4, "recall": 0.3, "f1": 0.3], min: 0.85))
        let master = try #require(policy.master)
        #expect(master.requireReports == ["unit", "integration", "load"])
        #expect(master.noRegression == NoRegression(tolerance: 0.01))
        #expect(master.approvals == ApprovalRule(count: 2, excludeRegistrant: true))
        #expect(master.rollout?.steps == [5, 25, 50, 100])
        #expect(master.rollout?.guards == ["error_rate": .pushed(Threshold(.lessOrEqual, 0.02))])
        #expect(master.rollout?.failureLimit == 2)

        // JSON is YAML too.
        let json = try PolicyDocument.parse(#"{"release": {"thresholds": {"accuracy": ">= 0.9"}}}"#)
        #expect(json.release?.thresholds == ["accuracy": Threshold(.greaterOrEqual, 0.9)])
    }

    struct DocumentError: Sendable, CustomTestStringConvertible {
        let what: String
        let document: String
        /// Fragments the message must contain: the line and the key path.
        let mentions: [String]
        var testDescription: String { what }
    }

    @Test(arguments: [
        DocumentError(
            what: "unknown gate key", document: "release:\n  thresholds: {accuracy: \">= 0.9\"}\n  require: [unit]\n",
            mentions: ["line 3", "release", "\"require\""]),
        DocumentError(
            what: "unknown branch", document: "release: {}\nstaging:\n  approvals: {count: 1}\n",
            mentions: ["line 2", "\"staging\""]),
        DocumentError(
            what: "operator >==", document: "release:\n  thresholds:\n    accuracy: \">== 0.9\"\n",
            mentions: ["line 3", "release.thresholds.accuracy", ">== 0.9"]),
        DocumentError(
            what: "weight not a number", document: "release:\n  score:\n    weights:\n      accuracy: 0.4\n      recall: high\n",
            mentions: ["line 5", "release.score.weights.recall", "number"]),
        DocumentError(
            what: "negative approvals count", document: "master:\n  approvals:\n    count: -1\n",
            mentions: ["line 3", "master.approvals.count", "-1"]),
        DocumentError(
            what: "steps not increasing", document: "master:\n  rollout:\n    steps: [50, 25, 100]\n",
            mentions: ["line 3", "master.rollout.steps", "increase"]),
        DocumentError(
            what: "negative tolerance", document: "master:\n  no_regression:\n    tolerance: -0.5\n",
            mentions: ["line 3", "master.no_regression.tolerance"]),
        DocumentError(
            what: "unknown score mode", document: "release:\n  score:\n    weights: {a: 1}\n    mode: geometric\n",
            mentions: ["line 4", "release.score.mode", "geometric"]),
    ])
    func aBadPolicyDocumentNamesTheLineAndKey(_ bad: DocumentError) async {
        let error = await expectError(.invalidArgument) { try PolicyDocument.parse(bad.document) }
        for fragment in bad.mentions {
            #expect(error?.message.contains(fragment) == true, "\(error?.message ?? "no error") lacks \(fragment)")
        }
    }

    @Test(arguments: ["", "release: [1, 2]\n", "release:\n  thresholds: {a: \">= 1\"\n", "- just\n- a list\n"])
    func aDocumentThatIsNoPolicyIsInvalidArgument(document: String) async {
        await expectError(.invalidArgument) { try PolicyDocument.parse(document) }
    }

    // MARK: Revisions

    @Test func setPolicyKeepsEarlierRevisionsReadable() async throws {
        try await withTemporaryRegistry { registry in
            _ = try await registry.createModel(name: "fraud-scorer", by: .alice)
            await expectError(.notFound) { try registry.policy(model: "fraud-scorer") }
            let document1 = "release:\n  thresholds: {accuracy: \">= 0.9\"}\n"
            let first = try await registry.setPolicy(model: "fraud-scorer", document: document1, by: .alice)
            #expect(first.revision == 1)
            #expect(first.sha256 == AuditChain.sha256(Array(document1.utf8)))
            let second = try await registry.setPolicy(model: "fraud-scorer", document: "release:\n  thresholds: {accuracy: \">= 0.8\"}\n", by: .alice)
            #expect(second.revision == 2)

            #expect(try registry.policy(model: "fraud-scorer").revision == 2)
            #expect(try registry.policy(model: "fraud-scorer").policy.release?.thresholds?["accuracy"] == Threshold(.greaterOrEqual, 0.8))
            let old = try registry.policy(model: "fraud-scorer", revision: 1)
            #expect(old.revision == 1)
            #expect(old.sha256 == first.sha256)
            #expect(old.createdBy == "alice")
            #expect(old.policy.release?.thresholds?["accuracy"] == Threshold(.greaterOrEqual, 0.9))
            await expectError(.notFound) { try registry.policy(model: "fraud-scorer", revision: 3) }

            let entries = try registry.allAuditEntries().filter { $0.action == "policy.set" }
            #expect(entries.count == 2)
        }
    }

    @Test func setPolicyNeedsAdminAValidDocumentAndAModel() async throws {
        try await withTemporaryRegistry { registry in
            _ = try await registry.createModel(name: "fraud-scorer", by: .alice)
            await expectError(.permissionDenied) { try await registry.setPolicy(model: "fraud-scorer", document: "release: {}\n", by: .bob) }
            await expectError(.invalidArgument) { try await registry.setPolicy(model: "fraud-scorer", document: "release:\n  nope: 1\n", by: .alice) }
            await expectError(.notFound) { try await registry.setPolicy(model: "other", document: "release: {}\n", by: .alice) }
            await expectError(.notFound) { try registry.policy(model: "fraud-scorer") }
        }
    }
}
