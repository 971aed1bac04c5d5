import Foundation
import Yams

/// Reads a policy document (YAML, or JSON, which YAML includes) into a `Policy`, refusing
/// anything unknown or malformed with the line and key that are wrong.
public enum PolicyDocument {
    /// - Throws: `INVALID_ARGUMENT` naming the line and key path of the first problem.
    public static func parse(_ text: String) throws(RegistryError) -> Policy {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            // libyaml's messages span lines (with a caret under the spot); keep one sentence.
            let reason = "\(error)".split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.allSatisfy { $0 == "^" } }.joined(separator: " ")
            throw RegistryError(.invalidArgument, "the policy is not valid YAML or JSON: \(reason)")
        }
        guard let root else { throw RegistryError(.invalidArgument, "the policy document is empty") }
        var policy = Policy()
        for (key, value) in try mapping(root, path: "policy", allowed: ["release", "master"]) where !isNull(value) {
            let branch = try branchPolicy(value, path: key)
            if key == "release" { policy.release = branch } else { policy.master = branch }
        }
        return policy
    }

    private static func branchPolicy(_ node: Node, path: String) throws(RegistryError) -> BranchPolicy {
        var rules = BranchPolicy()
        let allowed = BranchPolicy.CodingKeys.allCases.map(\.stringValue)
        // A key with a null value is a gate left out (`GET …/policy` answers them so).
        for (key, value) in try mapping(node, path: path, allowed: Set(allowed)) where !isNull(value) {
            let here = "\(path).\(key)"
            switch key {
            case "require_reports":
                rules.requireReports = try sequence(value, path: here).map { (item: Node) throws(RegistryError) -> String in
                    let suite = try string(item, path: here)
                    do throws(RegistryError) { try ReportSubmission.validate(suite: suite) } catch { throw fail(item, here, error.message) }
                    return suite
                }
            case "thresholds":
                rules.thresholds = try thresholds(value, path: here)
            case "score":
                rules.score = try score(value, path: here)
            case "no_regression":
                var rule = NoRegression()
                for (field, fieldValue) in try mapping(value, path: here, allowed: ["tolerance"]) where field == "tolerance" {
                    rule.tolerance = try number(fieldValue, path: "\(here).tolerance", minimum: 0)
                }
                rules.noRegression = rule
            case "approvals":
                var rule = ApprovalRule(count: 1)
                for (field, fieldValue) in try mapping(value, path: here, allowed: ["count", "exclude_registrant"]) {
                    if field == "count" {
                        rule.count = try integer(fieldValue, path: "\(here).count", range: 0...100)
                    } else {
                        guard case .scalar = fieldValue, let flag = fieldValue.bool else {
                            throw fail(fieldValue, "\(here).\(field)", "must be true or false")
                        }
                        rule.excludeRegistrant = flag
                    }
                }
                rules.approvals = rule
            default:  // rollout
                rules.rollout = try rollout(value, path: here)
            }
        }
        return rules
    }

    private static func thresholds(_ node: Node, path: String) throws(RegistryError) -> [String: Threshold] {
        var result: [String: Threshold] = [:]
        for (metric, value) in try mapping(node, path: path, allowed: nil) {
            _ = try metricName(metric, node, path: path)
            result[metric] = try threshold(value, path: "\(path).\(metric)")
        }
        return result
    }

    private static func threshold(_ node: Node, path: String) throws(RegistryError) -> Threshold {
        let text = try string(node, path: path)
        guard let threshold = Threshold(parsing: text) else {
            throw fail(node, path, "\"\(text)\" is not a comparison; write e.g. \">= 0.9\" with >=, >, <=, < or ==")
        }
        return threshold
    }

    private static func score(_ node: Node, path: String) throws(RegistryError) -> ScoreRule {
        var rule = ScoreRule(weights: [:])
        var sawWeights = false
        for (key, value) in try mapping(node, path: path, allowed: ["weights", "min", "mode", "lower_is_better"]) {
            let here = "\(path).\(key)"
            switch key {
            case "weights":
                sawWeights = true
                for (metric, weight) in try mapping(value, path: here, allowed: nil) {
                    _ = try metricName(metric, value, path: here)
                    let w = try number(weight, path: "\(here).\(metric)", minimum: 0)
                    guard w > 0 else { throw fail(weight, "\(here).\(metric)", "a weight must be greater than 0") }
                    rule.weights[metric] = w
                }
            case "min":
                rule.min = try number(value, path: here, minimum: nil)
            case "mode":
                let text = try string(value, path: here)
                guard let mode = ScoreRule.Mode(rawValue: text) else {
                    throw fail(value, here, "\"\(text)\" is not a score mode; use weighted_mean or per_metric_mean")
                }
                rule.mode = mode
            default:
                rule.lowerIsBetter = try sequence(value, path: here).map { (item: Node) throws(RegistryError) in try string(item, path: here) }
            }
        }
        guard sawWeights, !rule.weights.isEmpty else { throw fail(node, path, "needs at least one metric under weights") }
        for metric in rule.lowerIsBetter where rule.weights[metric] == nil {
            throw fail(node, "\(path).lower_is_better", "names \(metric), which has no weight")
        }
        return rule
    }

    private static func rollout(_ node: Node, path: String) throws(RegistryError) -> RolloutRule {
        var rule = RolloutRule()
        for (key, value) in try mapping(node, path: path, allowed: ["steps", "auto", "guards", "interval", "failure_limit"]) {
            let here = "\(path).\(key)"
            switch key {
            case "steps":
                let steps = try sequence(value, path: here).map { (item: Node) throws(RegistryError) in try step(item, path: here) }
                do throws(RegistryError) { try RolloutRule.validate(steps: steps) } catch { throw fail(value, here, error.message) }
                rule.steps = steps
            case "auto":
                guard case .scalar = value, let flag = value.bool else { throw fail(value, here, "must be true or false") }
                rule.auto = flag
            case "guards":
                rule.guards = try guards(value, path: here)
            case "interval":
                let text = try string(value, path: here)
                guard let interval = RolloutStep.parseDuration(text) else { throw fail(value, here, RolloutStep.durationHelp(text)) }
                guard interval >= RolloutRule.minimumIntervalMilliseconds else {
                    throw fail(value, here, "must be at least 1s: Prometheus has nothing newer to answer more often")
                }
                rule.intervalMilliseconds = interval
            default:
                rule.failureLimit = try integer(value, path: here, range: 0...1_000_000)
            }
        }
        return rule
    }

    /// Each guard: a comparison judged on pushed values (`"<= 0.02"`), or a query the server runs
    /// with its bound (`{query: "...", max: 0.02}`, `min`, or `max_ratio_to_baseline`).
    private static func guards(_ node: Node, path: String) throws(RegistryError) -> [String: RolloutGuard] {
        var result: [String: RolloutGuard] = [:]
        for (metric, value) in try mapping(node, path: path, allowed: nil) {
            _ = try metricName(metric, node, path: path)
            let here = "\(path).\(metric)"
            guard case .mapping = value else {
                result[metric] = .pushed(try threshold(value, path: here))
                continue
            }
            var query: String?
            var bounds: [PrometheusGuard.Bound] = []
            let keys = PrometheusGuard.CodingKeys.allCases.map(\.stringValue)
            for (key, field) in try mapping(value, path: here, allowed: Set(keys)) {
                let at = "\(here).\(key)"
                switch key {
                case "query": query = try string(field, path: at)
                case "max": bounds.append(.max(try number(field, path: at, minimum: nil)))
                case "min": bounds.append(.min(try number(field, path: at, minimum: nil)))
                default: bounds.append(.maxRatioToBaseline(try number(field, path: at, minimum: 0)))
                }
            }
            guard let query else { throw fail(value, here, "needs a query (PromQL), e.g. {query: \"sum(rate(errors_total[5m]))\", max: 0.02}") }
            guard bounds.count == 1 else { throw fail(value, here, "takes exactly one of max, min, max_ratio_to_baseline") }
            do throws(RegistryError) {
                result[metric] = .query(try PrometheusGuard(query: query, bound: bounds[0]))
            } catch {
                throw fail(value, here, error.message)
            }
        }
        return result
    }

    /// A step: a bare percentage, or `{percent: 5, hold: 10m}` (a bare number of seconds also
    /// holds).
    private static func step(_ node: Node, path: String) throws(RegistryError) -> RolloutStep {
        if case .scalar = node { return RolloutStep(percent: try integer(node, path: path, range: 1...100)) }
        var step = RolloutStep(percent: 0)
        var hasPercent = false
        for (key, value) in try mapping(node, path: path, allowed: ["percent", "hold"]) {
            if key == "percent" {
                step.percent = try integer(value, path: "\(path).percent", range: 1...100)
                hasPercent = true
            } else {
                let text = try string(value, path: "\(path).hold")
                guard let hold = RolloutStep.parseDuration(text) else { throw fail(value, "\(path).hold", RolloutStep.durationHelp(text)) }
                step.holdMilliseconds = hold
            }
        }
        guard hasPercent else { throw fail(node, path, "a step with a hold needs its percent: {percent: 5, hold: 10m}") }
        return step
    }

    // MARK: Node readers that name the line and key of a problem

    private static func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node else { return false }
        return node.null != nil && scalar.style == .plain
    }

    private static func fail(_ node: Node, _ path: String, _ message: String) -> RegistryError {
        let line = node.mark.map { "line \($0.line): " } ?? ""
        return RegistryError(.invalidArgument, "\(line)\(path) \(message)")
    }

    private static func mapping(_ node: Node, path: String, allowed: Set<String>?) throws(RegistryError) -> [(String, Node)] {
        guard case .mapping(let mapping) = node else { throw fail(node, path, "must be a mapping of keys to values") }
        var result: [(String, Node)] = []
        var seen = Set<String>()
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else { throw fail(keyNode, path, "has a key that is not a plain name") }
            let key = scalar.string
            if let allowed, !allowed.contains(key) {
                throw fail(keyNode, path, "has an unknown key \"\(key)\"; allowed: \(allowed.sorted().joined(separator: ", "))")
            }
            guard seen.insert(key).inserted else { throw fail(keyNode, path, "has \"\(key)\" twice") }
            result.append((key, value))
        }
        return result
    }

    private static func sequence(_ node: Node, path: String) throws(RegistryError) -> [Node] {
        guard case .sequence(let sequence) = node else { throw fail(node, path, "must be a list") }
        return Array(sequence)
    }

    private static func string(_ node: Node, path: String) throws(RegistryError) -> String {
        guard case .scalar(let scalar) = node, !isNull(node) else { throw fail(node, path, "must be a single value, not null or a structure") }
        return scalar.string
    }

    /// A metric name used as a key: not empty.
    private static func metricName(_ name: String, _ node: Node, path: String) throws(RegistryError) -> String {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty else { throw fail(node, path, "has an empty metric name") }
        return name
    }

    private static func number(_ node: Node, path: String, minimum: Double?) throws(RegistryError) -> Double {
        guard case .scalar(let scalar) = node, let value = Double(scalar.string.trimmingCharacters(in: .whitespaces)), value.isFinite
        else { throw fail(node, path, "must be a number, not \"\((try? string(node, path: path)) ?? "a structure")\"") }
        if let minimum, value < minimum { throw fail(node, path, "must be at least \(formatNumber(minimum)), got \(formatNumber(value))") }
        return value
    }

    private static func integer(_ node: Node, path: String, range: ClosedRange<Int>) throws(RegistryError) -> Int {
        guard case .scalar(let scalar) = node, let value = Int(scalar.string.trimmingCharacters(in: .whitespaces)) else {
            throw fail(node, path, "must be a whole number, not \"\((try? string(node, path: path)) ?? "a structure")\"")
        }
        guard range.contains(value) else {
            throw fail(node, path, "must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }
}

extension RolloutRule {
    /// Steps are percentages, strictly increasing, ending at 100, each holding from 0 to a year.
    public static func validate(steps: [RolloutStep]) throws(RegistryError) {
        guard !steps.isEmpty else { throw RegistryError(.invalidArgument, "needs at least one step") }
        guard steps.allSatisfy({ (0...RolloutStep.maxHoldMilliseconds).contains($0.holdMilliseconds) }) else {
            throw RegistryError(.invalidArgument, "a step holds from 0 to a year")
        }
        let steps = steps.map(\.percent)
        guard steps.allSatisfy({ (1...100).contains($0) }) else { throw RegistryError(.invalidArgument, "steps are percentages from 1 to 100") }
        guard zip(steps, steps.dropFirst()).allSatisfy({ $0 < $1 }) else { throw RegistryError(.invalidArgument, "steps must increase: \(steps)") }
        guard steps.last == 100 else { throw RegistryError(.invalidArgument, "the last step must be 100 so the rollout can complete") }
    }
}
