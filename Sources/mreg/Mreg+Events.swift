import ArgumentParser
import Foundation
import RegistryCore

extension Mreg {
    struct Events: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "events",
            abstract: "Print the registry's events: every audit entry, oldest first.",
            discussion: """
                Without --follow it prints the events after --since (default 0: all of them) and exits. With --follow it
                goes on printing each new event as it is committed, until interrupted; without --since it starts now.
                Through a server it reads GET /v1/events; with --follow, if the connection drops, it resumes after the
                last event it printed. A --since past the newest event is refused (exit 4): the log was replaced.
                --json prints one JSON object per line (the audit entry).
                Example: mreg events --follow --model fraud --types 'branch.*,rollout.abort' --json
                """)

        @OptionGroup var global: GlobalOptions
        @Option(help: "Print the events after this one (an audit seq).") var since: Int?
        @Option(help: "Only events about this model.") var model: String?
        @Option(help: "Only these event types, separated by commas; * matches any run of characters (branch.*).") var types: String?
        @Flag(help: "Keep printing new events as they happen.") var follow = false

        func validate() throws {
            if let since, since < 0 { throw ValidationError("--since must be an event id, 0 or more") }
        }

        func run() async throws {
            let filter = try EventFilter(model: model, types: types)
            let json = global.json
            try await global.withRegistry(.reads) { registry in
                try await registry.events(after: since ?? (follow ? nil : 0), filter, follow: follow) { entry in
                    // Written at once, line by line: a reader of a pipe sees each event as it comes.
                    FileHandle.standardOutput.write(Data((json ? JSONCoding.text(entry) : Self.line(entry)).utf8 + [UInt8(ascii: "\n")]))
                }
            }
        }

        /// `42  2026-12-07T14:00:00.000Z  branch.promote  fraud v3 → release  by alice`
        static func line(_ entry: AuditEntry) -> String {
            var what = entry.model ?? ""
            if let version = entry.version { what += " v\(version)" }
            if let branch = entry.branch { what += " → \(branch)" }
            return [String(entry.seq), "\(entry.at)", entry.action, what, "by \(entry.actor)"].filter { !$0.isEmpty }.joined(separator: "  ")
        }
    }
}
