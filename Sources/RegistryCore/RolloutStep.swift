import Foundation

/// One step of a rollout: the share of request keys the candidate serves, and how long the
/// step holds before an automatic rollout may leave it (contract section 11).
///
/// Written as a bare percentage when it has no hold (`25`), else as `{percent, hold}` with the
/// hold in seconds (`{"percent": 5, "hold": 600}`); read from either, and the hold also from a
/// duration (`"10m"`), as policies and `--steps 5:10m,25:30m,50,100` write it.
public struct RolloutStep: Sendable, Hashable, Codable, JSONWritable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    public var percent: Int
    /// How long the step lasts at least before the server advances an automatic rollout past
    /// it; 0 for no hold.
    public var holdMilliseconds: Int64

    public init(percent: Int, holdMilliseconds: Int64 = 0) {
        self.percent = percent
        self.holdMilliseconds = holdMilliseconds
    }

    /// A step without a hold: `[5, 25, 100]`.
    public init(integerLiteral percent: Int) {
        self.init(percent: percent)
    }

    enum CodingKeys: String, CodingKey { case percent, hold }

    public init(from decoder: any Decoder) throws {
        if let percent = try? decoder.singleValueContainer().decode(Int.self) {
            self.init(percent: percent)
            return
        }
        // A misspelt `hold` must not make a step that does not hold.
        let fields = try decoder.container(keyedBy: JSONKey.self).allKeys.map(\.stringValue)
        if let unknown = fields.sorted().first(where: { CodingKeys(stringValue: $0) == nil }) {
            throw DecodingError.dataCorrupted(
                .init(codingPath: decoder.codingPath, debugDescription: "a step has no field \"\(unknown)\"; it takes percent and hold"))
        }
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let percent = try container.decode(Int.self, forKey: .percent)
        var hold: Int64 = 0
        if let seconds = try? container.decodeIfPresent(Double.self, forKey: .hold) {
            guard let milliseconds = Self.milliseconds(seconds: seconds) else {
                throw DecodingError.dataCorruptedError(forKey: .hold, in: container, debugDescription: "a hold is seconds from 0 to a year")
            }
            hold = milliseconds
        } else if let text = try container.decodeIfPresent(String.self, forKey: .hold) {
            guard let milliseconds = Self.parseDuration(text) else {
                throw DecodingError.dataCorruptedError(forKey: .hold, in: container, debugDescription: Self.durationHelp(text))
            }
            hold = milliseconds
        }
        self.init(percent: percent, holdMilliseconds: hold)
    }

    public func encode(to encoder: any Encoder) throws {
        if holdMilliseconds == 0 {
            var container = encoder.singleValueContainer()
            try container.encode(percent)
        } else {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(percent, forKey: .percent)
            try container.encode(Double(holdMilliseconds) / 1000, forKey: .hold)
        }
    }

    /// As the audit log's details write it: the same shape as its JSON.
    var jsonValue: JSONValue {
        holdMilliseconds == 0
            ? JSONValue(percent) : .object(["percent": JSONValue(percent), "hold": .number(Double(holdMilliseconds) / 1000)])
    }

    /// `25%`, or `5% for 10m`.
    public var description: String {
        holdMilliseconds == 0 ? "\(percent)%" : "\(percent)% for \(Self.format(milliseconds: holdMilliseconds))"
    }

    // MARK: Durations

    /// The longest hold: a year.
    static let maxHoldMilliseconds: Int64 = 366 * 24 * 3600 * 1000

    /// A duration such as `1500ms`, `2s`, `1.5s`, `10m`, `2h` or `1d` (a bare number is
    /// seconds), in milliseconds; nil when malformed, negative or longer than a year.
    public static func parseDuration(_ text: String) -> Int64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400)]
        let unit = units.first { trimmed.hasSuffix($0.suffix) && isDecimal(trimmed.dropLast($0.suffix.count)) }
        let number = unit.map { trimmed.dropLast($0.suffix.count) } ?? Substring(trimmed)
        guard isDecimal(number), let value = Double(number) else { return nil }
        return milliseconds(seconds: value * (unit?.seconds ?? 1))
    }

    /// Digits with at most one decimal point between them: `90`, `1.5`; not `1e3`, `0x10`,
    /// `.5` or `inf`, which `Double` would take.
    private static func isDecimal(_ text: Substring) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count <= 2 && parts.allSatisfy { part in !part.isEmpty && part.allSatisfy { $0.isASCII && $0.isWholeNumber } }
    }

    static func durationHelp(_ text: String) -> String {
        "\"\(text)\" is not a duration; write e.g. 90s, 10m, 2h or 1d"
    }

    private static func milliseconds(seconds: Double) -> Int64? {
        guard seconds.isFinite, seconds >= 0 else { return nil }
        let milliseconds = (seconds * 1000).rounded()
        guard milliseconds <= Double(maxHoldMilliseconds) else { return nil }
        return Int64(milliseconds)
    }

    /// The shortest exact form: `1500ms`, `90s`, `10m`, `2h`, `1d`.
    public static func format(milliseconds: Int64) -> String {
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000)] where milliseconds >= size && milliseconds % size == 0 {
            return "\(milliseconds / size)\(unit)"
        }
        return "\(milliseconds)ms"
    }

    /// `--steps 5:10m,25:30m,50,100`: percentages separated by commas, each with an optional
    /// `:hold`.
    /// - Throws: `INVALID_ARGUMENT` naming the part that is wrong.
    public static func parseList(_ text: String) throws(RegistryError) -> [RolloutStep] {
        var steps: [RolloutStep] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard let percent = Int(pieces[0].trimmingCharacters(in: .whitespaces)) else {
                throw RegistryError(.invalidArgument, "step \"\(part)\" is not a percentage with an optional hold, e.g. 5:10m or 50")
            }
            var hold: Int64 = 0
            if pieces.count == 2 {
                guard let parsed = parseDuration(String(pieces[1])) else { throw RegistryError(.invalidArgument, durationHelp(String(pieces[1]))) }
                hold = parsed
            }
            steps.append(RolloutStep(percent: percent, holdMilliseconds: hold))
        }
        return steps
    }
}
