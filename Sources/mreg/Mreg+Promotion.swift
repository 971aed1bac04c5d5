import ArgumentParser
import RegistryCore

extension Mreg {
    struct Promote: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "promote",
            abstract: "Promote a version up the ladder develop → release → master, through the policy's gates.",
            discussion: """
                To release it takes the develop head unless --version is given; to master, the release head.
                Examples: mreg promote fraud --to release
                          mreg promote fraud --to master --expect 4 --reason "Q4 model"
                          mreg promote fraud --to master --dry-run
                """)

        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Option(help: "release or master.") var to: Branch
        @Option(help: "The version to promote (default: the head of the branch below).") var version: Int?
        @Option(help: "The version you believe the target branch holds now (0: none); refused when stale.") var expect: Int?
        @Option(help: "Why.") var reason = ""
        @Flag(help: "Evaluate and report every gate without moving anything.") var dryRun = false
        @Flag(help: "Pass failing gates (admin only; needs --reason).") var force = false

        func run() async throws {
            let request = PromoteRequest(to: to, version: version, expect: expect, reason: reason, dryRun: dryRun, force: force)
            let result = try await global.withRegistry(.writes) { try await $0.promote(model: name, request) }
            global.emit(result) { describe(result) }
            // A dry run that would be refused fails like the real thing, so CI can gate on it.
            if result.dryRun, !result.passed { throw ExitCode(ExitStatus.denied) }
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollback",
            abstract: "Move a branch back to the version it held before (no gates: the emergency path).",
            discussion: """
                Without --to, each rollback steps back once through the promotion history (v3 → v2 → v1).
                Examples: mreg rollback fraud --reason "error rate doubled"
                          mreg rollback fraud --branch release --to 2 --reason "bad calibration"
                """)

        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Option(help: "The branch to roll back.") var branch: Branch = .master
        @Option(help: "Return to this version (it must have been on the branch before).") var to: Int?
        @Option(help: "Why (required).") var reason: String
        @Option(help: "The version you believe the branch holds now; refused when stale.") var expect: Int?

        func run() async throws {
            let request = RollbackRequest(branch: branch, to: to, reason: reason, expect: expect)
            let result = try await global.withRegistry(.writes) { try await $0.rollback(model: name, request) }
            global.emit(result) { describe(result) }
        }
    }
}

func describe(_ result: TransitionResult) -> String {
    let move = "\(result.model) \(result.branch.rawValue): \(Terminal.version(result.fromVersion)) → v\(result.toVersion)"
    var lines: [String] = []
    if result.dryRun {
        lines.append("Dry run, nothing moved. \(move) would " + (result.passed ? Terminal.green("pass") : Terminal.red("fail")) + " its gates.")
    } else {
        let verb = switch result.kind {
        case .rollback: "Rolled back"
        case .force: "Forced"
        default: "Promoted"
        }
        lines.append("\(verb) \(move) (transition #\(result.transitionID ?? 0)).")
    }
    if !result.gates.isEmpty { lines.append(Terminal.gateTable(result.gates)) }
    else if result.kind != .rollback { lines.append("No policy gates apply to \(result.branch.rawValue).") }
    return lines.joined(separator: "\n")
}
