import Foundation
import Testing

/// `mreg init` and `mreg model create|list|show`.
@Suite struct ModelCommandTests {
    @Test func initCreatesTheDatabaseAndIsIdempotent() async throws {
        try await withTemporaryRegistry { registry in
            let first = try await registry.json("init")
            #expect(first.string("database") == registry.database)
            #expect(first.bool("ready") == true)
            #expect(FileManager.default.fileExists(atPath: registry.database))

            let again = try await registry.mreg("init")
            #expect(again.status == 0, "\(again)")
            #expect(again.stdout.contains("is ready"), "\(again)")
            #expect(try await registry.auditEntryCount() == 0)
        }
    }

    @Test func databaseComesFromTheFlagThenTheEnvironmentThenTheWorkingDirectory() async throws {
        try await withTemporaryRegistry { registry in
            let flagged = registry.file("flagged.db")
            let exported = ["MREG_DB": registry.file("exported.db")]
            let byFlag = try await registry.mreg("init", "--db", flagged, "--json", environment: exported)
            #expect(byFlag.status == 0, "\(byFlag)")
            #expect(try byFlag.json().string("database") == flagged)
            #expect(!FileManager.default.fileExists(atPath: registry.file("exported.db")), "--db must win over $MREG_DB")

            let byEnvironment = try await registry.mreg("init", "--json", environment: exported)
            #expect(byEnvironment.status == 0, "\(byEnvironment)")
            #expect(try byEnvironment.json().string("database") == registry.file("exported.db"))

            let byDefault = try await registry.mreg("init", "--json", environment: ["MREG_DB": ""])
            #expect(byDefault.status == 0, "\(byDefault)")
            #expect(try byDefault.json().string("database") == "mreg.db")
            #expect(FileManager.default.fileExists(atPath: registry.file("mreg.db")))
        }
    }

    @Test(arguments: RegistryMode.allCases) func createShowAndList(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            let created = try await registry.json("model", "create", "fraud", "--description", "Card fraud scorer", actor: "alice")
            #expect(created.string("name") == "fraud")
            #expect(created.string("description") == "Card fraud scorer")
            #expect(created.string("created_by") == "alice")
            #expect(isRFC3339Milliseconds(created.string("created_at")))
            #expect(created.int("version_count") == 0)
            let branches = try #require(created.object("branches"))
            #expect(branches.keySet == ["develop", "release", "master"])
            #expect(branches.isNull("develop") && branches.isNull("release") && branches.isNull("master"))

            try await registry.register("fraud")
            try await registry.register("fraud")
            let shown = try await registry.json("model", "show", "fraud")
            #expect(shown.int("version_count") == 2)
            #expect(shown.object("branches")?.int("develop") == 2)
            #expect(shown.object("branches")?.isNull("master") == true)

            let human = try await registry.mreg("model", "show", "fraud")
            #expect(human.status == 0)
            #expect(human.stdout.contains("Card fraud scorer") && human.stdout.contains("v2"), "\(human)")

            try await registry.register("churn")
            let list = try await registry.mreg("model", "list", "--json")
            #expect(list.status == 0, "\(list)")
            let names = try list.items().compactMap { $0.string("name") }
            #expect(Set(names) == ["fraud", "churn"])
            #expect(try list.json().keySet.contains("next_cursor"))
        }
    }

    @Test(arguments: RegistryMode.allCases) func listPagesWithACursor(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            for name in ["a1", "a2", "a3"] { try await registry.register(name) }
            let first = try await registry.json("model", "list", "--limit", "2")
            let cursor = try #require(first.string("next_cursor"))
            let second = try await registry.json("model", "list", "--limit", "2", "--cursor", cursor)
            #expect(second.isNull("next_cursor"))
            let names = (first.objects("items") ?? []) + (second.objects("items") ?? [])
            #expect(names.compactMap { $0.string("name") }.sorted() == ["a1", "a2", "a3"])
        }
    }

    @Test(arguments: RegistryMode.allCases) func creatingAnExistingModelIsAConflict(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            _ = try await registry.json("model", "create", "fraud")
            let again = try await registry.mreg("model", "create", "fraud")
            #expect(again.status == 4, "\(again)")
            #expect(again.stderr.contains("model \"fraud\" already exists"), "\(again)")
            #expect(try await registry.auditEntryCount() == registry.setupEntries + 1)
        }
    }

    @Test(arguments: RegistryMode.allCases) func anInvalidModelNameIsAUsageError(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            let outcome = try await registry.mreg("model", "create", "Bad Name")
            #expect(outcome.status == 2, "\(outcome)")
            #expect(outcome.stderr.contains("\"Bad Name\" is not a valid model name"), "\(outcome)")
            #expect(outcome.stdout.isEmpty)
        }
    }

    @Test(arguments: RegistryMode.allCases) func showingAnUnknownModelIsNotFound(mode: RegistryMode) async throws {
        try await withTemporaryRegistry(mode) { registry in
            let outcome = try await registry.mreg("model", "show", "ghost")
            #expect(outcome.status == 3, "\(outcome)")
            #expect(outcome.stderr.contains("model \"ghost\" does not exist"), "\(outcome)")
            #expect(outcome.stdout.isEmpty)
        }
    }
}
