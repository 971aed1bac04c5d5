import ArgumentParser
import RegistryCore

extension Mreg {
    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "backup",
            abstract: "Write an online, consistent copy of the database (safe while others write).",
            discussion: """
                Through a server (--server) the copy is taken there and written to FILE here (an admin token).
                Example: mreg backup --to /backups/mreg-$(date +%F).db
                """)

        @OptionGroup var global: GlobalOptions
        @Option(help: "The new file to write.") var to: String

        func run() async throws {
            try await global.withRegistry(.reads) { try await $0.backup(to: to) }
            struct Answer: Encodable { let backup: String }
            global.emit(Answer(backup: to)) { "Wrote a consistent copy of the registry to \(to)." }
        }
    }
}

