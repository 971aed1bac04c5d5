import Foundation
import MregTestSupport
import Testing

/// `mreg audit log|verify|export` and `mreg backup`.
@Suite struct AuditCommandTests {
    /// A small history by several actors: fraud v1 by alice, promoted by bob; churn v1 by carol.
    static func seed(_ registry: TemporaryRegistry) async throws {
        try await registry.register("fraud", actor: "alice")
        _ = try await registry.json("promote", "fraud", "--to", "release", actor: "bob")
        try await registry.register("churn", actor: "carol")
    }

    @Test(arguments: RegistryMode.allCases) func auditLogListsEntriesNewestFirst(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await Self.seed(registry)
            let log = try await registry.mreg("audit", "log", "--json")
            #expect(log.status == 0, "\(log)")
            let entries = try log.items()
            let count = registry.setupEntries + 5
            #expect(entries.compactMap { $0.int("seq") } == Array((1...count).reversed()))
            #expect(entries.prefix(5).compactMap { $0.string("action") } == [
                "version.register", "model.create", "branch.promote", "version.register", "model.create",
            ])
            #expect(entries.dropFirst(5).allSatisfy { $0.string("action") == "token.create" }, "only the setup's tokens before")
            let newest = try #require(entries.first)
            #expect(newest.keySet.isSuperset(of: ["seq", "at", "actor", "action", "model", "version", "branch", "details", "prev_hash", "hash"]))
            #expect(isSHA256Hex(newest.string("hash")) && isSHA256Hex(newest.string("prev_hash")))
            #expect(entries.last?.string("prev_hash") == String(repeating: "0", count: 64))
            #expect(entries[0].string("prev_hash") == entries[1].string("hash"), "entries are chained")

            let human = try await registry.mreg("audit", "log")
            #expect(human.status == 0)
            #expect(human.stdout.contains("SEQ") && human.stdout.contains("branch.promote"), "\(human)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func auditLogFilters(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await Self.seed(registry)
            let byModel = try await registry.mreg("audit", "log", "--model", "churn", "--json")
            #expect(byModel.status == 0, "\(byModel)")
            #expect(try byModel.items().allSatisfy { $0.string("model") == "churn" })
            #expect(try byModel.items().count == 2)

            let byAction = try await registry.mreg("audit", "log", "--action", "branch.promote", "--json")
            #expect(byAction.status == 0, "\(byAction)")
            #expect(try byAction.items().compactMap { $0.string("actor") } == ["bob"])

            let limited = try await registry.mreg("audit", "log", "--limit", "2", "--json")
            #expect(limited.status == 0, "\(limited)")
            #expect(try limited.items().compactMap { $0.int("seq") } == [5, 4].map { $0 + registry.setupEntries })
            #expect(try limited.json().string("next_cursor") != nil)

            let future = try await registry.mreg("audit", "log", "--since", "2999-01-01T00:00:00Z", "--json")
            #expect(future.status == 0, "\(future)")
            #expect(try future.items().isEmpty)

            let past = try await registry.mreg("audit", "log", "--until", "2000-01-01T00:00:00Z", "--json")
            #expect(past.status == 0, "\(past)")
            #expect(try past.items().isEmpty)

            let window = try await registry.mreg(
                "audit", "log", "--since", "2000-01-01T00:00:00Z", "--until", rfc3339(Date().addingTimeInterval(60)), "--json")
            #expect(try window.items().count == registry.setupEntries + 5)

            let badLimit = try await registry.mreg("audit", "log", "--limit", "0")
            #expect(badLimit.status == 2, "\(badLimit)")
            #expect(badLimit.stderr.contains("limit"), "\(badLimit)")
        }
    }

    /// The contract spells the filter `mreg audit log --actor A`.
    @Test(arguments: RegistryMode.allCases) func auditLogFiltersByActorAsTheContractSpellsIt(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await Self.seed(registry)
            let outcome = try await registry.mreg("audit", "log", "--actor", "bob", "--json")
            #expect(outcome.status == 0, "\(outcome)")
            let actors = try outcome.items().compactMap { $0.string("actor") }
            #expect(actors == ["bob"], "`audit log --actor bob` should list only bob's entries, got \(actors)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func auditVerifyPassesOnAnUntouchedLog(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await Self.seed(registry)
            let verification = try await registry.json("audit", "verify")
            #expect(verification.bool("ok") == true)
            #expect(verification.int("entries") == registry.setupEntries + 5)
            #expect(isSHA256Hex(verification.string("head")))
            #expect(verification["first_bad_seq"] == nil || verification.isNull("first_bad_seq"))

            let human = try await registry.mreg("audit", "verify")
            #expect(human.status == 0)
            #expect(human.stdout.contains("OK: \(registry.setupEntries + 5) entries verify"), "\(human)")
        }
    }

    @Test func auditVerifyNamesTheFirstTamperedEntry() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.seed(registry)

            // The table refuses updates while its trigger stands.
            let refused = try await registry.sqlite(registry.database, #"UPDATE audit_log SET details = '{"forged":true}' WHERE seq = 3"#)
            #expect(refused.status != 0, "the audit table must refuse UPDATE: \(refused)")
            #expect(try await registry.json("audit", "verify").bool("ok") == true)

            let tampered = try await registry.sqlite(
                registry.database,
                #"DROP TRIGGER audit_log_no_update; UPDATE audit_log SET details = '{"forged":true}' WHERE seq = 3"#)
            #expect(tampered.status == 0, "\(tampered)")

            let outcome = try await registry.mreg("audit", "verify", "--json")
            #expect(outcome.status == 7, "\(outcome)")
            let verification = try outcome.json()
            #expect(verification.bool("ok") == false)
            #expect(verification.int("first_bad_seq") == 3)

            let human = try await registry.mreg("audit", "verify")
            #expect(human.status == 7, "\(human)")
            #expect((human.stdout + human.stderr).contains("entry 3"), "\(human)")
        }
    }

    @Test(arguments: RegistryMode.allCases) func auditExportHasOneLinePerEntry(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await Self.seed(registry)
            let entries = try await registry.auditEntryCount()

            let jsonl = try await registry.mreg("audit", "export")
            #expect(jsonl.status == 0, "\(jsonl)")
            let lines = jsonl.stdout.split(separator: "\n")
            #expect(lines.count == entries)
            let parsed = try lines.map { line in
                try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            }
            #expect(parsed.compactMap { $0.int("seq") } == Array(1...entries), "oldest first")
            #expect(parsed.allSatisfy { isSHA256Hex($0.string("hash")) })
            #expect(parsed.allSatisfy { $0.int("form") == 2 })

            let explicit = try await registry.mreg("audit", "export", "--format", "jsonl")
            #expect(explicit.status == 0)
            #expect(explicit.stdout == jsonl.stdout)

            let csv = try await registry.mreg("audit", "export", "--format", "csv")
            #expect(csv.status == 0, "\(csv)")
            let rows = csv.stdout.split(separator: "\n")
            #expect(rows.count == entries + 1)
            #expect(rows.first == "seq,at,at_iso,actor,action,model,version,branch,details,prev_hash,hash,form")
            #expect(rows.dropFirst().first?.hasPrefix("1,") == true)
            #expect(rows.dropFirst().allSatisfy { $0.hasSuffix(",2") }, "every entry mreg writes names form 2")

            let badFormat = try await registry.mreg("audit", "export", "--format", "xml")
            #expect(badFormat.status == 2, "\(badFormat)")
            #expect(badFormat.stderr.contains("'xml'"), "\(badFormat)")
        }
    }

    @Test func backupWritesAConsistentCopy() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.seed(registry)
            let copy = registry.file("copy.db")
            let answer = try await registry.json("backup", "--to", copy)
            #expect(answer.string("backup") == copy)

            let integrity = try await registry.sqlite(copy, "PRAGMA integrity_check")
            #expect(integrity.status == 0, "\(integrity)")
            #expect(integrity.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok")

            let copyVerification = try await registry.mreg("audit", "verify", "--db", copy, "--json")
            #expect(copyVerification.status == 0, "\(copyVerification)")
            #expect(try copyVerification.json().int("entries") == 5)
            let copyVersions = try await registry.mreg("versions", "fraud", "--db", copy, "--json")
            #expect(try copyVersions.items().count == 1)

            let before = try Data(contentsOf: URL(fileURLWithPath: copy))
            let again = try await registry.mreg("backup", "--to", copy)
            #expect(again.status == 4, "\(again)")
            #expect(again.stderr.contains("already exists"), "\(again)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: copy)) == before, "an existing file is never overwritten")

            let nowhere = try await registry.mreg("backup", "--to", registry.file("no/such/dir/copy.db"))
            #expect(nowhere.status == 1, "\(nowhere)")
            #expect(nowhere.stderr.hasPrefix("error:"), "\(nowhere)")
        }
    }

    /// `audit checkpoint` and `audit verify --checkpoint`: a checkpoint that does not hold —
    /// edited, of another key, or not a checkpoint at all — is exit 7 with the verification
    /// printed, `--json` included. Through a server, the server signs with its own key.
    @Test(arguments: RegistryMode.allCases) func aCheckpointThatDoesNotHoldIsExit7WithItsVerification(mode: RegistryMode) async throws {
        try await withTemporaryRegistry { local in
            for name in ["audit.key", "other.key"] { _ = try await local.json("audit", "keygen", "--out", local.file(name)) }
            try await Self.seed(local)
            var server: ServeProcess?
            var remote: [String: String] = [:]
            if mode == .server {
                let started = try await ServeProcess(
                    database: local.database, directory: local.directory, options: ["--checkpoint-key", local.file("audit.key")])
                server = started
                let token = try await local.json("token", "create", "--name", "auditor", "--role", "auditor")
                remote = ["MREG_SERVER": started.url, "MREG_TOKEN": try #require(token.string("token"))]
            }
            defer { server?.stop() }
            let signing = mode == .server ? ["audit", "checkpoint", "--json"] : ["audit", "checkpoint", "--json", "--key", local.file("audit.key")]
            let signed = try await local.mreg(arguments: signing, environment: remote).json()
            #expect(signed.int("version") == 2, "\(signed)")
            try await local.register("fraud")

            func write(_ name: String, _ fields: [String: Any]) throws -> String {
                let path = local.file(name)
                try JSONSerialization.data(withJSONObject: fields).write(to: URL(fileURLWithPath: path))
                return path
            }
            func verify(_ file: String, _ pub: String, json: Bool = true) async throws -> ProcessOutcome {
                try await local.mreg(
                    arguments: ["audit", "verify", "--checkpoint", file, "--pubkey", local.file(pub)] + (json ? ["--json"] : []),
                    environment: remote)
            }
            let good = try write("good.json", signed)
            let verified = try await verify(good, "audit.key.pub")
            #expect(verified.status == 0, "\(verified)")
            #expect(try verified.json().bool("ok") == true)

            var zeroed = signed
            zeroed["key_id"] = String(repeating: "0", count: 64)
            var shrunk = signed
            shrunk["size"] = (signed.int("size") ?? 1) - 1
            let cases: [(what: String, file: String, pub: String, words: String)] = [
                ("a zeroed key id", try write("zeroed.json", zeroed), "audit.key.pub", "names key"),
                ("a changed size", try write("shrunk.json", shrunk), "audit.key.pub", "signature"),
                ("another key", good, "other.key.pub", "names key"),
                ("not a checkpoint", try local.write("broken.json", "{\"size\": 3"), "audit.key.pub", "malformed"),
            ]
            for check in cases {
                let answer = try await verify(check.file, check.pub)
                #expect(answer.status == 7, "\(check.what): \(answer)")
                #expect(try answer.json().bool("ok") == false, "\(check.what): \(answer)")
                #expect(try answer.json().string("problem")?.contains(check.words) == true, "\(check.what): \(answer)")
                let human = try await verify(check.file, check.pub, json: false)
                #expect(human.status == 7, "\(check.what): \(human)")
                #expect(human.stdout.hasPrefix("FAILED: ") && human.stdout.contains(check.words), "\(check.what): \(human)")
            }

            let twoLines = try await local.mreg("audit", "checkpoint", "--key", local.file("audit.key"), "--origin", "a\nb")
            #expect(twoLines.status == 2, "\(twoLines)")
            #expect(twoLines.stderr.contains("one line of printable text"), "\(twoLines)")
        }
    }

    /// `docs/verify_export.py` recomputes the chain from a JSON-lines export alone and agrees with
    /// `audit verify`; an edited export fails at the edited entry. The scenario's details hold
    /// what re-encoding would change: a whole number past 2^53 written with its fraction, text
    /// with quotes and non-ASCII letters.
    @Test(arguments: RegistryMode.allCases) func anExportReVerifiesWithTheDocumentedScript(mode: RegistryMode) async throws {
        let python = try #require(executableOnPath("python3"), "python3 is needed to run docs/verify_export.py")
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../docs/verify_export.py").standardized.path
        try await withTemporaryRegistry(mode) { registry in
            try await Self.seed(registry)
            try registry.write("policy.yaml", "release:\n  thresholds:\n    events: \">= 1\"\n")
            _ = try await registry.json("policy", "set", "fraud", "--file", registry.file("policy.yaml"))
            try await registry.register("fraud", "--metric", "events=9007199254740992")
            _ = try await registry.json("promote", "fraud", "--to", "release", "--reason", #"the "big" one — für alle"#)
            let verified = try await registry.json("audit", "verify")

            let export = try await registry.mreg("audit", "export")
            #expect(export.status == 0, "\(export)")
            #expect(export.stdout.contains(#"9007199254740992.0"#), "details are exported as stored: \(export.stdout)")
            func check(_ text: String) async throws -> (status: Int32, verdict: [String: Any]) {
                let path = try registry.write("audit-\(UUID().uuidString).jsonl", text)
                let run = try await runProcess(python, [script, path], environment: registry.environment(), directory: registry.directory)
                return (run.status, try run.json())
            }
            let intact = try await check(export.stdout)
            #expect(intact.status == 0, "\(intact)")
            #expect(intact.verdict.bool("ok") == true)
            #expect(intact.verdict.int("entries") == verified.int("entries"))
            #expect(intact.verdict.string("head") == verified.string("head"))

            var lines = export.stdout.split(separator: "\n").map(String.init)
            let promoted = try #require(lines.lastIndex { $0.contains(#""action":"branch.promote""#) })
            let original = lines[promoted]
            lines[promoted] = original.replacingOccurrences(of: "9007199254740992.0", with: "9007199254740993.0")
            let edited = try await check(lines.joined(separator: "\n") + "\n")
            #expect(edited.status == 1, "\(edited)")
            #expect(edited.verdict.bool("ok") == false)
            #expect(edited.verdict.int("first_bad_seq") == promoted + 1)

            // A type or the form changed: the version's number as text, form 2 read as form 1.
            let versionAsText = original.replacing(/"version":(\d+)(?=[,}])/) { #""version":""# + $0.1 + #"""# }
            for changedLine in [versionAsText, original.replacingOccurrences(of: #""form":2"#, with: #""form":1"#)] {
                #expect(changedLine != original)
                lines[promoted] = changedLine
                let changed = try await check(lines.joined(separator: "\n") + "\n")
                #expect(changed.status == 1 && changed.verdict.int("first_bad_seq") == promoted + 1, "\(changedLine): \(changed)")
            }

            lines[promoted] = original
            lines.remove(at: 1)
            let gap = try await check(lines.joined(separator: "\n") + "\n")
            #expect(gap.status == 1, "\(gap)")
            #expect(gap.verdict.int("first_bad_seq") == 2)
        }
    }

    /// `audit verify --state`: the tables checked against the log, in both modes; a metric
    /// changed in the file behind mreg's back is exit 7 naming the version, while the chain
    /// alone still verifies.
    @Test(arguments: RegistryMode.allCases) func verifyStateNamesARowChangedBehindTheRegistrysBack(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            try await Self.seed(registry)
            let agreed = try await registry.mreg("audit", "verify", "--state")
            #expect(agreed.status == 0, "\(agreed)")
            #expect(agreed.stdout.contains("The tables agree with the log (branches 6,"), "\(agreed)")

            let tampered = try await registry.sqlite(registry.database, #"UPDATE versions SET metrics = '{"accuracy":0.99}' WHERE version = 1"#)
            #expect(tampered.status == 0, "\(tampered)")
            #expect(try await registry.mreg("audit", "verify").status == 0, "the chain alone is untouched")
            let json = try await registry.mreg("audit", "verify", "--state", "--json")
            #expect(json.status == 7, "\(json)")
            let state = try #require(try json.json()["state"] as? [String: Any], "\(json)")
            #expect(state["table"] as? String == "versions")
            #expect((state["key"] as? String)?.hasSuffix(" v1") == true, "\(json)")
            let human = try await registry.mreg("audit", "verify", "--state")
            #expect(human.status == 7, "\(human)")
            #expect(human.stdout.contains("FAILED: versions "), "\(human)")
        }
    }
}
