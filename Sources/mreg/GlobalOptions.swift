import ArgumentParser
import Foundation
import RegistryClient
import RegistryCore

/// The options of every command: where the registry is (a database file, or a server and a
/// token), how to print, and who is acting. They may stand before or after the subcommand
/// (`mreg --db x.db show m 1` and `mreg show m 1 --db x.db`): the root command declares them too,
/// and argument-parser hands a subcommand the values its parent parsed.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The registry database file (else $MREG_DB, else ./mreg.db).", valueName: "path"))
    var db: String?

    @Flag(name: .long, help: "Print one JSON document on stdout, the same shape as the REST body.")
    var json = false

    @Option(name: .long, help: ArgumentHelp(
        "Who is acting (else $MREG_ACTOR, else the OS user); ignored with --server, where the token's name acts. `audit log` filters by it.",
        valueName: "name"))
    var actor: String?

    @Option(name: .long, help: ArgumentHelp("Work through mreg serve at this URL instead of a file (else $MREG_SERVER).", valueName: "url"))
    var server: String?

    @Option(name: .long, help: ArgumentHelp("The server's API token (else $MREG_TOKEN, else --token-file).", valueName: "token"))
    var token: String?

    @Option(name: .long, help: ArgumentHelp("A file holding the API token (else $MREG_TOKEN_FILE).", valueName: "path"))
    var tokenFile: String?

    @Option(name: .long, help: ArgumentHelp("Trust the CA certificates in this PEM file for an https:// server, instead of the system's.", valueName: "path"))
    var cacert: String?

    @Option(name: .long, help: ArgumentHelp("Seconds to wait for the server to connect, and to answer.", valueName: "seconds"))
    var timeout: Double = 30

    func validate() throws {
        guard (0.001...86_400).contains(timeout) else { throw ValidationError("--timeout must be between 0.001 and 86400 seconds") }
        if db != nil, server != nil {
            throw ValidationError("--db names a database file and --server a server; give one of them")
        }
    }

    private static func environment(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    var databasePath: String { db ?? Self.environment("MREG_DB") ?? "mreg.db" }

    /// The server of remote mode, if one is named. `--db` wins over `$MREG_SERVER`, so that a
    /// shell with the server exported can still work on a file.
    var serverURL: String? { server ?? (db == nil ? Self.environment("MREG_SERVER") : nil) }

    /// Working on the file directly, the CLI acts with admin rights: whoever can write the file
    /// can change it anyway. The actor still names who acted.
    var caller: Caller {
        Caller(name: actor ?? Self.environment("MREG_ACTOR") ?? Self.osUser, role: .admin)
    }

    private static var osUser: String {
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "unknown"
    }

    /// One command is one short process: it leaves the WAL for the next opener to fold in
    /// rather than paying a checkpoint's fsyncs on exit.
    /// - Parameter command: names the command in the error given when a server is named, for the
    ///   commands that only work on a file.
    func openRegistry(for command: String) throws(RegistryError) -> Registry {
        if let serverURL {
            throw RegistryError(.invalidArgument, "mreg \(command) works on a database file on this machine, not through a server (\(serverURL)); drop --server and $MREG_SERVER")
        }
        return try Registry(path: databasePath, workload: .oneShot)
    }

    /// Whether a command changes the registry. On a file, a command that only reads opens it
    /// read-only: it never creates a missing file (exit 1, "no registry at …"), migrates it, or
    /// changes a byte of it.
    enum Access {
        case reads, writes
    }

    /// Runs `body` on the registry: the server named by `--server` (or `$MREG_SERVER`), else the
    /// database file.
    /// - Parameter actorFilters: the command reads `--actor` as a filter, so it is not a
    ///   stand-in for the token's name.
    func withRegistry<T>(_ access: Access, actorFilters: Bool = false, _ body: (any RegistryService) async throws -> T) async throws -> T {
        guard let serverURL else {
            let registry = switch access {
            case .reads: try Registry(readingAt: databasePath)
            case .writes: try Registry(path: databasePath, workload: .oneShot)
            }
            return try await body(LocalRegistry(registry: registry, caller: caller))
        }
        if actor != nil, !actorFilters {
            Terminal.printError("note: --actor is ignored with --server: the server records the token's name as the actor")
        }
        let remote = try RemoteRegistry(
            server: serverURL, token: try bearerToken(), caCertificateFile: cacert, timeout: .milliseconds(Int64((timeout * 1000).rounded())))
        do {
            let answer = try await body(remote)
            await remote.shutdown()
            return answer
        } catch {
            await remote.shutdown()
            throw error
        }
    }

    /// `--token`, else `$MREG_TOKEN`, else the contents of `--token-file` or `$MREG_TOKEN_FILE`.
    private func bearerToken() throws(RegistryError) -> String? {
        if let token = token ?? Self.environment("MREG_TOKEN") { return token }
        guard let path = tokenFile ?? Self.environment("MREG_TOKEN_FILE") else { return nil }
        let text = String(decoding: try readFile(path), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !text.isEmpty else { throw RegistryError(.invalidArgument, "the token file \(path) is empty") }
        return text
    }

    /// Prints `value` as JSON with `--json`, else the human rendering.
    func emit<T: Encodable>(_ value: T, human: () -> String) {
        if json {
            Terminal.printJSON(value)
        } else {
            let text = human()
            if !text.isEmpty { print(text) }
        }
    }
}

/// `k=v` arguments (`--param`, `--tag`).
struct KeyValue: ExpressibleByArgument {
    let key: String
    let value: String

    init?(argument: String) {
        guard let equals = argument.firstIndex(of: "="), equals != argument.startIndex else { return nil }
        key = String(argument[..<equals])
        value = String(argument[argument.index(after: equals)...])
    }

    static var defaultCompletionKind: CompletionKind { .default }
}

/// `k=number` arguments (`--metric`).
extension MetricAssignment: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}

extension Array where Element == KeyValue {
    /// - Throws: a usage error naming a key given twice.
    func dictionary(option: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for pair in self {
            guard result.updateValue(pair.value, forKey: pair.key) == nil else {
                throw ValidationError("\(option) \(pair.key) is given twice")
            }
        }
        return result
    }
}

extension Timestamp: ExpressibleByArgument {
    public init?(argument: String) { self.init(rfc3339: argument) }
}

extension VersionRef: ExpressibleByArgument {
    public init?(argument: String) { try? self.init(parsing: argument) }
}

extension Branch: ExpressibleByArgument {}

extension AuditExport.Format: ExpressibleByArgument {}
