import Foundation

/// A test report document as a caller hands it over, before it is read: the bytes whose SHA-256
/// is kept with the report, how to read them, and what the caller adds to them.
///
/// The CLI (on a file or through a server) and `POST …/reports` build one of these from what
/// they were given and the registry reads it, so a document gives the same report, and the same
/// `sha256`, whichever way it arrived.
public struct ReportUpload: Sendable, Hashable {
    public enum Format: String, Sendable, Hashable {
        /// JUnit XML (`<testsuites>` or `<testsuite>`).
        case junit
        /// A JSON report with the contract's field names.
        case json
    }

    public var document: [UInt8]
    public var format: Format
    /// Files the report under this suite, overriding (or supplying) the document's own.
    public var suite: String?
    /// Metrics added to the document's own (a metric named in both takes this value).
    public var metrics: [String: Double]

    public init(document: [UInt8], format: Format, suite: String? = nil, metrics: [String: Double] = [:]) {
        self.document = document
        self.format = format
        self.suite = suite
        self.metrics = metrics
    }

    /// A report that is only an outcome: its document is the JSON of that outcome.
    public init(suite: String, status: TestReport.Status, metrics: [String: Double] = [:]) {
        self.init(document: Array(JSONCoding.text(ReportSubmission(suite: suite, status: status)).utf8), format: .json,
                  suite: suite, metrics: metrics)
    }

    /// Reads the document.
    /// - Parameter what: how to name the document in errors ("the request body", "report.json").
    /// - Throws: `INVALID_ARGUMENT` naming what is wrong with the document.
    public func submission(what: String) throws(RegistryError) -> ReportSubmission {
        var submission = switch format {
        case .junit: try JUnitReport.parse(Data(document), suite: suite)
        case .json: try ReportSubmission.parseJSON(Data(document), suite: suite, what: what)
        }
        submission.metrics.merge(metrics) { _, added in added }
        try submission.validate()
        return submission
    }
}
