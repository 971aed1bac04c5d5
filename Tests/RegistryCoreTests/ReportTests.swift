import Foundation
import Testing

@testable import RegistryCore

/// Test reports: JSON documents, JUnit XML, attaching them, and the newest one per suite.
@Suite struct ReportTests {
    // MARK: JSON

    @Test func aJSONReportIsReadWithTheContractsFieldNames() throws {
        let report = try ReportSubmission.parseJSON(
            Data(
                #"{"suite": "unit", "status": "passed", "tests": 120, "failures": 0, "errors": 0, "skipped": 3, "metrics": {"accuracy": 0.93}, "duration_s": 12.5}"#
                    .utf8),
            suite: nil)
        #expect(report == ReportSubmission(
            suite: "unit", status: .passed, tests: 120, failures: 0, errors: 0, skipped: 3, metrics: ["accuracy": 0.93],
            durationSeconds: 12.5))
    }

    @Test func aJSONReportWithoutStatusFailsWhenATestFailed() throws {
        let failed = try ReportSubmission.parseJSON(Data(#"{"suite": "unit", "tests": 3, "failures": 1}"#.utf8), suite: nil)
        #expect(failed.status == .failed)
        let passed = try ReportSubmission.parseJSON(Data(#"{"suite": "unit", "tests": 3}"#.utf8), suite: nil)
        #expect(passed.status == .passed)
    }

    @Test func theCallerMayNameTheSuite() throws {
        let named = try ReportSubmission.parseJSON(Data(#"{"status": "passed"}"#.utf8), suite: "load")
        #expect(named.suite == "load")
        let overridden = try ReportSubmission.parseJSON(Data(#"{"suite": "unit", "status": "passed"}"#.utf8), suite: "load")
        #expect(overridden.suite == "load")
    }

    @Test func aJSONReportWithoutSuiteNamesTheMissingField() async {
        let error = await expectError(.invalidArgument) {
            try ReportSubmission.parseJSON(Data(#"{"status": "passed", "tests": 1}"#.utf8), suite: nil)
        }
        #expect(error?.message.contains("\"suite\"") == true)
        #expect(error?.message.contains("required") == true)
    }

    @Test(arguments: [
        (#"{"suite": "unit", "tests": "three"}"#, "\"tests\""),
        (#"{"suite": "unit", "failures": 1.5}"#, "\"failures\""),
        (#"{"suite": 7}"#, "\"suite\""),
        (#"{"suite": "unit", "status": "green"}"#, "\"status\""),
        (#"{"suite": "unit", "metrics": {"accuracy": "high"}}"#, "\"metrics.accuracy\""),
        (#"{"suite": "unit", "metrics": [1, 2]}"#, "\"metrics\""),
        (#"{"suite": "unit", "duration_s": "slow"}"#, "\"duration_s\""),
    ])
    func aJSONReportWithAWrongTypeNamesTheField(document: String, field: String) async {
        let error = await expectError(.invalidArgument) { try ReportSubmission.parseJSON(Data(document.utf8), suite: nil) }
        #expect(error?.message.contains(field) == true, "\(error?.message ?? "no error")")
    }

    @Test func aJSONReportWithAnUnknownFieldNamesIt() async {
        let error = await expectError(.invalidArgument) {
            try ReportSubmission.parseJSON(Data(#"{"suite": "unit", "status": "passed", "pass_rate": 1}"#.utf8), suite: nil)
        }
        #expect(error?.message.contains("unknown field \"pass_rate\"") == true)
    }

    @Test(arguments: [
        "not json", "[1, 2]", #"{"suite": "unit", "tests": -1}"#, #"{"suite": "unit.tests"}"#, #"{"suite": ""}"#,
        #"{"suite": "unit", "duration_s": -2}"#,
    ])
    func aMalformedJSONReportIsInvalidArgument(document: String) async {
        await expectError(.invalidArgument) { try ReportSubmission.parseJSON(Data(document.utf8), suite: nil) }
    }

    // MARK: JUnit

    @Test func junitTestsuitesWithTwoSuitesSumsTheirDeclaredCounts() throws {
        let xml = """
            <?xml version="1.0" encoding="UTF-8"?>
            <testsuites name="integration">
              <testsuite name="api" tests="3" failures="1" errors="0" skipped="1" time="1.5">
                <properties>
                  <property name="accuracy" value="0.91"/>
                  <property name="commit" value="abc123"/>
                </properties>
                <testcase name="a"/>
                <testcase name="b"><failure message="expected 200"/></testcase>
                <testcase name="c"><skipped/></testcase>
              </testsuite>
              <testsuite name="db" tests="2" failures="0" errors="1" skipped="0" time="2.25">
                <properties><property name="latency_p99_ms" value="42"/></properties>
                <testcase name="d"/>
                <testcase name="e"><error message="connection refused"/></testcase>
              </testsuite>
            </testsuites>
            """
        let report = try JUnitReport.parse(Data(xml.utf8), suite: nil)
        #expect(report.suite == "integration")
        #expect(report.tests == 5)
        #expect(report.failures == 1)
        #expect(report.errors == 1)
        #expect(report.skipped == 1)
        #expect(report.status == .failed)
        #expect(report.durationSeconds == 3.75)
        // Numeric properties become metrics; others are ignored.
        #expect(report.metrics == ["accuracy": 0.91, "latency_p99_ms": 42])
    }

    @Test func aSingleTestsuiteIsAReportOfItsOwn() throws {
        let xml = """
            <testsuite name="unit" tests="2" failures="0" errors="0" skipped="0" time="0.5">
              <testcase classname="m" name="a" time="0.2"/>
              <testcase classname="m" name="b" time="0.3"/>
            </testsuite>
            """
        let report = try JUnitReport.parse(Data(xml.utf8), suite: nil)
        #expect(report == ReportSubmission(suite: "unit", status: .passed, tests: 2, metrics: [:], durationSeconds: 0.5))
        #expect(try JUnitReport.parse(Data(xml.utf8), suite: "smoke").suite == "smoke")
    }

    @Test func declaredCountsWinOverCountedTestcases() throws {
        let xml = """
            <testsuite name="unit" tests="10" failures="0" errors="0" skipped="4">
              <testcase name="a"/>
              <testcase name="b"/>
            </testsuite>
            """
        let report = try JUnitReport.parse(Data(xml.utf8), suite: nil)
        #expect(report.tests == 10)
        #expect(report.skipped == 4)
        #expect(report.status == .passed)
    }

    @Test func withoutCountAttributesTheTestcasesAreCounted() throws {
        let xml = """
            <testsuites>
              <testsuite name="a">
                <testcase name="1"/>
                <testcase name="2"><failure/></testcase>
                <testcase name="3"><skipped/></testcase>
              </testsuite>
              <testsuite name="b">
                <testcase name="4"><error/></testcase>
                <testcase name="5"><failure/></testcase>
              </testsuite>
            </testsuites>
            """
        let report = try JUnitReport.parse(Data(xml.utf8), suite: "unit")
        #expect(report.suite == "unit")
        #expect(report.tests == 5)
        #expect(report.failures == 2)
        #expect(report.errors == 1)
        #expect(report.skipped == 1)
        #expect(report.status == .failed)
    }

    @Test(arguments: [
        "<testsuite name=\"unit\"><testcase name=\"a\"></testsuite>",
        "<testsuite name=\"unit\" tests=\"1\">",
        "this is not XML",
        "",
        "<testsuite name=\"unit\"/><testsuite name=\"again\"/>",
        "<testsuite name=\"unit\" tests=\"1\"/>trailing garbage",
        "<testsuite name=\"unit\" tests=\"1\"></testsuite><",
        "<testsuite name=\"unit\" tests=\"1\">&bogus;</testsuite>",
        "<testsuite name=\"unit\" tests=\"1\" tests=\"2\"/>",
    ])
    func malformedXMLIsInvalidArgumentNotACrash(xml: String) async {
        let error = await expectError(.invalidArgument) { try JUnitReport.parse(Data(xml.utf8), suite: "unit") }
        #expect(error?.message.contains("JUnit") == true)
    }

    @Test func aWrongRootElementIsRefused() async {
        let error = await expectError(.invalidArgument) {
            try JUnitReport.parse(Data("<html><body><testsuite name=\"unit\"/></body></html>".utf8), suite: "unit")
        }
        #expect(error?.message.contains("<html>") == true)
    }

    @Test func badCountsAndUnnamedSuitesAreRefused() async {
        await expectError(.invalidArgument) {
            try JUnitReport.parse(Data("<testsuite name=\"unit\" tests=\"-1\"/>".utf8), suite: nil)
        }
        await expectError(.invalidArgument) {
            try JUnitReport.parse(Data("<testsuite name=\"unit\" failures=\"many\"/>".utf8), suite: nil)
        }
        let unnamed = await expectError(.invalidArgument) {
            try JUnitReport.parse(Data("<testsuites><testsuite tests=\"1\"/></testsuites>".utf8), suite: nil)
        }
        #expect(unnamed.map { $0.message.contains("suite") } == true)
    }

    // MARK: Attaching

    @Test func addReportKeepsTheDocumentHashAndListsNewestFirst() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            let document = Array(#"{"suite": "unit", "status": "passed", "tests": 4}"#.utf8)
            let submission = try ReportSubmission.parseJSON(Data(document), suite: nil)
            let report = try await registry.addReport(model: "fraud-scorer", version: 1, submission, document: document, by: .eve)
            #expect(report.sha256 == AuditChain.sha256(document))
            #expect(report.sha256.count == 64)
            #expect(report.tests == 4)
            #expect(report.createdBy == "eve")
            try await registry.addReport(version: 1, suite: "load", status: .failed)
            let reports = try registry.reports(model: "fraud-scorer", version: 1)
            #expect(reports.map(\.suite) == ["load", "unit"])
            #expect(reports.last == report)
        }
    }

    @Test func addReportToAnUnknownVersionOrModelIsNotFound() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            await expectError(.notFound) { try await registry.addReport(version: 2, suite: "unit", status: .passed) }
            await expectError(.notFound) { try await registry.addReport("nope", version: 1, suite: "unit", status: .passed) }
            await expectError(.permissionDenied) { try await registry.addReport(version: 1, suite: "unit", status: .passed, by: .ruth) }
            #expect(try registry.reports(model: "fraud-scorer", version: 1).isEmpty)
        }
    }

    @Test func theNewestReportPerSuiteIsTheOneGatesSee() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.registerVersion()
            _ = try await registry.setPolicy(model: "fraud-scorer", document: "release:\n  require_reports: [unit]\n", by: .alice)

            try await registry.addReport(version: 1, suite: "unit", status: .failed)
            #expect(try await registry.dryRunGates(to: .release)["require_reports.unit"]?.passed == false)

            try await registry.addReport(version: 1, suite: "unit", status: .passed)
            let passing = try #require(try await registry.dryRunGates(to: .release)["require_reports.unit"])
            #expect(passing.passed)
            #expect(passing.observed == .string("passed"))

            try await registry.addReport(version: 1, suite: "unit", status: .failed)
            let failing = try #require(try await registry.dryRunGates(to: .release)["require_reports.unit"])
            #expect(!failing.passed)
            #expect(failing.observed == .string("failed"))
            // Every report is kept.
            #expect(try registry.reports(model: "fraud-scorer", version: 1).count == 3)
        }
    }
}
