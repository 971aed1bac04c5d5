import Foundation
import PackagePlugin

/// Turns files that must travel inside the binary into Swift source, so `mreg` works from any
/// directory: the top-level `migrations/*.sql` for RegistryCore, `openapi/openapi.yaml` for
/// RegistryServer.
///
/// SwiftPM runs this when it plans a build, and plans again only when `Package.swift` or a
/// target's sources change: a file added to or removed from `migrations/` goes unnoticed until
/// then, so the README says to `touch Package.swift` after changing that folder.
@main
struct EmbedFilesPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) async throws -> [Command] {
        let root = context.package.directoryURL
        let (symbol, files): (String, [URL]) = switch target.name {
        case "RegistryServer":
            ("embeddedOpenAPIFiles", [root.appending(path: "openapi/openapi.yaml")])
        default:
            ("embeddedMigrationFiles", try FileManager.default
                .contentsOfDirectory(at: root.appending(path: "migrations"), includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "sql" }
                .sorted { $0.lastPathComponent < $1.lastPathComponent })
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "Embedded_\(symbol).swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) file(s) into \(target.name)",
                executable: try context.tool(named: "EmbedFiles").url,
                arguments: [output.path, symbol] + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]
            )
        ]
    }
}
