import Foundation
import MregTestSupport
import Testing

/// Several `mreg` processes writing one database at once.
///
/// Serialized so the two load tests do not compete with each other for the machine's cores.
@Suite(.serialized, .timeLimit(.minutes(5)))
struct ConcurrentWriterTests {
    /// One shell loop that registers `count` versions of `model`, one `mreg` process each,
    /// with artifacts `s3://load/<writer>/<i>`. It carries on past a failure (and says so on
    /// stderr), so that every failure shows up in the counts.
    static func writer(_ writer: String, model: String, count: Int, in registry: TemporaryRegistry) async throws -> ProcessOutcome {
        let script = """
            failed=0
            for i in $(seq "$COUNT"); do
              "$MREG" register "$MODEL" --artifact "s3://load/$WRITER/$i" --tag "writer=$WRITER" > /dev/null \\
                || { echo "registration $i by $WRITER failed with exit $?" >&2; failed=$((failed + 1)); }
            done
            [ "$failed" -eq 0 ]
            """
        let bash = try #require(executableOnPath("bash"))
        let environment = registry.environment(
            actor: writer, ["MREG": MregBinary.path, "MODEL": model, "WRITER": writer, "COUNT": String(count)])
        return try await runProcess(bash, ["-c", script], environment: environment, directory: registry.directory, timeout: .seconds(240))
    }

    /// Every version of `model` in `database`, newest first, through the cursor.
    static func allVersions(of model: String, database: String, in registry: TemporaryRegistry) async throws -> [[String: Any]] {
        var versions: [[String: Any]] = []
        var cursor: String?
        repeat {
            var arguments = ["versions", model, "--limit", "1000", "--json", "--db", database]
            if let cursor { arguments += ["--cursor", cursor] }
            let page = try await registry.mreg(arguments: arguments)
            try #require(page.status == 0, "\(page)")
            versions += try page.items()
            cursor = try page.json().string("next_cursor")
        } while cursor != nil
        return versions
    }

    static func expectNoLockErrors(_ outcomes: [ProcessOutcome], sourceLocation: SourceLocation = #_sourceLocation) {
        for outcome in outcomes {
            let stderr = outcome.stderr.lowercased()
            #expect(!stderr.contains("locked") && !stderr.contains("busy"), "\(outcome)", sourceLocation: sourceLocation)
        }
    }

    @Test func parallelRegistrationsAreAllKeptGapFree() async throws {
        try await withTemporaryRegistry { registry in
            _ = try await registry.json("init")
            let perWriter = 200
            // Two writers share one model (they race for its version numbers); two have their own.
            let plan = [("w1", "shared"), ("w2", "shared"), ("w3", "solo3"), ("w4", "solo4")]
            let outcomes = try await withThrowingTaskGroup(of: ProcessOutcome.self) { group in
                for (writer, model) in plan {
                    group.addTask { try await Self.writer(writer, model: model, count: perWriter, in: registry) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            for outcome in outcomes { #expect(outcome.status == 0, "\(outcome)") }
            Self.expectNoLockErrors(outcomes)

            for model in Set(plan.map(\.1)) {
                let writers = plan.filter { $0.1 == model }.map(\.0)
                let versions = try await Self.allVersions(of: model, database: registry.database, in: registry)
                let expected = writers.flatMap { writer in (1...perWriter).map { "s3://load/\(writer)/\($0)" } }
                let artifacts = versions.compactMap { $0.string("artifact_uri") }
                #expect(artifacts.count == expected.count, "\(model): \(artifacts.count) versions, expected \(expected.count)")
                #expect(Set(artifacts) == Set(expected), "\(model): every registration is present")
                #expect(Set(artifacts).count == artifacts.count, "\(model): no registration is present twice")
                let numbers = versions.compactMap { $0.int("version") }
                #expect(numbers == Array((1...expected.count).reversed()), "\(model): version numbers are gap-free")
                #expect(try await registry.branches(model).develop == expected.count)
            }

            let verification = try await registry.json("audit", "verify")
            #expect(verification.bool("ok") == true)
            #expect(verification.int("entries") == plan.count * perWriter + Set(plan.map(\.1)).count, "one register entry each, plus model.create")
        }
    }

    @Test func backupWhileOthersRegisterIsConsistent() async throws {
        try await withTemporaryRegistry { registry in
            _ = try await registry.json("init")
            let perWriter = 80
            let plan = [("b1", "hot"), ("b2", "hot"), ("b3", "own3"), ("b4", "own4")]
            async let writers = withThrowingTaskGroup(of: ProcessOutcome.self) { group in
                for (writer, model) in plan {
                    group.addTask { try await Self.writer(writer, model: model, count: perWriter, in: registry) }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }

            var backups: [String] = []
            var backupOutcomes: [ProcessOutcome] = []
            for index in 1...3 {
                try await Task.sleep(for: .milliseconds(400))
                let path = registry.file("backup-\(index).db")
                let outcome = try await registry.mreg("backup", "--to", path, "--json")
                #expect(outcome.status == 0, "\(outcome)")
                #expect(try outcome.json().string("backup") == path)
                backups.append(path)
                backupOutcomes.append(outcome)
            }
            let outcomes = try await writers
            for outcome in outcomes { #expect(outcome.status == 0, "\(outcome)") }
            Self.expectNoLockErrors(outcomes + backupOutcomes)

            let finalEntries = try await registry.auditEntryCount()
            #expect(finalEntries == plan.count * perWriter + Set(plan.map(\.1)).count)
            var backupEntries: [Int] = []
            for backup in backups {
                let integrity = try await registry.sqlite(backup, "PRAGMA integrity_check")
                #expect(integrity.status == 0, "\(integrity)")
                #expect(integrity.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "\(backup): \(integrity)")

                let verification = try await registry.mreg("audit", "verify", "--db", backup, "--json")
                #expect(verification.status == 0, "\(backup): \(verification)")
                let entries = try #require(try verification.json().int("entries"))
                backupEntries.append(entries)

                // A consistent copy holds a gap-free prefix of every model's versions.
                for model in Set(plan.map(\.1)) {
                    let versions = try await registry.mreg("versions", model, "--limit", "1000", "--db", backup, "--json")
                    guard versions.status == 0 else {
                        #expect(versions.status == 3, "\(model) may not exist yet in \(backup): \(versions)")
                        continue
                    }
                    let numbers = try versions.items().compactMap { $0.int("version") }
                    #expect(numbers == Array(stride(from: numbers.count, through: 1, by: -1)), "\(model) in \(backup)")
                }
            }
            #expect(backupEntries == backupEntries.sorted(), "later backups hold at least as much")
            #expect(backupEntries.first.map { $0 < finalEntries } == true, "the first backup was taken while writers were busy")
        }
    }
}
