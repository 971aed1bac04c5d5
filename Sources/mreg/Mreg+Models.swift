import ArgumentParser
import RegistryCore

extension Mreg {
    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Create or migrate the database.",
            discussion: "Example: mreg init --db /var/lib/mreg/registry.db")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let registry = try global.openRegistry(for: "init")
            struct Answer: Encodable { let database: String; let ready: Bool }
            let answer = Answer(database: global.databasePath, ready: registry.isReady())
            global.emit(answer) { "Database \(answer.database) is ready." }
        }
    }

    struct ModelCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "model", abstract: "Create, list and show models.",
            subcommands: [Create.self, List.self, ShowModel.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "create",
                abstract: "Create a model with empty develop, release and master branches.",
                discussion: "Example: mreg model create fraud --description \"Card fraud scorer\"")

            @OptionGroup var global: GlobalOptions
            @Argument(help: "The model name: lowercase letters, digits, '.', '_' or '-'.") var name: String
            @Option(help: "What the model is for.") var description = ""

            func run() async throws {
                let model = try await global.withRegistry(.writes) { try await $0.createModel(name: name, description: description) }
                global.emit(model) { "Created model \(model.name)." }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List models.", discussion: "Example: mreg model list --json")

            @OptionGroup var global: GlobalOptions
            @Option(help: "At most this many models.") var limit = 100
            @Option(help: "Continue after a previous page (its next_cursor).") var cursor: String?

            func run() async throws {
                let page = try await global.withRegistry(.reads) { try await $0.models(limit: limit, cursor: cursor) }
                global.emit(page) {
                    guard !page.items.isEmpty else { return "No models yet. Register one with: mreg register NAME --artifact URI" }
                    return Terminal.table(
                        header: ["NAME", "VERSIONS", "DEVELOP", "RELEASE", "MASTER", "CREATED"],
                        rows: page.items.map {
                            [$0.name, String($0.versionCount), Terminal.version($0.branches.develop), Terminal.version($0.branches.release),
                             Terminal.version($0.branches.master), Terminal.relative($0.createdAt)]
                        }) + (page.nextCursor.map { "\n(more: --cursor \($0))" } ?? "")
                }
            }
        }

        struct ShowModel: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "show", abstract: "Show a model and its branches.", discussion: "Example: mreg model show fraud")

            @OptionGroup var global: GlobalOptions
            @Argument var name: String

            func run() async throws {
                let model = try await global.withRegistry(.reads) { try await $0.model(named: name) }
                global.emit(model) {
                    Terminal.fields([
                        ("model", model.name), ("description", model.description.isEmpty ? "-" : model.description),
                        ("versions", String(model.versionCount)), ("develop", Terminal.version(model.branches.develop)),
                        ("release", Terminal.version(model.branches.release)), ("master", Terminal.version(model.branches.master)),
                        ("created", "\(Terminal.time(model.createdAt)) by \(model.createdBy)"),
                    ])
                }
            }
        }
    }
}
