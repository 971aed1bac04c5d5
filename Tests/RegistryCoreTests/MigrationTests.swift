import Foundation
import MregTestSupport
import SQLite
import Testing

@testable import RegistryCore

/// The schema migrations built into the binary, and files the registry must refuse untouched.
@Suite struct MigrationTests {
    @Test func theEmbeddedMigrationsAreExactlyTheFilesInMigrations() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: SourceTree.migrations.path)
            .filter { $0.hasSuffix(".sql") }
            .sorted()
        try #require(!files.isEmpty)
        #expect(Registry.migrations.map(\.name) == files)
        for (migration, file) in zip(Registry.migrations, files) {
            let data = try Data(contentsOf: SourceTree.migrations.appendingPathComponent(file))
            let text = try #require(String(data: data, encoding: .utf8))
            #expect(migration.sql == text, "\(file) differs from its embedded copy")
            #expect(Array(migration.sql.utf8) == Array(data), "\(file) differs byte for byte")
            #expect(migration.identifier == Int(file.prefix { $0.isNumber }))
            #expect(migration.checksum == AuditChain.sha256(Array(data)))
        }
        #expect(Registry.migrations.map(\.identifier) == Array(1...Registry.migrations.count))
    }

    @Test func aNewFileIsMigratedAndRecordsEveryMigration() async throws {
        try await withTemporaryRegistry { registry in
            #expect(registry.isReady())
            let connection = try Connection(path: registry.path)
            let recorded = try connection.query("SELECT identifier, name, checksum FROM schema_migrations ORDER BY identifier")
            #expect(try recorded.map { try $0.int(0) } == Registry.migrations.map(\.identifier))
            #expect(try recorded.map { try $0.string(1) } == Registry.migrations.map(\.name))
            #expect(try recorded.map { try $0.string(2) } == Registry.migrations.map(\.checksum))
        }
    }

    @Test func reopeningAMigratedFileKeepsItsContents() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("mreg.db")
            do {
                let registry = try Registry(path: path)
                try await registry.registerVersion()
            }
            let reopened = try Registry(path: path)
            #expect(try reopened.model(named: "fraud-scorer").versionCount == 1)
            #expect(try reopened.verifyAudit().ok)
        }
    }

    /// 0004 rebuilds `transitions` (its CHECK constraints without IN lists): a file written at
    /// schema version 3 keeps every transition, id for id, and the rebuilt table still refuses
    /// what the old one refused.
    @Test func migration4KeepsEveryTransitionOfAVersion3File() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("mreg.db")
            let before: [Row]
            do {
                let connection = try Connection(path: path)
                try Migrator(migrations: Array(Registry.migrations.prefix(3))).migrate(connection)
                try connection.execute(script: """
                    INSERT INTO models (id, name, created_by, created_at) VALUES (1, 'fraud-scorer', 'alice', 1000);
                    INSERT INTO versions (model_id, version, artifact_uri, created_by, created_at)
                    VALUES (1, 1, 's3://m/1', 'alice', 1000), (1, 2, 's3://m/2', 'alice', 2000);
                    INSERT INTO branches (model_id, name, version, updated_at)
                    VALUES (1, 'develop', 2, 2000), (1, 'release', 2, 3000), (1, 'master', 1, 6000);
                    INSERT INTO transitions (model_id, kind, branch, from_version, to_version, actor, reason, at, gates) VALUES
                        (1, 'register', 'develop', NULL, 1, 'alice', '', 1000, '[]'),
                        (1, 'register', 'develop', 1, 2, 'alice', '', 2000, '[]'),
                        (1, 'promote', 'release', NULL, 2, 'bob', '',  3000,
                         '[{"message":"ok","name":"tests","observed":1,"passed":true,"required":1}]'),
                        (1, 'force', 'master', NULL, 1, 'carol', 'hotfix', 4000, '[]'),
                        (1, 'rollout_complete', 'master', 1, 2, 'system', '', 5000, '[]'),
                        (1, 'rollback', 'master', 2, 1, 'carol', 'p99 regression', 6000, '[]');
                    """)
                before = try connection.query("SELECT * FROM transitions ORDER BY id")
            }

            let registry = try Registry(path: path)
            let connection = try Connection(path: path)
            #expect(try connection.query("SELECT * FROM transitions ORDER BY id") == before)
            let history = try registry.history(model: "fraud-scorer")
            #expect(history.transitions.map(\.id) == [6, 5, 4, 3, 2, 1])
            #expect(history.transitions.map(\.kind) == [.rollback, .rolloutComplete, .force, .promote, .register, .register])
            #expect(history.transitions[3].gates.map(\.name) == ["tests"])
            #expect(try registry.version(model: "fraud-scorer", .branchAt(.master, Timestamp(millisecondsSinceEpoch: 5_500))).version == 2)

            let indexes = try connection.query(
                "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'transitions' ORDER BY name")
            #expect(try indexes.map { try $0.string(0) } == ["transitions_by_branch_time", "transitions_by_model", "transitions_by_target"])
            for (kind, branch) in [("deploy", "master"), ("promote", "main"), ("PROMOTE", "release")] {
                #expect(throws: SQLiteError.self, "kind \(kind), branch \(branch)") {
                    try connection.execute(
                        "INSERT INTO transitions (model_id, kind, branch, to_version, actor, at) VALUES (1, ?, ?, 1, 'x', 1)",
                        [kind, branch])
                }
            }
            #expect(throws: SQLiteError.self) { try connection.execute("UPDATE transitions SET reason = 'edited' WHERE id = 1") }
            #expect(throws: SQLiteError.self) { try connection.execute("DELETE FROM transitions WHERE id = 6") }
            #expect(try connection.query("SELECT * FROM transitions ORDER BY id") == before)

            // New transitions follow the copied ones.
            _ = try await registry.registerVersion()
            #expect(try registry.history(model: "fraud-scorer", limit: 1).transitions.map(\.id) == [7])
        }
    }

    /// 0006 replaces the audit log's four indexes with `audit_index`: a file written at schema
    /// version 5 has every entry indexed by model, actor and action, and lookups answer what
    /// they answered before.
    @Test func migration6IndexesEveryEntryOfAVersion5File() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("mreg.db")
            let queries: [(String, String, [any SQLiteBindable])] = [
                ("model", "model = ?", ["m1"]), ("actor", "actor = ?", ["bob"]), ("action", "action = ?", ["branch.promote"]),
                ("time", "at BETWEEN ? AND ?", [50_000, 120_000]),
            ]
            var before: [[Int]] = []
            do {
                let connection = try Connection(path: path)
                try Migrator(migrations: Array(Registry.migrations.prefix(5))).migrate(connection)
                try connection.execute(script: """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300)
                    INSERT INTO audit_log (seq, at, actor, action, model, version, branch, details, prev_hash, hash)
                    SELECT i, 1000 * i, CASE i % 3 WHEN 0 THEN 'alice' WHEN 1 THEN 'bob' ELSE 'ci-bot' END,
                           CASE WHEN i % 4 = 0 THEN 'branch.promote' ELSE 'version.register' END,
                           CASE WHEN i % 10 = 0 THEN NULL ELSE 'm' || (i % 2) END, i, NULL, '{}', zeroblob(32), zeroblob(32)
                    FROM n;
                    """)
                for (_, condition, arguments) in queries {
                    before.append(try connection.query("SELECT seq FROM audit_log WHERE \(condition) ORDER BY seq DESC", arguments).map { try $0.int(0) })
                }
            }

            let registry = try Registry(path: path)
            let connection = try Connection(path: path)
            #expect(try AuditIndex.indexedThrough(connection) == 300)
            #expect(try connection.queryFirst("SELECT count(*) FROM audit_index")?.int(0) == 3 * 300 - 30, "no model row for the 30 entries without one")
            let indexes = try connection.query("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'audit_log'")
            #expect(indexes.isEmpty, "the four indexes of version 1 are gone")
            let found = try [
                registry.auditLog(AuditQuery(model: "m1", limit: 500)), registry.auditLog(AuditQuery(actor: "bob", limit: 500)),
                registry.auditLog(AuditQuery(action: "branch.promote", limit: 500)),
                registry.auditLog(AuditQuery(
                    since: Timestamp(millisecondsSinceEpoch: 50_000), until: Timestamp(millisecondsSinceEpoch: 120_000), limit: 500)),
            ]
            for ((name, _, _), (page, expected)) in zip(queries, zip(found, before)) {
                #expect(page.items.map(\.seq) == expected, "by \(name)")
                #expect(!expected.isEmpty)
            }
        }
    }

    /// SQLite codes `x IN (a, b, c)` over more than two constants as an ephemeral B-tree that
    /// every execution builds; none of the writes every registration and promotion makes may
    /// carry such a constraint (0004 took them out of `transitions`).
    @Test func theWritesOfEveryChangeBuildNoEphemeralTable() async throws {
        try await withTemporaryRegistry { registry in
            let connection = try Connection(path: registry.path)
            func columns(_ table: String) throws -> [String] {
                try connection.query("SELECT name FROM pragma_table_info(?) ORDER BY cid", [table]).map { try $0.string(0) }
            }
            var statements = ["UPDATE branches SET version = ?, updated_at = ? WHERE model_id = ? AND name = ?"]
            for table in ["versions", "transitions", "audit_log"] {
                let names = try columns(table)
                try #require(!names.isEmpty)
                statements.append(
                    "INSERT INTO \(table) (\(names.joined(separator: ", "))) VALUES (\(Array(repeating: "?", count: names.count).joined(separator: ", ")))")
            }
            for sql in statements {
                let nulls = [Value](repeating: .null, count: sql.filter { $0 == "?" }.count)
                let opcodes = try connection.query("EXPLAIN " + sql, nulls).map { try $0.string(1) }
                #expect(opcodes.contains("Insert") || opcodes.contains("IdxInsert") || opcodes.contains("Update") || opcodes.contains("MakeRecord"), "\(sql)")
                #expect(!opcodes.contains("OpenEphemeral"), "\(sql) builds an ephemeral table")
            }
        }
    }

    /// Creates a migrated registry file, lets `tamper` change it through a connection of its own,
    /// then expects opening it to fail with `UNAVAILABLE` and leave the file's bytes alone.
    private static func expectRefusedUntouched(
        sourceLocation: SourceLocation = #_sourceLocation, _ tamper: (Connection) throws -> Void
    ) async throws -> RegistryError? {
        try await withTemporaryDirectory { directory in
            let path = directory.file("mreg.db")
            do {
                let registry = try Registry(path: path)
                try await registry.registerVersion()
            }
            do {
                let connection = try Connection(path: path)
                try tamper(connection)
            }
            // Every connection is closed: the WAL has been folded into the file.
            let before = try Data(contentsOf: URL(fileURLWithPath: path))
            let error = await expectError(.unavailable, sourceLocation: sourceLocation) { try Registry(path: path) }
            let after = try Data(contentsOf: URL(fileURLWithPath: path))
            #expect(after == before, "the refused file was changed", sourceLocation: sourceLocation)
            return error
        }
    }

    /// 0011 counts, from the log, how many of each rollout's observations came before its current
    /// step, and dates the step by the log's last start, advance or resume (0010 took the largest
    /// `at`, which differs once the clock went back).
    @Test func migration11FindsEachRolloutsStepInTheLogOfAVersion10File() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("mreg.db")
            do {
                let connection = try Connection(path: path)
                try Migrator(migrations: Array(Registry.migrations.prefix(10))).migrate(connection)
                try connection.execute(script: """
                    INSERT INTO models (id, name, created_by, created_at) VALUES (1, 'fraud', 'alice', 1000), (2, 'churn', 'alice', 1000);
                    INSERT INTO versions (model_id, version, artifact_uri, created_by, created_at)
                    VALUES (1, 1, 's3://f/1', 'alice', 1000), (1, 2, 's3://f/2', 'alice', 1000), (2, 1, 's3://c/1', 'alice', 1000);
                    INSERT INTO rollouts (id, model_id, candidate, baseline, steps, step, percent, state, failure_limit, started_by,
                                          started_at, updated_at, auto, step_started_at)
                    VALUES (1, 1, 2, 1, '[10,50,100]', 2, 50, 'progressing', 0, 'bob', 2000, 9000, 1, 9000),
                           (2, 2, 1, NULL, '[10,100]', 1, 10, 'progressing', 0, 'bob', 3000, 3000, 0, 3000);
                    INSERT INTO rollout_observations (rollout_id, target, metrics, passed, actor, at)
                    VALUES (1, 'candidate', '{"e":1}', 1, 'bob', 4000), (1, 'candidate', '{"e":1}', 1, 'bob', 5000),
                           (1, 'candidate', '{"e":1}', 1, 'bob', 7000), (2, 'candidate', '{"e":1}', 1, 'bob', 7500);
                    INSERT INTO audit_log (seq, at, actor, action, model, details, prev_hash, hash) VALUES
                        (1, 2000, 'bob', 'rollout.start', 'fraud', '{"rollout_id":1}', zeroblob(32), zeroblob(32)),
                        (2, 3000, 'bob', 'rollout.start', 'churn', '{"rollout_id":2}', zeroblob(32), zeroblob(32)),
                        (3, 4000, 'bob', 'rollout.observe', 'fraud', '{"rollout_id":1}', zeroblob(32), zeroblob(32)),
                        (4, 9000, 'system', 'rollout.advance', 'fraud', '{"rollout_id":1,"step":2}', zeroblob(32), zeroblob(32)),
                        (5, 5000, 'bob', 'rollout.observe', 'fraud', '{"rollout_id":1}', zeroblob(32), zeroblob(32)),
                        (6, 6000, 'bob', 'rollout.pause', 'fraud', '{"rollout_id":1}', zeroblob(32), zeroblob(32)),
                        (7, 6500, 'bob', 'rollout.resume', 'fraud', '{"rollout_id":1}', zeroblob(32), zeroblob(32)),
                        (8, 7000, 'bob', 'rollout.observe', 'fraud', '{"rollout_id":1}', zeroblob(32), zeroblob(32)),
                        (9, 7500, 'bob', 'rollout.observe', 'churn', '{"rollout_id":2}', zeroblob(32), zeroblob(32));
                    """)
            }

            _ = try Registry(path: path)
            let connection = try Connection(path: path)
            let rows = try connection.query("SELECT id, step_started_at, observations_before_step FROM rollouts ORDER BY id")
            // Rollout 1: the clock went back after its advance at 9000; the resume (seq 7) came
            // last, after two of its three observations. Rollout 2: its start, before any.
            #expect(rows.map(\.values) == [[1, 6500, 2], [2, 3000, 0]])
        }
    }

    @Test func aChangedChecksumIsRefusedAndTheFileLeftAsItWas() async throws {
        let error = try await Self.expectRefusedUntouched { connection in
            try connection.execute("UPDATE schema_migrations SET checksum = ? WHERE identifier = 1", [String(repeating: "0", count: 64)])
        }
        #expect(error?.message.contains("0001") == true)
        #expect(error?.message.contains("checksum") == true)
    }

    @Test func anUnknownMigrationIsRefusedAndTheFileLeftAsItWas() async throws {
        let error = try await Self.expectRefusedUntouched { connection in
            try connection.execute(
                "INSERT INTO schema_migrations (identifier, name, checksum) VALUES (9999, '9999_from_the_future.sql', ?)",
                [String(repeating: "a", count: 64)])
        }
        #expect(error?.message.contains("9999") == true)
    }

    @Test func aFileThatIsNoDatabaseOrADirectoryIsUnavailable() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory.file("notes.txt")
            let text = Data(String(repeating: "not a database, just some notes\n", count: 100).utf8)
            try text.write(to: URL(fileURLWithPath: path))
            await expectError(.unavailable) { try Registry(path: path) }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == text)
            await expectError(.unavailable) { try Registry(path: directory.path) }
        }
    }
}
