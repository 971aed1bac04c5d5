import SQLite

/// Evaluates a target branch's gates for a candidate version, inside the caller's transaction so
/// the verdict and the move see one snapshot.
enum PromotionGates {
    static func evaluate(
        _ connection: Connection, model: ModelRow, version: ModelVersion, target: Branch, currentTarget: Int?
    ) throws -> [GateResult] {
        guard let policy = try connection.currentPolicy(model), let rules = policy[target] else { return [] }
        let reports = try connection.reports(model, version.version, newestPerSuiteOnly: true)
        let lookup = MetricLookup(version: version, reports: reports)
        var gates: [GateResult] = []

        for suite in rules.requireReports ?? [] {
            let report = reports.first { $0.suite == suite }
            let observed: JSONValue = report.map { .string($0.status.rawValue) } ?? .null
            let message = switch report?.status {
            case .passed: "the newest \(suite) report passed"
            case .failed: "the newest \(suite) report failed"
            case nil: "there is no \(suite) report"
            }
            gates.append(GateResult(
                name: "require_reports.\(suite)", passed: report?.status == .passed, observed: observed, required: "passed",
                message: message))
        }

        for (metric, threshold) in (rules.thresholds ?? [:]).sorted(by: { $0.key < $1.key }) {
            let name = "thresholds.\(metric)"
            guard let value = lookup(metric) else {
                gates.append(GateResult(
                    name: name, passed: false, observed: .null, required: .string(threshold.description),
                    message: "metric \(metric) is missing: the version has no such metric and no report provides it"))
                continue
            }
            let passed = threshold.holds(for: value)
            gates.append(GateResult(
                name: name, passed: passed, observed: .number(value), required: .string(threshold.description),
                message: "\(metric) is \(formatNumber(value)), required \(threshold)"))
        }

        if let rule = rules.score {
            switch rule.evaluate(lookup.callAsFunction) {
            case .success(let score):
                let passed = rule.min.map { score >= $0 } ?? true
                gates.append(GateResult(
                    name: "score", passed: passed, observed: .number(score), required: rule.min.map { .string(">= \(formatNumber($0))") } ?? .null,
                    message: "score is \(formatNumber(score))" + (rule.min.map { ", required at least \(formatNumber($0))" } ?? "")))
            case .failure(let failure):
                gates.append(GateResult(
                    name: "score", passed: false, observed: .null, required: rule.min.map { .string(">= \(formatNumber($0))") } ?? .null,
                    message: "the score cannot be computed: \(failure.sentence)"))
            }
        }

        if let rule = rules.noRegression {
            gates.append(try noRegression(
                connection, model: model, candidate: version, lookup: lookup, current: currentTarget, rule: rule,
                score: rules.score ?? policy.release?.score ?? policy.master?.score, target: target))
        }

        if let rule = rules.approvals {
            let approvers = try connection.approvers(model, version.version, target: target)
            let counted = approvers.filter { !(rule.excludeRegistrant && $0 == version.createdBy) }
            gates.append(GateResult(
                name: "approvals", passed: counted.count >= rule.count, observed: .number(Double(counted.count)),
                required: .string(">= \(rule.count)"),
                message: "\(counted.count) of \(rule.count) required approvals"
                    + (counted.isEmpty ? "" : " (\(counted.joined(separator: ", ")))")
                    + (counted.count < approvers.count ? "; the registrant's own approval does not count" : "")))
        }
        return gates
    }

    private static func noRegression(
        _ connection: Connection, model: ModelRow, candidate: ModelVersion, lookup: MetricLookup, current: Int?,
        rule: NoRegression, score: ScoreRule?, target: Branch
    ) throws -> GateResult {
        guard let score else {
            return GateResult(
                name: "no_regression", passed: false, observed: .null, required: .null,
                message: "no_regression needs a score rule in the policy to compare versions")
        }
        guard let current else {
            return GateResult(
                name: "no_regression", passed: true, observed: .null, required: .null,
                message: "\(target.rawValue) holds no version yet, so there is nothing to regress from")
        }
        let incumbent = try connection.version(model, current)
        let incumbentLookup = MetricLookup(
            version: incumbent, reports: try connection.reports(model, current, newestPerSuiteOnly: true))
        let candidateScore: Double
        switch score.evaluate(lookup.callAsFunction) {
        case .success(let value): candidateScore = value
        case .failure(let failure):
            return GateResult(
                name: "no_regression", passed: false, observed: .null, required: .null,
                message: "the candidate's score cannot be computed: \(failure.sentence)")
        }
        guard case .success(let incumbentScore) = score.evaluate(incumbentLookup.callAsFunction) else {
            return GateResult(
                name: "no_regression", passed: true, observed: .number(candidateScore), required: .null,
                message: "version \(current) on \(target.rawValue) has no score to compare with")
        }
        let floor = incumbentScore - rule.tolerance
        return GateResult(
            name: "no_regression", passed: candidateScore >= floor, observed: .number(candidateScore),
            required: .string(">= \(formatNumber(floor))"),
            message: "score \(formatNumber(candidateScore)) against \(formatNumber(incumbentScore)) of version \(current) on \(target.rawValue) (tolerance \(formatNumber(rule.tolerance)))")
    }

    /// The policy score of a version, or `nil` when the policy has no score rule or a metric
    /// is missing.
    static func score(_ connection: Connection, model: ModelRow, version: ModelVersion, policy: Policy) throws -> Double? {
        guard let rule = policy.master?.score ?? policy.release?.score else { return nil }
        let lookup = MetricLookup(version: version, reports: try connection.reports(model, version.version, newestPerSuiteOnly: true))
        if case .success(let score) = rule.evaluate(lookup.callAsFunction) { return score }
        return nil
    }
}

/// A metric named in a gate: the version's own metric, or `SUITE.METRIC` from that suite's
/// newest report.
struct MetricLookup {
    let version: ModelVersion
    let reports: [TestReport]

    func callAsFunction(_ name: String) -> Double? {
        if let value = version.metrics[name] { return value }
        guard let dot = name.firstIndex(of: ".") else { return nil }
        let suite = String(name[..<dot])
        let metric = String(name[name.index(after: dot)...])
        return reports.first { $0.suite == suite }?.metrics[metric]
    }
}

extension Connection {
    /// The newest policy of a model, if one was ever set.
    func currentPolicy(_ model: ModelRow) throws -> Policy? {
        guard let row = try queryFirst(
            "SELECT document FROM policies WHERE model_id = ? ORDER BY revision DESC LIMIT 1", [model.id])
        else { return nil }
        return try JSONCoding.decode(Policy.self, from: try row.string(0))
    }

    /// Distinct actors who approved a version for a target branch.
    func approvers(_ model: ModelRow, _ version: Int, target: Branch) throws -> [String] {
        try query(
            """
            SELECT DISTINCT a.actor FROM approvals a JOIN versions v ON v.id = a.version_id
            WHERE v.model_id = ? AND v.version = ? AND a.branch = ? ORDER BY a.actor
            """, [model.id, version, target.rawValue]
        ).map { try $0.string(0) }
    }
}
