import ArgumentParser
import Foundation
import RegistryCore

extension Mreg {
    struct ReportCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report", abstract: "Attach test reports to versions.", subcommands: [Add.self])

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "add",
                abstract: "Attach a test report (JUnit XML, a JSON report, or just a status) to a version.",
                discussion: """
                    Examples: mreg report add fraud 3 --suite unit --junit build/junit.xml
                              mreg report add fraud 3 --suite load --file load.json
                              mreg report add fraud 3 --suite smoke --status passed --metric p99_ms=41
                    """)

            @OptionGroup var global: GlobalOptions
            @Argument var name: String
            @Argument var version: Int
            @Option(help: "The test suite (unit, integration, load, …).") var suite: String
            @Option(help: "A JUnit XML report.") var junit: String?
            @Option(help: "A JSON report with suite, status, tests, failures, errors, skipped, metrics, duration_s.")
            var file: String?
            @Option(help: "Just the outcome, without a document.") var status: TestReport.Status?
            @Option(help: ArgumentHelp("A numeric metric, repeatable; added to the report's own.", valueName: "k=number"))
            var metric: [MetricValue] = []

            func validate() throws {
                guard [junit != nil, file != nil, status != nil].filter({ $0 }).count == 1 else {
                    throw ValidationError("give exactly one of --junit FILE, --file FILE or --status passed|failed")
                }
            }

            func run() throws {
                var submission: ReportSubmission
                let document: [UInt8]
                if let path = junit ?? file {
                    let data = try readFile(path)
                    document = Array(data)
                    submission = junit != nil
                        ? try JUnitReport.parse(data, suite: suite)
                        : try ReportSubmission.parseJSON(data, suite: suite, what: path)
                } else {
                    submission = ReportSubmission(suite: suite, status: status ?? .passed)
                    document = Array(JSONCoding.text(submission).utf8)
                }
                for (key, value) in try metric.dictionary() { submission.metrics[key] = value }
                let report = try global.openRegistry().addReport(
                    model: name, version: version, submission, document: document, by: global.caller)
                global.emit(report) {
                    "Attached \(report.suite) report (\(report.status.rawValue), \(report.tests) tests, \(report.failures) failures, \(report.errors) errors) to \(report.model) v\(report.version)."
                }
            }
        }
    }

    struct Reports: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reports",
            abstract: "List the test reports of a version, newest first.", discussion: "Example: mreg reports fraud 3")

        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Argument var version: Int

        func run() throws {
            let reports = try global.openRegistry().reports(model: name, version: version)
            global.emit(Page(items: reports, nextCursor: nil)) {
                guard !reports.isEmpty else { return "\(name) v\(version) has no test reports." }
                return Terminal.table(
                    header: ["SUITE", "STATUS", "TESTS", "FAIL", "ERR", "SKIP", "METRICS", "ADDED", "SHA256"],
                    rows: reports.map {
                        [$0.suite, $0.status == .passed ? Terminal.green("passed") : Terminal.red("failed"), String($0.tests),
                         String($0.failures), String($0.errors), String($0.skipped), Terminal.metrics($0.metrics),
                         Terminal.relative($0.createdAt), String($0.sha256.prefix(12))]
                    })
            }
        }
    }
}

extension TestReport.Status: ExpressibleByArgument {}
