import Foundation
import Testing

/// `--help` everywhere, shell completion, and usage errors.
@Suite struct HelpTests {
    static let commands: [[String]] = [
        [], ["init"], ["model"], ["model", "create"], ["model", "list"], ["model", "show"], ["register"], ["versions"], ["show"],
        ["deprecate"], ["report"], ["report", "add"], ["reports"], ["promote"], ["rollback"], ["diff"], ["history"], ["policy"],
        ["policy", "set"], ["policy", "show"], ["approve"], ["audit"], ["audit", "log"], ["audit", "verify"], ["audit", "export"],
        ["audit", "checkpoint"], ["audit", "keygen"], ["backup"], ["token"], ["token", "create"], ["token", "list"], ["token", "revoke"],
        ["rollout"], ["rollout", "start"], ["rollout", "status"], ["rollout", "advance"], ["rollout", "pause"], ["rollout", "resume"],
        ["rollout", "abort"], ["rollout", "observe"], ["resolve"], ["serve"],
    ]

    @Test(arguments: commands)
    func helpExitsZero(command: [String]) async throws {
        try await withTemporaryRegistry { registry in
            let unopened = registry.file("unopened.db")
            let outcome = try await registry.mreg(arguments: command + ["--help"], environment: ["MREG_DB": unopened])
            #expect(outcome.status == 0, "mreg \(command.joined(separator: " ")) --help: \(outcome)")
            #expect(outcome.stdout.contains("USAGE: mreg \(command.joined(separator: " "))"), "\(outcome)")
            #expect(outcome.stderr.isEmpty)
            #expect(!FileManager.default.fileExists(atPath: unopened), "help opens no database")
        }
    }

    @Test func leafCommandsDocumentTheGlobalOptions() async throws {
        try await withTemporaryRegistry { registry in
            let outcome = try await registry.mreg("promote", "--help")
            #expect(outcome.status == 0)
            for option in [
                "--db", "--json", "--actor", "--server", "--token", "--token-file", "--cacert", "--timeout", "--to", "--version", "--expect",
                "--reason", "--dry-run", "--force",
            ] {
                #expect(outcome.stdout.contains(option), "promote --help lacks \(option)")
            }
        }
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScript(shell: String) async throws {
        try await withTemporaryRegistry { registry in
            let outcome = try await registry.mreg("--generate-completion-script", shell)
            #expect(outcome.status == 0, "\(outcome)")
            #expect(outcome.stdout.contains("mreg"))
            for subcommand in ["register", "promote", "rollback", "audit"] {
                #expect(outcome.stdout.contains(subcommand), "\(shell) completion lacks \(subcommand)")
            }
            if shell == "bash" { #expect(outcome.stdout.hasPrefix("#!/bin/bash")) }
        }
    }

    @Test func bashCompletionScriptIsValidBash() async throws {
        try await withTemporaryRegistry { registry in
            let script = try await registry.mreg("--generate-completion-script", "bash")
            #expect(script.status == 0)
            let path = try registry.write("mreg.bash", script.stdout)
            let bash = try #require(executableOnPath("bash"))
            let checked = try await runProcess(bash, ["-n", path], environment: registry.environment(), directory: registry.directory)
            #expect(checked.status == 0, "\(checked)")
        }
    }

    @Test func anUnknownCommandIsAUsageError() async throws {
        try await withTemporaryRegistry { registry in
            let outcome = try await registry.mreg("frobnicate")
            #expect(outcome.status == 2, "\(outcome)")
            #expect(outcome.stderr.contains("frobnicate"), "\(outcome)")

            let missingArgument = try await registry.mreg("register", "fraud")
            #expect(missingArgument.status == 2, "\(missingArgument)")
            #expect(missingArgument.stderr.contains("--artifact"), "\(missingArgument)")
        }
    }
}
