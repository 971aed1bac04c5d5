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
}
