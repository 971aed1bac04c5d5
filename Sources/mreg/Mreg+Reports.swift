import ArgumentParser
import Foundation
import RegistryCore

extension Mreg {
    struct ReportCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report", abstract: "Attach test reports to versions.", subcommands: [Add.self])

        struct Add: AsyncParsableCommand {
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
            var metric: [MetricAssignment] = []

            func validate() throws {
                guard [junit != nil, file != nil, status != nil].filter({ $0 }).count == 1 else {
                    throw ValidationError("give exactly one of --junit FILE, --file FILE or --status passed|failed")
                }
            }

            func run() async throws {
                let metrics = try metric.dictionary()
                let upload: ReportUpload
                let what: String
                if let path = junit ?? file {
                    upload = ReportUpload(document: Array(try readFile(path)), format: junit != nil ? .junit : .json, suite: suite, metrics: metrics)
                    what = path
                } else {
                    upload = ReportUpload(suite: suite, status: status ?? .passed, metrics: metrics)
                    what = "the report"
                }
                let report = try await global.withRegistry(.writes) { try await $0.addReport(model: name, version: version, upload, what: what) }
                global.emit(report) {
                    "Attached \(report.suite) report (\(report.status.rawValue), \(report.tests) tests, \(report.failures) failures, \(report.errors) errors) to \(report.model) v\(report.version)."
                }
            }
        }
    }

    struct Reports: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reports",
            abstract: "List the test reports of a version, newest first.", discussion: "Example: mreg reports fraud 3")

        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Argument var version: Int

        func run() async throws {
            let reports = try await global.withRegistry(.reads) { try await $0.reports(model: name, version: version) }
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
