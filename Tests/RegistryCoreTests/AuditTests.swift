import Foundation
import MregTestSupport
import SQLite
import Testing

@testable import RegistryCore

/// The audit log (contract section 7, docs/AUDIT.md): gap-free, hash-chained, append-only, and
/// verifiable by mreg and by an independent verifier.
@Suite struct AuditTests {
    /// Eight changes, one audit entry each: create, register ×2, report, promote, policy, approve, deprecate.
    static func populate(_ registry: Registry) async throws {
        _ = try await registry.createModel(name: "fraud-scorer", description: "card fraud scorer", by: .alice)
        try await registry.registerVersion(metrics: ["accuracy": 0.93], digest: digest(1))
        try await registry.registerVersion(metrics: ["accuracy": 0.95], parent: 1, by: .eve)
        try await registry.addReport(version: 1, suite: "unit", status: .passed)
        try await registry.promoteVersion(to: .release, version: 1)
        _ = try await registry.setPolicy(model: "fraud-scorer", document: "master:\n  approvals: {count: 1}\n", by: .alice)
        _ = try await registry.approve(model: "fraud-scorer", version: 1, to: .master, comment: "zoë approves ✓", by: .bob)
        _ = try await registry.deprecate(model: "fraud-scorer", version: 2, reason: "superseded", by: .alice)
    }

    private static let populatedActions = [
        "model.create", "version.register", "version.register", "report.add", "branch.promote", "policy.set",
        "approval.add", "version.deprecate",
    ]

    // MARK: The log as written

    @Test func seqRunsOneTwoThreeWithoutGapsAndEachEntryChainsToTheLast() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.populate(registry)
            let entries = try registry.allAuditEntries()
            #expect(entries.map(\.seq) == Array(1...8))
            #expect(entries.map(\.action) == Self.populatedActions)
            #expect(entries.first?.prevHash == String(repeating: "0", count: 64))
            for (previous, entry) in zip(entries, entries.dropFirst()) {
                #expect(entry.prevHash == previous.hash, "entry \(entry.seq)")
            }
            let register = entries[2]
            #expect(register.actor == "eve")
            #expect(register.model == "fraud-scorer")
            #expect(register.version == 2)
            #expect(register.branch == "develop")
            let details = try JSONCoding.decode([String: JSONValue].self, from: register.details)
            #expect(details["kind"] == .string("register"))
            #expect(details["parent"] == .number(1))
            #expect(details["from_version"] == .number(1))
            #expect(details["to_version"] == .number(2))

            // Newest first through the query API, with filters.
            let page = try registry.auditLog(AuditQuery(limit: 3))
            #expect(page.items.map(\.seq) == [8, 7, 6])
            let next = try registry.auditLog(AuditQuery(limit: 3, cursor: page.nextCursor))
            #expect(next.items.map(\.seq) == [5, 4, 3])
            #expect(try registry.auditLog(AuditQuery(action: "version.register")).items.map(\.seq) == [3, 2])
            #expect(try registry.auditLog(AuditQuery(actor: "bob")).items.map(\.action) == ["approval.add"])
        }
    }

    @Test func verifyAuditAcceptsARealLogWithOneEntryPerChange() async throws {
        try await withTemporaryRegistry { registry in
            #expect(try registry.verifyAudit() == AuditVerification(
                ok: true, entries: 0, head: String(repeating: "0", count: 64), firstBadSeq: nil, problem: nil))
            try await Self.populate(registry)
            let verification = try registry.verifyAudit()
            #expect(verification.ok)
            #expect(verification.entries == 8)
            #expect(verification.head == (try registry.allAuditEntries().last?.hash))
            #expect(verification.firstBadSeq == nil)
            // Failed operations add nothing.
            await expectError(.alreadyExists) { try await registry.registerVersion(digest: digest(1)) }
            #expect(try registry.verifyAudit().entries == 8)
        }
    }

    @Test func theDatabaseRefusesToUpdateDeleteOrSkipEntries() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.populate(registry)
            let connection = try Connection(path: registry.path)
            for sql in [
                "UPDATE audit_log SET actor = 'mallory' WHERE seq = 2",
                "UPDATE audit_log SET details = '{}'",
                "DELETE FROM audit_log WHERE seq = 8",
                "DELETE FROM audit_log",
            ] {
                let error = #expect(throws: SQLiteError.self, "\(sql)") { try connection.execute(sql) }
                #expect(error?.extendedCode == SQLiteError.constraintTrigger, "\(sql)")
                #expect(error?.message.contains("append-only") == true, "\(sql)")
            }
            let gap = #expect(throws: SQLiteError.self) {
                try connection.execute(
                    "INSERT INTO audit_log (seq, at, actor, action, details, prev_hash, hash) VALUES (10, 0, 'x', 'y', '{}', ?, ?)",
                    [AuditChain.genesis, AuditChain.genesis])
            }
            #expect(gap?.extendedCode == SQLiteError.constraintTrigger)
            #expect(try registry.verifyAudit().ok)
            #expect(try registry.allAuditEntries().count == 8)
        }
    }

    // MARK: Tampering

    @Test(arguments: [
        ("details", "'{\"reason\":\"forged\"}'", 4),
        ("actor", "'mallory'", 2),
        ("at", "at + 1", 5),
        ("version", "NULL", 3),
        ("model", "'other-model'", 1),
        ("hash", "zeroblob(32)", 8),
    ])
    func changingAnEntryIsFoundAtThatEntry(column: String, value: String, seq: Int) async throws {
        try await withTemporaryRegistry { registry in
            try await Self.populate(registry)
            let entries = try registry.allAuditEntries()
            let connection = try Connection(path: registry.path)
            try connection.execute(script: "DROP TRIGGER audit_log_no_update")
            try connection.execute("UPDATE audit_log SET \(column) = \(value) WHERE seq = ?", [seq])
            #expect(connection.changes == 1)

            let verification = try registry.verifyAudit()
            #expect(!verification.ok)
            #expect(verification.firstBadSeq == seq)
            #expect(verification.entries == seq - 1)
            #expect(verification.head == (seq == 1 ? String(repeating: "0", count: 64) : entries[seq - 2].hash))
            #expect(verification.problem?.contains("entry \(seq)") == true)
        }
    }

    @Test(arguments: [1, 4, 7])
    func deletingAnEntryIsFoundAtTheGap(seq: Int) async throws {
        try await withTemporaryRegistry { registry in
            try await Self.populate(registry)
            let connection = try Connection(path: registry.path)
            try connection.execute(script: "DROP TRIGGER audit_log_no_delete")
            try connection.execute("DELETE FROM audit_log WHERE seq = ?", [seq])
            #expect(connection.changes == 1)

            let verification = try registry.verifyAudit()
            #expect(!verification.ok)
            #expect(verification.firstBadSeq == seq)
            #expect(verification.entries == seq - 1)
            #expect(verification.problem?.contains("missing") == true)
        }
    }

    // MARK: The published test vectors

    struct Vector: Decodable, Sendable {
        let seq: Int
        let at: Int64
        let actor: String
        let action: String
        let model: String?
        let version: Int?
        let branch: String?
        let details: String
        let form: Int
        let atRfc3339: String
        let prevHashHex: String
        let canonicalHex: String
        let hashHex: String
        /// Vector 3: the version its `content_sha256` commits to, with that digest's input.
        let content: Content?
        let contentCanonicalHex: String?
        let contentSha256: String?

        struct Content: Decodable, Sendable {
            let artifactUri: String
            let digest: String?
            let params: String
            let metrics: String
            let tags: String
            let parent: Int?
            let description: String
        }
    }

    private static func vectors() throws -> [Vector] {
        struct File: Decodable { let vectors: [Vector] }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let data = try Data(contentsOf: SourceTree.fixtures.appendingPathComponent("audit-vector.json"))
        return try decoder.decode(File.self, from: data).vectors
    }

    /// Writes the vectors into `audit_log` as they are, with their `form` unless `naming` is
    /// false (a file from before schema 8, which has no such column).
    private static func insert(_ vectors: [Vector], into connection: Connection, naming: Bool = true) throws {
        let columns = "seq, at, actor, action, model, version, branch, details, prev_hash, hash" + (naming ? ", form" : "")
        for vector in vectors {
            let values: [any SQLiteBindable] = [
                vector.seq, vector.at, vector.actor, vector.action, vector.model, vector.version, vector.branch,
                vector.details, bytes(hex: vector.prevHashHex), bytes(hex: vector.hashHex),
            ]
            try connection.execute(
                "INSERT INTO audit_log (\(columns)) VALUES (\(Array(repeating: "?", count: values.count + (naming ? 1 : 0)).joined(separator: ", ")))",
                naming ? values + [vector.form] : values)
        }
    }

    private static func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8).map { $0 <= 57 ? $0 - 48 : ($0 | 0x20) - 87 }
        return stride(from: 0, to: digits.count - 1, by: 2).map { digits[$0] << 4 | digits[$0 + 1] }
    }

    /// The CSV export tells a NULL column from an empty text, as the chain does.
    @Test func csvCellsTellNullFromEmptyText() {
        #expect(AuditExport.csvCell(nil) == "")
        #expect(AuditExport.csvCell("") == #""""#)
        #expect(AuditExport.csvCell("plain") == "plain")
        #expect(AuditExport.csvCell(#"{"a":1,"b":"x"}"#) == #""{""a"":1,""b"":""x""}""#)
        #expect(AuditExport.csvCell("two\nlines") == "\"two\nlines\"")
    }

    @Test func canonicalBytesAndHashReproduceTheTestVectors() throws {
        let vectors = try Self.vectors()
        try #require(vectors.map(\.form) == [1, 1, 2])
        var previous = AuditChain.genesis
        for vector in vectors {
            #expect(Self.bytes(hex: vector.prevHashHex) == previous)
            var canonical: [UInt8] = []
            AuditChain.canonicalBytes(
                form: vector.form, seq: vector.seq, at: vector.at, actor: vector.actor, action: vector.action, model: vector.model,
                version: vector.version, branch: vector.branch, details: vector.details, into: &canonical)
            #expect(AuditChain.hex(canonical) == vector.canonicalHex, "vector \(vector.seq)")
            let hash = AuditChain.hash(previous: previous, canonical: canonical)
            #expect(AuditChain.hex(hash) == vector.hashHex, "vector \(vector.seq)")
            #expect(Timestamp(rfc3339: vector.atRfc3339)?.millisecondsSinceEpoch == vector.at)
            #expect(Timestamp(millisecondsSinceEpoch: vector.at).description == vector.atRfc3339)
            previous = hash
        }
        #expect(AuditChain.hex(previous) == "96e0e0f90cb52954d1460710180d4d7c239aea329c907322fb76e96fe48b1acc")
    }

    /// Vector 3's `content_sha256` is the digest of the version content it gives, and mreg,
    /// registering that content, writes vector 3's details byte for byte.
    @Test func theContentDigestOfVectorThreeIsWhatARegistrationWrites() async throws {
        let vector = try #require(try Self.vectors().last)
        let content = try #require(vector.content)
        let stored = VersionContent(
            artifactURI: content.artifactUri, digest: content.digest, params: content.params, metrics: content.metrics,
            tags: content.tags, parent: content.parent, description: content.description)
        #expect(AuditChain.hex(stored.encoded.bytes) == vector.contentCanonicalHex)
        #expect(stored.sha256 == vector.contentSha256)

        try await withTemporaryRegistry { registry in
            _ = try await registry.createModel(name: "fraud-scorer", by: .alice)
            _ = try await registry.register(model: "fraud-scorer", RegisterRequest(artifactURI: "s3://models/fraud-scorer/1"), by: .alice)
            let request = try JSONCoding.decode(RegisterRequest.self, from: """
                {"artifact_uri": "\(content.artifactUri)", "digest": "\(try #require(content.digest))",
                 "params": \(content.params), "metrics": \(content.metrics), "tags": \(content.tags),
                 "parent": \(try #require(content.parent)), "description": "\(content.description)"}
                """)
            _ = try await registry.register(model: "fraud-scorer", request, by: .alice)
            let entry = try #require(try registry.allAuditEntries().last)
            #expect(entry.form == 2)
            #expect(entry.details == vector.details)
            #expect(try registry.verifyAudit(state: true).ok)
        }
    }

    @Test func aLogHoldingTheTestVectorsVerifiesWithTheirHead() async throws {
        let vectors = try Self.vectors()
        try await withTemporaryRegistry { registry in
            let connection = try Connection(path: registry.path)
            try Self.insert(vectors, into: connection)
            let verification = try registry.verifyAudit()
            #expect(verification.ok)
            #expect(verification.entries == 3)
            #expect(verification.head == vectors[2].hashHex)
            #expect(try registry.allAuditEntries().map(\.hash) == vectors.map(\.hashHex))
        }
    }

    /// A file written at schema 7 holds form-1 entries without a `form` column; after the
    /// upgrade they are form 1 and still verify, and the entries written next are form 2.
    @Test func anUpgradedLogKeepsItsEntriesInForm1AndWritesForm2() async throws {
        let vectors = try Self.vectors().filter { $0.form == 1 }
        try await withTemporaryDirectory { directory in
            let path = directory.file("mreg.db")
            do {
                let connection = try Connection(path: path)
                try Migrator(migrations: Array(Registry.migrations.prefix(7))).migrate(connection)
                try Self.insert(vectors, into: connection, naming: false)
            }
            let registry = try Registry(path: path)
            _ = try await registry.createModel(name: "churn", by: .alice)
            #expect(try registry.allAuditEntries().map(\.form) == [1, 1, 2])
            let verification = try registry.verifyAudit()
            #expect(verification.ok && verification.entries == 3, "\(verification)")
        }
    }

    // MARK: The stand-alone verifier

    private struct PythonVerdict: Decodable {
        let ok: Bool
        let entries: Int
        let head: String
        let firstBadSeq: Int?

        enum CodingKeys: String, CodingKey {
            case ok, entries, head
            case firstBadSeq = "first_bad_seq"
        }
    }

    /// `python3` on the `PATH`, if there is one.
    static let python3: String? = (ProcessInfo.processInfo.environment["PATH"] ?? "")
        .split(separator: ":")
        .map { "\($0)/python3" }
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    private static func runVerifier(on database: String) async throws -> (verdict: PythonVerdict, status: Int32) {
        let output = database + ".verdict.json"
        defer { try? FileManager.default.removeItem(atPath: output) }
        let process = try ChildProcess(
            try #require(python3), [SourceTree.fixtures.appendingPathComponent("verify_audit.py").path, database],
            directory: FileManager.default.currentDirectoryPath, stdout: output)
        let status = try #require(try await process.wait(upTo: .seconds(60)), "the verifier did not finish")
        let data = FileManager.default.contents(atPath: output) ?? Data()
        return (try JSONDecoder().decode(PythonVerdict.self, from: data), status)
    }

    @Test(.enabled(if: AuditTests.python3 != nil, "python3 is not installed"))
    func theStandAloneVerifierAgreesOnAnIntactLog() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.populate(registry)
            let ours = try registry.verifyAudit()
            let (theirs, status) = try await Self.runVerifier(on: registry.path)
            #expect(status == 0)
            #expect(theirs.ok)
            #expect(theirs.entries == ours.entries)
            #expect(theirs.head == ours.head)
            #expect(theirs.firstBadSeq == nil)
        }
    }

    @Test(.enabled(if: AuditTests.python3 != nil, "python3 is not installed"))
    func theStandAloneVerifierAgreesOnATamperedLog() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.populate(registry)
            let connection = try Connection(path: registry.path)
            try connection.execute(script: "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE seq = 6")
            let ours = try registry.verifyAudit()
            let (theirs, status) = try await Self.runVerifier(on: registry.path)
            #expect(status == 1)
            #expect(!theirs.ok)
            #expect(theirs.firstBadSeq == 6)
            #expect(theirs.firstBadSeq == ours.firstBadSeq)
            #expect(theirs.entries == ours.entries)
            #expect(theirs.head == ours.head)
        }
    }

    /// A log of form-1 entries followed by form-2 ones, as an upgraded registry holds, verifies
    /// with both verifiers; an entry's form cannot be changed without breaking its hash.
    @Test(.enabled(if: AuditTests.python3 != nil, "python3 is not installed"))
    func bothFormsVerifyAndAnEntrysFormCannotBeChanged() async throws {
        let vectors = try Self.vectors()
        try await withTemporaryRegistry { registry in
            let connection = try Connection(path: registry.path)
            try Self.insert(vectors, into: connection)
            let (intact, intactStatus) = try await Self.runVerifier(on: registry.path)
            #expect(intactStatus == 0)
            #expect(intact.ok && intact.entries == 3 && intact.head == vectors[2].hashHex)

            try connection.execute(script: "DROP TRIGGER audit_log_no_update")
            for (form, problem) in [(1, "do not match its hash"), (9, "names canonical form 9")] {
                try connection.execute("UPDATE audit_log SET form = ? WHERE seq = 3", [form])
                let ours = try registry.verifyAudit()
                #expect(ours.firstBadSeq == 3 && ours.problem?.contains(problem) == true, "form \(form): \(ours)")
                let (theirs, status) = try await Self.runVerifier(on: registry.path)
                #expect(status == 1)
                #expect(theirs.firstBadSeq == 3 && theirs.head == ours.head)
            }
            // And a form-1 entry read as form 2.
            try connection.execute("UPDATE audit_log SET form = 2 WHERE seq = 3")
            try connection.execute("UPDATE audit_log SET form = 2 WHERE seq = 2")
            #expect(try registry.verifyAudit().firstBadSeq == 2)
        }
    }
}

/// Long logs are verified in parallel segments; the answer must not depend on how many.
@Suite struct ParallelAuditVerifyTests {
    private func populated(_ body: (Registry) async throws -> Void) async throws {
        try await withTemporaryRegistry { registry in
            for index in 0..<60 { try await registry.registerVersion("m\(index % 3)") }
            try await body(registry)
        }
    }

    @Test func segmentsAgreeWithOneThread() async throws {
        try await populated { registry in
            let single = try registry.walkAuditChain(capturing: 17, segments: 1)
            for parts in [2, 3, 7] {
                let parallel = try registry.walkAuditChain(capturing: 17, segments: parts)
                #expect(parallel.verification == single.verification)
                #expect(parallel.capturedHash == single.capturedHash)
            }
            #expect(single.verification.ok)
            #expect(single.verification.entries == 63)  // 3 model.create + 60 version.register
        }
    }

    @Test func aChangedEntryInALaterSegmentIsNamed() async throws {
        try await populated { registry in
            let connection = try Connection(path: registry.path)
            try connection.execute(script: "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE seq = 50;")
            for parts in [1, 2, 3, 5] {
                let verification = try registry.walkAuditChain(capturing: nil, segments: parts).verification
                #expect(!verification.ok)
                #expect(verification.firstBadSeq == 50, "with \(parts) segments")
                #expect(verification.entries == 49)
            }
        }
    }

    @Test func aMissingEntryAtASegmentBoundaryIsNamed() async throws {
        try await populated { registry in
            let connection = try Connection(path: registry.path)
            // With 3 segments over 63 entries the second starts at 22.
            try connection.execute(script: "DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq = 22;")
            for parts in [1, 3] {
                let verification = try registry.walkAuditChain(capturing: nil, segments: parts).verification
                #expect(verification.firstBadSeq == 22, "with \(parts) segments")
            }
        }
    }
}
