import Foundation
import SQLite

extension Registry {
    /// Reads an uploaded report document and attaches the report to a version.
    /// - Parameter what: how to name the document in errors.
    /// - Throws: `INVALID_ARGUMENT` for a document that does not read as a report, and what
    ///   ``addReport(model:version:_:document:by:)`` throws.
    public func addReport(
        model name: String, version number: Int, _ upload: ReportUpload, what: String, by caller: Caller
    ) async throws(RegistryError) -> TestReport {
        try await apply(addingReport(model: name, version: number, upload, what: what, by: caller))
    }

    /// The change ``addReport(model:version:_:what:by:)`` makes; the document is read here,
    /// before the write.
    public func addingReport(
        model name: String, version number: Int, _ upload: ReportUpload, what: String, by caller: Caller
    ) throws(RegistryError) -> Change<TestReport> {
        try addingReport(model: name, version: number, try upload.submission(what: what), document: upload.document, by: caller)
    }

    /// Attaches a test report to a version. The newest report per suite is the one that counts.
    /// - Parameters:
    ///   - submission: the parsed report.
    ///   - document: the uploaded document's bytes; its SHA-256 is kept with the report.
    /// - Throws: `INVALID_ARGUMENT` for a bad report, `NOT_FOUND` for an unknown model or version.
    public func addReport(
        model name: String, version number: Int, _ submission: ReportSubmission, document: [UInt8], by caller: Caller
    ) async throws(RegistryError) -> TestReport {
        try await apply(addingReport(model: name, version: number, submission, document: document, by: caller))
    }

    /// The change ``addReport(model:version:_:document:by:)`` makes.
    public func addingReport(
        model name: String, version number: Int, _ submission: ReportSubmission, document: [UInt8], by caller: Caller
    ) throws(RegistryError) -> Change<TestReport> {
        try caller.require(.engineer, to: "attach test reports")
        try submission.validate()
        let now = clock()
        let sha256 = AuditChain.sha256(document)
        let content = ReportContent(
            suite: submission.suite, status: submission.status.rawValue, tests: submission.tests, failures: submission.failures,
            errors: submission.errors, skipped: submission.skipped, metrics: JSONCoding.text(submission.metrics),
            durationSeconds: submission.durationSeconds, documentSHA256: sha256)
        return Change { connection in
            let model = try connection.modelRow(named: name)
            let versionID = try connection.versionID(model, number)
            try connection.execute(
                """
                INSERT INTO test_reports (version_id, suite, status, tests, failures, errors, skipped, metrics, duration_s,
                                          sha256, created_by, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    versionID, content.suite, content.status,
                    content.tests, content.failures, content.errors,
                    content.skipped, content.metrics,
                    content.durationSeconds, content.documentSHA256, caller.name,
                    now.millisecondsSinceEpoch,
                ])
            try connection.appendAudit(
                at: now, actor: caller.name, action: "report.add", model: name, version: number, branch: nil,
                details: [
                    "suite": .string(submission.suite), "status": .string(submission.status.rawValue),
                    "sha256": .string(sha256), "tests": JSONValue(submission.tests),
                    "failures": JSONValue(submission.failures), "errors": JSONValue(submission.errors),
                    "content_sha256": .string(content.sha256),
                ])
            return TestReport(
                model: name, version: number, suite: submission.suite, status: submission.status, tests: submission.tests,
                failures: submission.failures, errors: submission.errors, skipped: submission.skipped,
                metrics: submission.metrics, durationSeconds: submission.durationSeconds, sha256: sha256,
                createdBy: caller.name, createdAt: now)
        }
    }

    /// Every report of a version, newest first.
    public func reports(model name: String, version number: Int) throws(RegistryError) -> [TestReport] {
        try read { connection in
            let model = try connection.modelRow(named: name)
            return try connection.reports(model, number, newestPerSuiteOnly: false)
        }
    }
}

extension Connection {
    func versionID(_ model: ModelRow, _ number: Int) throws -> Int64 {
        guard let row = try queryFirst(
            "SELECT id FROM versions WHERE model_id = ? AND version = ?", [model.id, number])
        else { throw RegistryError(.notFound, "model \"\(model.name)\" has no version \(number)") }
        return try row.int64(0)
    }

    /// A version's reports, newest first; with `newestPerSuiteOnly`, the one that counts per suite.
    func reports(_ model: ModelRow, _ number: Int, newestPerSuiteOnly: Bool) throws -> [TestReport] {
        let versionID = try versionID(model, number)
        let sql = newestPerSuiteOnly
            ? """
            SELECT suite, status, tests, failures, errors, skipped, metrics, duration_s, sha256, created_by, created_at
            FROM test_reports r WHERE version_id = ?
              AND id = (SELECT max(id) FROM test_reports WHERE version_id = r.version_id AND suite = r.suite)
            ORDER BY suite
            """
            : """
            SELECT suite, status, tests, failures, errors, skipped, metrics, duration_s, sha256, created_by, created_at
            FROM test_reports WHERE version_id = ? ORDER BY id DESC
            """
        return try query(sql, [versionID]).map { row in
            TestReport(
                model: model.name, version: number, suite: try row.string(0),
                status: try row.value(1, as: TestReport.Status.self), tests: try row.int(2),
                failures: try row.int(3), errors: try row.int(4), skipped: try row.int(5),
                metrics: try JSONCoding.decode([String: Double].self, from: try row.string(6)),
                durationSeconds: try row.optionalDouble(7), sha256: try row.string(8), createdBy: try row.string(9),
                createdAt: Timestamp(millisecondsSinceEpoch: Int64(try row.int(10))))
        }
    }
}
