import Foundation
import Testing

/// `--db` pointing somewhere that is not a registry database.
@Suite struct DatabaseFileTests {
    @Test func aDirectoryIsRefused() async throws {
        try await withTemporaryRegistry { registry in
            let directory = registry.file("a-directory")
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            for arguments in [["init"], ["register", "fraud", "--artifact", "s3://a/1"], ["audit", "verify"]] {
                let outcome = try await registry.mreg(arguments: arguments + ["--db", directory])
                #expect(outcome.status == 1, "\(arguments): \(outcome)")
                #expect(outcome.stderr == "error: cannot open database \(directory): it is a directory\n", "\(outcome)")
                #expect(outcome.stdout.isEmpty)
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty, "nothing is created inside it")
        }
    }

    /// The contents of a file that is not a database, named for the test report.
    struct Contents: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let bytes: [UInt8]
    }

    static let notSQLite = [
        Contents(testDescription: "text", bytes: Array("hello world, this is not a database\n".utf8)),
        Contents(testDescription: "4 KiB of binary", bytes: (0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }),
        Contents(testDescription: "a wrong SQLite header", bytes: Array("SQLite format 2\0 but not really".utf8)),
    ]

    @Test(arguments: notSQLite)
    func aFileThatIsNotSQLiteIsRefusedAndLeftUnchanged(contents: Contents) async throws {
        let bytes = contents.bytes
        try await withTemporaryRegistry { registry in
            let path = registry.file("notes.db")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let before = try FileManager.default.contentsOfDirectory(atPath: registry.directory).sorted()
            for arguments in [["init"], ["register", "fraud", "--artifact", "s3://a/1"], ["versions", "fraud", "--json"]] {
                let outcome = try await registry.mreg(arguments: arguments + ["--db", path])
                #expect(outcome.status == 1, "\(arguments): \(outcome)")
                #expect(outcome.stderr == "error: cannot open database \(path): it is not an SQLite database\n", "\(outcome)")
                #expect(outcome.stdout.isEmpty)
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(bytes), "the file's bytes are unchanged")
            let after = try FileManager.default.contentsOfDirectory(atPath: registry.directory).sorted()
            #expect(after == before, "no -wal, -shm or -journal files are left beside it")
        }
    }

    @Test func anEmptyFileBecomesARegistry() async throws {
        try await withTemporaryRegistry { registry in
            let path = registry.file("empty.db")
            try Data().write(to: URL(fileURLWithPath: path))
            let outcome = try await registry.mreg("init", "--db", path, "--json")
            #expect(outcome.status == 0, "an empty file is an empty SQLite database: \(outcome)")
            #expect(try outcome.json().bool("ready") == true)
        }
    }

    /// The commands that only read, each of which must leave a file alone.
    static let readCommands: [[String]] = [
        ["audit", "verify"], ["audit", "log"], ["audit", "export"], ["model", "list"], ["show", "fraud", "1"],
        ["versions", "fraud"], ["history", "fraud"], ["reports", "fraud", "1"], ["token", "list"], ["rollout", "status", "fraud"],
    ]

    @Test func aReadCommandOnAMistypedPathCreatesNothing() async throws {
        try await withTemporaryRegistry { registry in
            let key = registry.file("audit.key")
            _ = try await registry.json("audit", "keygen", "--out", key)
            let typo = registry.file("registyr.db")
            let before = try FileManager.default.contentsOfDirectory(atPath: registry.directory).sorted()
            for arguments in Self.readCommands + [["audit", "checkpoint", "--key", key], ["backup", "--to", registry.file("copy.db")]] {
                let outcome = try await registry.mreg(arguments: arguments + ["--db", typo])
                #expect(outcome.status == 1, "\(arguments): \(outcome)")
                #expect(outcome.stderr == "error: no registry at \(typo): there is no such file (mreg init creates one)\n", "\(outcome)")
                #expect(outcome.stdout.isEmpty, "\(arguments): \(outcome)")
            }
            let after = try FileManager.default.contentsOfDirectory(atPath: registry.directory).sorted()
            #expect(after == before, "no file is created")
        }
    }

    /// An auditor checks a copy of the file: reading it, even one kept in the rollback-journal
    /// mode, changes none of its bytes (it used to be switched to WAL).
    @Test func readingACopyLeavesItByteForByte() async throws {
        try await withTemporaryRegistry { registry in
            try await registry.register("fraud")
            _ = try await registry.json("promote", "fraud", "--to", "release")
            _ = try await registry.json("report", "add", "fraud", "1", "--suite", "unit", "--status", "passed", "--metric", "p99_ms=41")
            let copy = registry.file("copy.db")
            _ = try await registry.json("backup", "--to", copy)
            let rollbackJournal = try await registry.sqlite(copy, "PRAGMA journal_mode=DELETE")
            #expect(rollbackJournal.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "delete", "\(rollbackJournal)")
            let before = try Data(contentsOf: URL(fileURLWithPath: copy))

            for arguments in Self.readCommands {
                let outcome = try await registry.mreg(arguments: arguments + ["--db", copy])
                #expect(outcome.status == 0 || arguments == ["rollout", "status", "fraud"], "\(arguments): \(outcome)")
            }
            #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == before, "the copy's bytes are unchanged")
            let verification = try await registry.mreg("audit", "verify", "--db", copy, "--json")
            let entries = try await registry.auditEntryCount()
            #expect(try verification.json().int("entries") == entries, "\(verification)")
        }
    }

    /// A file an older mreg wrote (here: one whose last migration is not recorded) is not
    /// migrated by a command that only reads: it says so and leaves the file as it was.
    @Test func aReadCommandDoesNotUpgradeAnOlderFile() async throws {
        try await withTemporaryRegistry { registry in
            let path = registry.file("old.db")
            let created = try await registry.mreg("init", "--db", path)
            #expect(created.status == 0, "\(created)")
            let forgotten = try await registry.sqlite(path, "DELETE FROM schema_migrations WHERE identifier = (SELECT max(identifier) FROM schema_migrations)")
            #expect(forgotten.status == 0, "\(forgotten)")
            let before = try Data(contentsOf: URL(fileURLWithPath: path))

            let refused = try await registry.mreg("model", "list", "--db", path)
            #expect(refused.status == 1, "\(refused)")
            #expect(refused.stderr.contains("cannot use database \(path): the database schema is older than this program"), "\(refused)")
            #expect(refused.stderr.contains("mreg init"), "\(refused)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        }
    }

    /// An empty file is an empty SQLite database with no registry in it: a command that only
    /// reads says so and leaves the file empty (`init` makes it a registry: see above).
    @Test func aReadCommandOnAnEmptyFileSaysItHoldsNoRegistry() async throws {
        try await withTemporaryRegistry { registry in
            let path = registry.file("empty.db")
            try Data().write(to: URL(fileURLWithPath: path))
            let outcome = try await registry.mreg("versions", "fraud", "--db", path)
            #expect(outcome.status == 1, "\(outcome)")
            #expect(outcome.stderr == "error: cannot use database \(path): it holds no schema yet; a command that writes, such as mreg init, creates it\n", "\(outcome)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)).isEmpty, "the file is left empty")
        }
    }
}
