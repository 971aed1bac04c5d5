import ArgumentParser
import Foundation
import RegistryCore

@main
struct Mreg: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mreg",
        abstract: "A model registry: versions, test reports, gated promotion, rollback and a verifiable audit log.",
        discussion: """
            Works on an SQLite file directly (--db, $MREG_DB, else ./mreg.db), serves it over HTTP (mreg serve), or
            works through a server (--server URL or $MREG_SERVER, with --token or $MREG_TOKEN). Options may stand
            before or after the command.

            Exit codes: 0 ok · 1 other error · 2 usage · 3 not found · 4 conflict · 5 gate or policy denied ·
            6 permission denied · 7 integrity check failed.
            """,
        subcommands: [
            Init.self, ModelCommand.self, Register.self, Versions.self, Show.self, Deprecate.self,
            ReportCommand.self, Reports.self, Promote.self, Rollback.self, Diff.self, History.self,
            PolicyCommand.self, Approve.self, AuditCommand.self, Events.self, Backup.self, TokenCommand.self, WebhookCommand.self, RolloutCommand.self, Resolve.self, Serve.self,
        ]
    )

    /// Parsed here as well as in each subcommand, so that they may stand before the
    /// subcommand's name (`mreg --db x.db init`); the subcommand gets these values.
    @OptionGroup var global: GlobalOptions

    /// The one place where errors become exit codes and messages.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let error as RegistryError {
            Terminal.fail(error)
        } catch {
            // Argument parsing and validation: help and version exit 0, usage errors exit 2.
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            Terminal.printError(fullMessage(for: error))
            Foundation.exit(code == .validationFailure ? ExitStatus.usage : code.rawValue)
        }
    }
}

/// The contract's exit codes.
enum ExitStatus {
    static let other: Int32 = 1
    static let usage: Int32 = 2
    static let notFound: Int32 = 3
    static let conflict: Int32 = 4
    static let denied: Int32 = 5
    static let permission: Int32 = 6
    static let integrity: Int32 = 7

    static func code(for error: RegistryError) -> Int32 {
        switch error.code {
        case .notFound: notFound
        case .invalidArgument, .payloadTooLarge: usage
        case .alreadyExists, .conflict, .preconditionFailed: conflict
        case .gateFailed: denied
        case .unauthenticated, .permissionDenied: permission
        case .integrity: integrity
        case .unavailable, .internal: other
        }
    }
}
