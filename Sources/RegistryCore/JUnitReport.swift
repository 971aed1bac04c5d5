import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Reads a JUnit XML document (`<testsuites>` or a single `<testsuite>`) into a report.
///
/// Counts come from the document's attributes when present, otherwise from its `<testcase>`
/// elements and their `<failure>`, `<error>` and `<skipped>` children. `<property>` elements
/// with numeric values become report metrics.
public enum JUnitReport {
    /// - Parameters:
    ///   - data: the XML document.
    ///   - suite: the suite name to file the report under; by default the document's own name.
    /// - Throws: `INVALID_ARGUMENT` when the document is not well-formed XML or not JUnit.
    public static func parse(_ data: Data, suite: String?) throws(RegistryError) -> ReportSubmission {
        let reader = Reader()
        let parser = XMLParser(data: data)
        parser.delegate = reader
        parser.shouldResolveExternalEntities = false
        // Foundation's parser on Linux accepts a document whose root is never closed; the
        // nesting depth tells.
        guard parser.parse(), parser.parserError == nil, reader.rootName != nil, reader.isBalanced else {
            let line = parser.lineNumber
            let reason = parser.parserError.map { ($0 as NSError).localizedDescription }
                ?? (reader.rootName == nil ? "no root element" : "an element is never closed")
            throw RegistryError(.invalidArgument, "the JUnit report is not well-formed XML (line \(line)): \(reason)")
        }
        guard reader.rootName == "testsuites" || reader.rootName == "testsuite" else {
            throw RegistryError(.invalidArgument, "the JUnit report's root element is <\(reader.rootName ?? "")>, expected <testsuites> or <testsuite>")
        }
        if let problem = reader.problem { throw RegistryError(.invalidArgument, "the JUnit report \(problem)") }
        guard let name = suite ?? reader.rootAttributes["name"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw RegistryError(.invalidArgument, "the JUnit report names no suite; give one with --suite (or ?suite=)")
        }
        // The document's own totals win; then the sum of its suites' totals; then a count of
        // its <testcase> elements and their outcomes.
        let counted = reader.counted
        func total(_ key: String, counted: Int) -> Int {
            if let declared = reader.rootAttributes[key].flatMap(Int.init) { return declared }
            if reader.suitesDeclare(key) { return reader.suiteAttributeSum(key) }
            return counted
        }
        let failures = total("failures", counted: counted.failures)
        let errors = total("errors", counted: counted.errors)
        let skipped = total("skipped", counted: counted.skipped)
        let duration = reader.rootAttributes["time"].flatMap(Double.init)
            ?? (reader.suiteTimes.isEmpty ? nil : reader.suiteTimes.reduce(0, +))
        let submission = ReportSubmission(
            suite: name,
            status: failures > 0 || errors > 0 ? .failed : .passed,
            tests: total("tests", counted: counted.tests),
            failures: failures,
            errors: errors,
            skipped: skipped,
            metrics: reader.metrics,
            durationSeconds: duration)
        try submission.validate()
        return submission
    }

    private final class Reader: NSObject, XMLParserDelegate {
        var rootName: String?
        var rootAttributes: [String: String] = [:]
        var suiteAttributes: [[String: String]] = []
        var suiteTimes: [Double] = []
        var counted = (tests: 0, failures: 0, errors: 0, skipped: 0)
        var metrics: [String: Double] = [:]
        var problem: String?
        private var depth = 0
        private var closedRoot = false

        /// Every element opened was closed, the root included.
        var isBalanced: Bool { depth == 0 && closedRoot }

        func suitesDeclare(_ key: String) -> Bool {
            !suiteAttributes.isEmpty && suiteAttributes.allSatisfy { $0[key].flatMap(Int.init) != nil }
        }

        func suiteAttributeSum(_ key: String) -> Int {
            // Each count is at most 10⁹ (checked while reading), so only absurdly many suites could
            // overflow; saturate instead of trapping, and validation then refuses the total.
            suiteAttributes.reduce(0) { total, suite in
                let (sum, overflow) = total.addingReportingOverflow(suite[key].flatMap(Int.init) ?? 0)
                return overflow ? Int.max : sum
            }
        }

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
            attributes: [String: String] = [:]
        ) {
            depth += 1
            if depth == 1 {
                rootName = elementName
                rootAttributes = attributes
            }
            switch elementName {
            case "testsuite":
                suiteAttributes.append(attributes)
                if depth > 1, let time = attributes["time"].flatMap(Double.init) { suiteTimes.append(time) }
            case "testcase": counted.tests += 1
            case "failure": counted.failures += 1
            case "error": counted.errors += 1
            case "skipped": counted.skipped += 1
            case "property":
                if let name = attributes["name"], let raw = attributes["value"], let value = Double(raw) {
                    guard value.isFinite else {
                        problem = "has property \"\(name)\" with value \(raw), which is not a finite number"
                        return
                    }
                    metrics[name] = value
                }
            default: break
            }
            for key in ["tests", "failures", "errors", "skipped"] where elementName.hasPrefix("testsuite") {
                if let raw = attributes[key], !(Int(raw).map { (0...ReportSubmission.maximumCount).contains($0) } ?? false) {
                    problem = "has \(key)=\"\(raw)\" on <\(elementName)>, which is not a whole number from 0 to \(ReportSubmission.maximumCount)"
                }
            }
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
            depth -= 1
            if depth == 0 { closedRoot = true }
        }
    }
}
