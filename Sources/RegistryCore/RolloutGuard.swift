import Foundation

/// A guard of a rollout (contract section 11, docs/ROLLOUT.md): a bound on a production metric
/// of the candidate. An automatic rollout leaves a step only while every guard holds; more
/// breaches than `failure_limit` abort it.
///
/// Written in a policy as a comparison, judged on the values `rollout observe` pushes
/// (`error_rate: "<= 0.02"`), or as a PromQL query that `mreg serve --prometheus-url` runs
/// (`error_rate: {query: …, max: 0.02}`).
public enum RolloutGuard: Sendable, Hashable, Codable, JSONWritable, CustomStringConvertible {
    case pushed(Threshold)
    case query(PrometheusGuard)

    public init(from decoder: any Decoder) throws {
        if let threshold = try? Threshold(from: decoder) {
            self = .pushed(threshold)
        } else {
            self = .query(try PrometheusGuard(from: decoder))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .pushed(let threshold): try threshold.encode(to: encoder)
        case .query(let query): try query.encode(to: encoder)
        }
    }

    /// What it requires: `<= 0.02`, or `<= 1.5 × the baseline`.
    public var description: String {
        switch self {
        case .pushed(let threshold): threshold.description
        case .query(let query): query.bound.description
        }
    }

    /// As the audit log's details write it: the same shape as its JSON.
    var jsonValue: JSONValue {
        switch self {
        case .pushed(let threshold): return .string(threshold.description)
        case .query(let query):
            let bound: (String, Double) = switch query.bound {
            case .max(let value): ("max", value)
            case .min(let value): ("min", value)
            case .maxRatioToBaseline(let ratio): ("max_ratio_to_baseline", ratio)
            }
            return .object(["query": .string(query.query), bound.0: .number(bound.1)])
        }
    }

    public var prometheus: PrometheusGuard? {
        if case .query(let query) = self { return query }
        return nil
    }
}

/// A guard that reads Prometheus: an instant query and the bound its answer must keep.
///
/// The query may name the rollout with `{{model}}`, `{{candidate}}` and `{{baseline}}` (contract
/// section 11), and `{{version}}`: the version the query is about. A ratio to the baseline runs
/// the query twice: as written, then with `{{candidate}}` and `{{version}}` standing for the
/// baseline. Each is replaced by its value escaped for a double-quoted PromQL string, so write
/// them inside double quotes: `errors_total{model="{{model}}",version="{{candidate}}"}`.
/// The query must answer one number (a scalar, or a vector of one sample: `sum(...)`).
public struct PrometheusGuard: Sendable, Hashable, Codable {
    public enum Bound: Sendable, Hashable, CustomStringConvertible {
        /// The candidate's value is at most this.
        case max(Double)
        /// The candidate's value is at least this.
        case min(Double)
        /// The candidate's value is at most this many times the baseline's, the same query
        /// answering for each (`{{version}}`).
        case maxRatioToBaseline(Double)

        public var description: String {
            switch self {
            case .max(let value): "<= \(formatNumber(value))"
            case .min(let value): ">= \(formatNumber(value))"
            case .maxRatioToBaseline(let ratio): "<= \(formatNumber(ratio)) × the baseline"
            }
        }
    }

    public let query: String
    public let bound: Bound

    public init(query: String, bound: Bound) throws(RegistryError) {
        guard !query.isBlank else { throw RegistryError(.invalidArgument, "needs a query") }
        if let open = query.range(of: "{{", options: .backwards), query[open.upperBound...].range(of: "}}") == nil {
            throw RegistryError(.invalidArgument, "has a {{ with no }} after it; write placeholders as {{model}}, {{candidate}}, {{baseline}}")
        }
        for placeholder in Self.placeholders(in: query) where !Self.names.contains(placeholder) {
            throw RegistryError(
                .invalidArgument,
                "names {{\(placeholder)}}; a query may name {{model}}, {{candidate}}, {{baseline}} and {{version}}")
        }
        if case .maxRatioToBaseline(let ratio) = bound {
            guard ratio > 0, ratio.isFinite else { throw RegistryError(.invalidArgument, "max_ratio_to_baseline must be a number above 0") }
            guard Self.placeholders(in: query).contains(where: { $0 == "candidate" || $0 == "version" }) else {
                throw RegistryError(
                    .invalidArgument,
                    "compares the candidate with the baseline, so its query must name {{candidate}}, which stands for each in turn")
            }
        }
        self.query = query
        self.bound = bound
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case query, max, min
        case maxRatioToBaseline = "max_ratio_to_baseline"
    }

    public init(from decoder: any Decoder) throws {
        let fields = try decoder.container(keyedBy: JSONKey.self).allKeys.map(\.stringValue)
        if let unknown = fields.sorted().first(where: { CodingKeys(stringValue: $0) == nil }) {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "a guard has no field \"\(unknown)\"; it takes query and one of max, min, max_ratio_to_baseline"))
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let bounds: [Bound] = [
            try c.decodeIfPresent(Double.self, forKey: .max).map(Bound.max),
            try c.decodeIfPresent(Double.self, forKey: .min).map(Bound.min),
            try c.decodeIfPresent(Double.self, forKey: .maxRatioToBaseline).map(Bound.maxRatioToBaseline),
        ].compactMap { $0 }
        guard bounds.count == 1 else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "a guard with a query takes exactly one of max, min, max_ratio_to_baseline"))
        }
        do {
            try self.init(query: try c.decode(String.self, forKey: .query), bound: bounds[0])
        } catch let error as RegistryError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "a guard \(error.message)"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(query, forKey: .query)
        switch bound {
        case .max(let value): try c.encode(value, forKey: .max)
        case .min(let value): try c.encode(value, forKey: .min)
        case .maxRatioToBaseline(let ratio): try c.encode(ratio, forKey: .maxRatioToBaseline)
        }
    }

    // MARK: Queries

    static let names: Set<String> = ["model", "candidate", "baseline", "version"]

    /// The names between `{{` and `}}`, in order.
    static func placeholders(in query: String) -> [String] {
        var names: [String] = []
        var rest = query[...]
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            names.append(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces))
            rest = rest[close.upperBound...]
        }
        return names
    }

    /// The instant queries that judge this guard for `rollout`: the candidate's, then for a ratio
    /// the baseline's. Fails with the reason when the rollout has no baseline to name.
    public func queries(model: String, candidate: Int, baseline: Int?) -> Result<[String], GuardInconclusive> {
        var versions = [candidate]
        if case .maxRatioToBaseline = bound {
            guard let baseline else { return .failure(GuardInconclusive("the rollout has no baseline to compare with")) }
            versions.append(baseline)
        }
        if baseline == nil, Self.placeholders(in: query).contains("baseline") {
            return .failure(GuardInconclusive("the query names {{baseline}}, and the rollout has none"))
        }
        return .success(versions.map { version in
            // For the baseline's reading of a ratio, {{candidate}} stands for the baseline.
            var values = ["model": model, "candidate": String(version), "version": String(version)]
            values["baseline"] = baseline.map(String.init)
            return Self.substitute(query, values)
        })
    }

    /// `template` with each `{{name}}` replaced by its value escaped for a double-quoted PromQL
    /// string (https://prometheus.io/docs/prometheus/latest/querying/basics/#string-literals,
    /// Go's escapes; Prometheus's lexer takes no others there): a value cannot end the string it
    /// stands in and add to the query.
    static func substitute(_ template: String, _ values: [String: String]) -> String {
        var result = ""
        var rest = template[...]
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            result += rest[..<open.lowerBound]
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            result += escape(values[name] ?? "")
            rest = rest[close.upperBound...]
        }
        return result + rest
    }

    static func escape(_ value: String) -> String {
        var escaped = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\"": escaped += "\\\""
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case let scalar where scalar.value < 0x20 || scalar.value == 0x7F:
                escaped += String(format: "\\x%02x", scalar.value)
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }

    // MARK: Judging

    /// Judges the answers to `queries`, in the same order: the value recorded (the candidate's,
    /// or its ratio to the baseline's) and the check.
    func judge(name: String, answers: [Double]) -> (value: Double?, check: GateResult) {
        let candidate = answers[0]
        let value: Double?, passed: Bool
        var message: String
        switch bound {
        case .max(let bound):
            (value, passed, message) = (candidate, candidate <= bound, "\(name) is \(formatNumber(candidate)), required \(self.bound)")
        case .min(let bound):
            (value, passed, message) = (candidate, candidate >= bound, "\(name) is \(formatNumber(candidate)), required \(self.bound)")
        case .maxRatioToBaseline(let ratio):
            let baseline = answers[1]
            let pair = "\(formatNumber(candidate)) against the baseline's \(formatNumber(baseline))"
            let times = candidate / baseline
            if baseline == 0 || !times.isFinite {
                // Nothing to divide by (or a ratio past any number): no worse than the baseline
                // only if also 0.
                value = candidate == 0 ? 1 : nil
                passed = candidate == 0
                message = "\(name) is \(pair), required \(self.bound)"
            } else {
                value = times
                passed = times <= ratio
                message = "\(name) is \(formatNumber(times)) × the baseline (\(pair)), required \(self.bound)"
            }
        }
        // The query, so that an abort's reason says what was asked (contract section 11).
        message += " (query: \(query))"
        let check = GateResult(
            name: "guards.\(name)", passed: passed, observed: value.map { .number($0) } ?? .null, required: .string(bound.description),
            message: message)
        return (value, check)
    }
}

/// Why a guard could not be judged: Prometheus unreachable or in error, no sample, no baseline.
public struct GuardInconclusive: Error, Sendable, Hashable {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
}
