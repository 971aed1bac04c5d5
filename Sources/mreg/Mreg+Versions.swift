import ArgumentParser
import RegistryCore

extension Mreg {
    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "register",
            abstract: "Register a new version of a model (creating the model if missing) and move develop to it.",
            discussion: """
                Example: mreg register fraud --artifact s3://models/fraud/7 --digest sha256:<64 hex> \\
                           --param lr=0.01 --metric accuracy=0.93 --tag team=risk --parent 6
                """)

        @OptionGroup var global: GlobalOptions
        @Argument(help: "The model name.") var name: String
        @Option(help: "Where the artifact lives (required).") var artifact: String
        @Option(help: "The artifact's digest: sha256: followed by 64 hex digits.") var digest: String?
        @Option(help: ArgumentHelp("A parameter, repeatable.", valueName: "k=v")) var param: [KeyValue] = []
        @Option(help: ArgumentHelp("A numeric metric, repeatable.", valueName: "k=number")) var metric: [MetricAssignment] = []
        @Option(help: ArgumentHelp("A tag, repeatable.", valueName: "k=v")) var tag: [KeyValue] = []
        @Option(help: "The version this one was derived from.") var parent: Int?
        @Option(help: "A description of this version.") var description = ""

        func validate() throws {
            _ = try param.dictionary(option: "--param")
            _ = try metric.dictionary()
            _ = try tag.dictionary(option: "--tag")
        }

        func run() async throws {
            let request = RegisterRequest(
                artifactURI: artifact, digest: digest, params: try param.dictionary(option: "--param"),
                metrics: try metric.dictionary(), tags: try tag.dictionary(option: "--tag"), parent: parent,
                description: description)
            let version = try await global.withRegistry(.writes) { try await $0.register(model: name, request) }
            global.emit(version) { "Registered \(version.model) v\(version.version); develop now points to it." }
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "versions",
            abstract: "List the versions of a model, newest first.", discussion: "Example: mreg versions fraud --limit 10")

        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Option(help: "At most this many versions.") var limit = 50
        @Option(help: "Continue after a previous page (its next_cursor).") var cursor: String?

        func run() async throws {
            let (page, branches) = try await global.withRegistry(.reads) { registry in
                let page = try await registry.versions(model: name, limit: limit, cursor: cursor)
                return (page, global.json ? BranchHeads() : try await registry.model(named: name).branches)
            }
            global.emit(page) {
                guard !page.items.isEmpty else { return "Model \(name) has no versions yet." }
                return Terminal.table(
                    header: ["VERSION", "STATUS", "BRANCHES", "ARTIFACT", "METRICS", "CREATED", "BY"],
                    rows: page.items.map { version in
                        let on = Branch.allCases.filter { branches[$0] == version.version }.map(\.rawValue).joined(separator: ",")
                        return [
                            "v\(version.version)", version.status.rawValue, on.isEmpty ? "-" : on, version.artifactURI,
                            Terminal.metrics(version.metrics), Terminal.relative(version.createdAt), version.createdBy,
                        ]
                    }) + (page.nextCursor.map { "\n(more: --cursor \($0))" } ?? "")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show one version.",
            discussion: """
                REF is a version number, a branch (develop, release, master), or BRANCH@TIME for what the branch held then.
                Examples: mreg show fraud 3 · mreg show fraud master · mreg show fraud master@2026-11-01T00:00:00Z
                """)

        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Argument(help: "N, a branch, or BRANCH@TIME.") var ref: String

        func run() async throws {
            let ref = try VersionRef(parsing: ref)
            let version = try await global.withRegistry(.reads) { try await $0.version(model: name, ref) }
            global.emit(version) { describe(version) }
        }
    }

    struct Deprecate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "deprecate",
            abstract: "Mark a version deprecated so it can no longer be promoted.",
            discussion: "Example: mreg deprecate fraud 3 --reason \"trained on leaked labels\"")

        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Argument var version: Int
        @Option(help: "Why (required).") var reason: String

        func run() async throws {
            let deprecated = try await global.withRegistry(.writes) { try await $0.deprecate(model: name, version: version, reason: reason) }
            global.emit(deprecated) { "Deprecated \(deprecated.model) v\(deprecated.version)." }
        }
    }
}

func describe(_ version: ModelVersion) -> String {
    Terminal.fields([
        ("model", version.model), ("version", "v\(version.version)"), ("status", version.status.rawValue),
        ("artifact", version.artifactURI), ("digest", version.digest ?? "-"), ("params", Terminal.map(version.params)),
        ("metrics", Terminal.metrics(version.metrics)), ("tags", Terminal.map(version.tags)),
        ("parent", Terminal.version(version.parent)), ("description", version.description.isEmpty ? "-" : version.description),
        ("created", "\(Terminal.time(version.createdAt)) by \(version.createdBy)"),
    ])
}
