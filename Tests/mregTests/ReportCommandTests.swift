import Foundation
import Testing

/// `mreg report add` (JUnit XML, JSON, bare status) and `mreg reports`.
@Suite struct ReportCommandTests {
    static let junit = """
        <?xml version="1.0" encoding="UTF-8"?>
        <testsuites name="ci">
          <testsuite name="unit.core" tests="3" failures="1" errors="0" skipped="1" time="1.25">
            <properties><property name="coverage" value="0.87"/></properties>
            <testcase name="scores"/>
            <testcase name="thresholds"><failure message="off by one"/></testcase>
            <testcase name="slow"><skipped/></testcase>
          </testsuite>
          <testsuite name="unit.io" tests="2" failures="0" errors="1" skipped="0" time="0.75">
            <testcase name="reads"/>
            <testcase name="writes"><error message="disk full"/></testcase>
          </testsuite>
        </testsuites>
        """

    @Test(arguments: RegistryMode.allCases) func junitReportIsParsedAndMetricsAreAdded(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            let path = try registry.write("junit.xml", Self.junit)
            let report = try await registry.json("report", "add", "fraud", "1", "--suite", "unit", "--junit", path, "--metric", "f1=0.81")
            #expect(report.keySet.isSuperset(of: ["suite", "status", "tests", "failures", "errors", "skipped", "metrics", "sha256"]))
            #expect(report.string("suite") == "unit")
            #expect(report.string("status") == "failed")
            #expect(report.int("tests") == 5)
            #expect(report.int("failures") == 1)
            #expect(report.int("errors") == 1)
            #expect(report.int("skipped") == 1)
            #expect(report.double("duration_s") == 2.0)
            #expect(report.object("metrics")?.double("coverage") == 0.87)
            #expect(report.object("metrics")?.double("f1") == 0.81)
            #expect(isSHA256Hex(report.string("sha256")))
        }
    }

    @Test(arguments: RegistryMode.allCases) func aPassingJUnitSuiteAndTheSameDocumentHashAlike(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            let path = try registry.write("junit.xml", """
                <testsuite name="integration" tests="2"><testcase name="a"/><testcase name="b"/></testsuite>
                """)
            let first = try await registry.json("report", "add", "fraud", "1", "--suite", "integration", "--junit", path)
            let second = try await registry.json("report", "add", "fraud", "1", "--suite", "integration", "--junit", path)
            #expect(first.string("status") == "passed")
            #expect(first.int("tests") == 2 && first.int("failures") == 0)
            #expect(first.string("sha256") == second.string("sha256"), "the sha256 is of the uploaded document")
        }
    }

    @Test(arguments: RegistryMode.allCases) func jsonReportFile(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            let path = try registry.write("load.json", """
                {"status": "passed", "tests": 12, "failures": 0, "errors": 0, "skipped": 2,
                 "metrics": {"p99_ms": 41.5, "rps": 1200}, "duration_s": 30}
                """)
            let report = try await registry.json("report", "add", "fraud", "1", "--suite", "load", "--file", path, "--metric", "cpu=0.5")
            #expect(report.string("suite") == "load")
            #expect(report.string("status") == "passed")
            #expect(report.int("tests") == 12)
            #expect(report.int("skipped") == 2)
            #expect(report.double("duration_s") == 30)
            #expect(report.object("metrics")?.double("p99_ms") == 41.5)
            #expect(report.object("metrics")?.double("rps") == 1200)
            #expect(report.object("metrics")?.double("cpu") == 0.5)
        }
    }

    @Test(arguments: RegistryMode.allCases) func bareStatusWithMetrics(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            let report = try await registry.json("report", "add", "fraud", "1", "--suite", "smoke", "--status", "failed", "--metric", "p99_ms=41")
            #expect(report.string("suite") == "smoke")
            #expect(report.string("status") == "failed")
            #expect(report.int("tests") == 0)
            #expect(report.object("metrics")?.double("p99_ms") == 41)
            #expect(isSHA256Hex(report.string("sha256")))

            let human = try await registry.mreg("report", "add", "fraud", "1", "--suite", "smoke", "--status", "passed")
            #expect(human.status == 0)
            #expect(human.stdout.contains("Attached smoke report (passed"), "\(human)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func reportsListsNewestFirst(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            for suite in ["unit", "integration", "load"] {
                _ = try await registry.json("report", "add", "fraud", "1", "--suite", suite, "--status", "passed")
            }
            let listed = try await registry.mreg("reports", "fraud", "1", "--json")
            #expect(listed.status == 0, "\(listed)")
            #expect(try listed.items().compactMap { $0.string("suite") } == ["load", "integration", "unit"])

            let human = try await registry.mreg("reports", "fraud", "1")
            #expect(human.status == 0)
            #expect(human.stdout.contains("SUITE") && human.stdout.contains("integration"), "\(human)")

            let none = try await registry.mreg("reports", "fraud", "2")
            #expect(none.status == 3, "\(none)")
            #expect(none.stderr.contains("model \"fraud\" has no version 2"), "\(none)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func exactlyOneSourceOfReportIsRequired(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            let path = try registry.write("junit.xml", Self.junit)
            let neither = try await registry.mreg("report", "add", "fraud", "1", "--suite", "unit")
            #expect(neither.status == 2, "\(neither)")
            #expect(neither.stderr.contains("give exactly one of --junit FILE, --file FILE or --status"), "\(neither)")

            let both = try await registry.mreg("report", "add", "fraud", "1", "--suite", "unit", "--junit", path, "--status", "passed")
            #expect(both.status == 2, "\(both)")

            let badStatus = try await registry.mreg("report", "add", "fraud", "1", "--suite", "unit", "--status", "green")
            #expect(badStatus.status == 2, "\(badStatus)")
            #expect(badStatus.stderr.contains("'green'"), "\(badStatus)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func reportOnAnUnknownVersionIsNotFound(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            let entries = try await registry.auditEntryCount()
            let outcome = try await registry.mreg("report", "add", "fraud", "7", "--suite", "unit", "--status", "passed")
            #expect(outcome.status == 3, "\(outcome)")
            #expect(outcome.stderr.contains("model \"fraud\" has no version 7"), "\(outcome)")

            let unknownModel = try await registry.mreg("report", "add", "ghost", "1", "--suite", "unit", "--status", "passed")
            #expect(unknownModel.status == 3, "\(unknownModel)")
            #expect(unknownModel.stderr.contains("model \"ghost\" does not exist"), "\(unknownModel)")
            #expect(try await registry.auditEntryCount() == entries)
        }
    }

    @Test(arguments: RegistryMode.allCases) func aMissingReportFileIsAClearError(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            let outcome = try await registry.mreg("report", "add", "fraud", "1", "--suite", "unit", "--junit", registry.file("nope.xml"))
            #expect([1, 2].contains(outcome.status), "\(outcome)")
            #expect(outcome.stderr.contains("nope.xml"), "\(outcome)")
        }
    }

    /// Documents that are not JUnit must be refused without writing anything.
    static let malformedJUnit: [String] = [
        "this is not XML at all",
        "",
        "<html><body/></html>",
        #"<testsuite name="unit" tests="many"></testsuite>"#,
        #"<testsuite name="unit" tests="-1"></testsuite>"#,
        // Truncated: the root element is never closed.
        #"<testsuite name="unit" tests="2"><testcase name="a"/>"#,
        #"<testsuite name="unit" tests="2"><testcase name="a"></testsuite>"#,
    ]

    @Test(arguments: malformedJUnit)
    func aMalformedJUnitFileIsRefusedAndWritesNothing(document: String) async throws {
        try await withTemporaryRegistry { registry in
            try await registry.register("fraud")
            let entries = try await registry.auditEntryCount()
            let path = try registry.write("bad.xml", document)
            let outcome = try await registry.mreg("report", "add", "fraud", "1", "--suite", "unit", "--junit", path)
            #expect([1, 2].contains(outcome.status), "document \(document.debugDescription): \(outcome)")
            #expect(outcome.stderr.hasPrefix("error:") && outcome.stderr.contains("JUnit"), "\(outcome)")
            #expect(try await registry.auditEntryCount() == entries, "a refused report must not be audited")
            #expect(try await registry.mreg("reports", "fraud", "1", "--json").items().isEmpty, "a refused report must not be stored")
        }
    }

    @Test(arguments: RegistryMode.allCases) func aMalformedJSONReportIsRefused(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await registry.register("fraud")
            let entries = try await registry.auditEntryCount()
            let path = try registry.write("bad.json", #"{"status": "sideways", "tests": 1}"#)
            let outcome = try await registry.mreg("report", "add", "fraud", "1", "--suite", "unit", "--file", path)
            #expect([1, 2].contains(outcome.status), "\(outcome)")
            #expect(outcome.stderr.hasPrefix("error:"), "\(outcome)")
            #expect(try await registry.auditEntryCount() == entries)
        }
    }
}
