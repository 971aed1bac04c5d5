/// `name=number`: how the CLI's `--metric` and the report route's `?metric=` name a metric.
public struct MetricAssignment: Sendable, Hashable {
    public let name: String
    public let value: Double

    public init(name: String, value: Double) {
        self.name = name
        self.value = value
    }

    /// `nil` unless `text` is a non-empty name, `=`, and a finite number.
    public init?(_ text: String) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex,
            let value = Double(text[text.index(after: equals)...]), value.isFinite
        else { return nil }
        name = String(text[..<equals])
        self.value = value
    }

    /// The text form, which `init?(_:)` reads back.
    public var text: String { "\(name)=\(value)" }
}

extension Array where Element == MetricAssignment {
    /// - Throws: `INVALID_ARGUMENT` naming a metric given twice.
    public func dictionary() throws(RegistryError) -> [String: Double] {
        var result: [String: Double] = [:]
        for metric in self {
            guard result.updateValue(metric.value, forKey: metric.name) == nil else {
                throw RegistryError(.invalidArgument, "metric \"\(metric.name)\" is given twice")
            }
        }
        return result
    }
}
