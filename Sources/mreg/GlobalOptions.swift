import ArgumentParser
import Foundation
import RegistryCore

/// Where the registry is and how to print: the options of every command.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The registry database file (else $MREG_DB, else ./mreg.db).", valueName: "path"))
    var db: String?

    @Flag(name: .long, help: "Print one JSON document on stdout, the same shape as the REST body.")
    var json = false

    var databasePath: String {
        db ?? ProcessInfo.processInfo.environment["MREG_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "mreg.db"
    }

    /// One command is one short process: it leaves the WAL for the next opener to fold in
    /// rather than paying a checkpoint's fsyncs on exit.
    func openRegistry() throws(RegistryError) -> Registry {
        try Registry(path: databasePath, workload: .oneShot)
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

/// Options every command takes: the store options and who is acting. (`audit log` takes only
/// the store options: there `--actor` filters by actor, as the contract spells it.)
struct GlobalOptions: ParsableArguments {
    @OptionGroup var store: StoreOptions

    @Option(name: .long, help: ArgumentHelp("Who is acting (else $MREG_ACTOR, else the OS user).", valueName: "name"))
    var actor: String?

    var json: Bool { store.json }
    var databasePath: String { store.databasePath }
    func openRegistry() throws(RegistryError) -> Registry { try store.openRegistry() }
    func emit<T: Encodable>(_ value: T, human: () -> String) { store.emit(value, human: human) }

    /// Working on the file directly, the CLI acts with admin rights: whoever can write the file
    /// can change it anyway. The actor still names who acted.
    var caller: Caller {
        let environment = ProcessInfo.processInfo.environment
        let name = actor ?? environment["MREG_ACTOR"].flatMap { $0.isEmpty ? nil : $0 } ?? Self.osUser
        return Caller(name: name, role: .admin)
    }

    private static var osUser: String {
        if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name { return String(cString: name) }
        return ProcessInfo.processInfo.environment["USER"] ?? "unknown"
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
struct MetricValue: ExpressibleByArgument {
    let key: String
    let value: Double

    init?(argument: String) {
        guard let pair = KeyValue(argument: argument), let number = Double(pair.value), number.isFinite else { return nil }
        key = pair.key
        value = number
    }
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

extension Array where Element == MetricValue {
    func dictionary() throws -> [String: Double] {
        var result: [String: Double] = [:]
        for pair in self {
            guard result.updateValue(pair.value, forKey: pair.key) == nil else {
                throw ValidationError("--metric \(pair.key) is given twice")
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
