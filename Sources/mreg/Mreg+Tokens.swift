import ArgumentParser
import RegistryCore

extension Mreg {
    struct TokenCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "token", abstract: "Create, list and revoke API tokens for mreg serve.",
            subcommands: [Create.self, List.self, Revoke.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "create",
                abstract: "Create a token; it is printed once and stored only as a SHA-256 hash.",
                discussion: "Roles: reader, auditor, engineer, release-manager, admin.\nExample: mreg token create --name ci-pipeline --role engineer --json")

            @OptionGroup var global: GlobalOptions
            @Option(help: "The token's name; it becomes the actor of every change made with it.") var name: String
            @Option(help: "reader, auditor, engineer, release-manager or admin.") var role: Role

            func run() async throws {
                let issued = try await global.withRegistry(.writes) { try await $0.createToken(name: name, role: role) }
                global.emit(issued) { "Token \(issued.id) (\(issued.name), \(issued.role.rawValue)). Shown only now:\n\(issued.token)" }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List tokens (never their secrets).")

            @OptionGroup var global: GlobalOptions

            func run() async throws {
                let tokens = try await global.withRegistry(.reads) { try await $0.tokens() }
                global.emit(Page(items: tokens, nextCursor: nil)) {
                    guard !tokens.isEmpty else { return "No tokens yet. Create one with: mreg token create --name NAME --role ROLE" }
                    return Terminal.table(
                        header: ["ID", "NAME", "ROLE", "CREATED", "BY", "STATUS"],
                        rows: tokens.map {
                            [$0.id, $0.name, $0.role.rawValue, Terminal.relative($0.createdAt), $0.createdBy,
                             $0.revokedAt.map { "revoked \(Terminal.relative($0))" } ?? "active"]
                        })
                }
            }
        }

        struct Revoke: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a token at once.", discussion: "Example: mreg token revoke tok_3f2a9c01b7de")

            @OptionGroup var global: GlobalOptions
            @Argument var id: String

            func run() async throws {
                let token = try await global.withRegistry(.writes) { try await $0.revokeToken(id: id) }
                global.emit(token) { "Revoked token \(token.id) (\(token.name))." }
            }
        }
    }
}

extension Role: ExpressibleByArgument {}
