import ArgumentParser
import Foundation
import RegistryCore

extension Mreg {
    struct PolicyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "policy", abstract: "Set and show a model's promotion policy (docs/POLICY.md).",
            subcommands: [Set.self, ShowPolicy.self])

        struct Set: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "set",
                abstract: "Store a new policy revision from a YAML or JSON file.",
                discussion: "Example: mreg policy set fraud --file policy.yaml")

            @OptionGroup var global: GlobalOptions
            @Argument var name: String
            @Option(help: "The policy document (YAML or JSON).") var file: String

            func run() async throws {
                let data = try readFile(file)
                let document = String(decoding: data, as: UTF8.self)
                let revision = try await global.withRegistry(.writes) { try await $0.setPolicy(model: name, document: document) }
                global.emit(revision) { "Stored policy revision \(revision.revision) for \(name) (sha256 \(revision.sha256.prefix(12)))." }
            }
        }

        struct ShowPolicy: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "show", abstract: "Show the current policy (or an earlier revision).",
                discussion: "Example: mreg policy show fraud --revision 1")

            @OptionGroup var global: GlobalOptions
            @Argument var name: String
            @Option(help: "An earlier revision.") var revision: Int?

            func run() async throws {
                let stored = try await global.withRegistry(.reads) { try await $0.policy(model: name, revision: revision) }
                global.emit(stored) {
                    "\(name) policy revision \(stored.revision), set \(Terminal.time(stored.createdAt)) by \(stored.createdBy):\n"
                        + String(decoding: (try? JSONCoding.encoder(pretty: true).encode(stored.policy)) ?? Data(), as: UTF8.self)
                }
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "approve",
            abstract: "Approve a version for promotion (approvals by the registrant do not count).",
            discussion: "Example: mreg approve fraud 7 --to master --comment \"reviewed the eval\" --actor alice")

        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Argument var version: Int
        @Option(help: "The target branch.") var to: Branch = .master
        @Option(help: "A note for the record.") var comment = ""

        func run() async throws {
            let approval = try await global.withRegistry(.writes) { try await $0.approve(model: name, version: version, to: to, comment: comment) }
            global.emit(approval) {
                "\(approval.actor) approved \(name) v\(version) for \(to.rawValue). Approvers so far: \(approval.approvers.joined(separator: ", "))."
            }
        }
    }
}
