/// The command line of `mreg-bench`.
///
/// Parsed by hand: the benchmark depends on nothing but the registry and SQLite, so it stays a
/// small, quick-to-build target.
struct BenchOptions {
    /// A tiny run (seconds) that checks the harness works; its timings mean nothing.
    var quick = false
    /// Versions the bulk loader writes for the scale run.
    var scaleVersions = 1_000_000
    /// Models the scale run spreads its versions over.
    var models = 1_000
    /// The parent of the fresh working directory (removed at the end).
    var parentDirectory = "/tmp"
    /// Where to write every figure as JSON.
    var jsonPath: String?

    static let usage = """
        usage: mreg-bench [--quick] [--scale N_VERSIONS] [--models M] [--dir DIR] [--json OUT.json]

          --quick         a tiny smoke run (seconds) that checks the harness, not the timings
          --scale N       versions the bulk loader writes (default 1000000; 200 with --quick)
          --models M      models those versions are spread over (default 1000; 2 with --quick)
          --dir DIR       make the working directory inside DIR (default /tmp); it is removed at the end
          --json OUT      also write every figure as JSON to OUT
        """

    struct UsageError: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses `arguments` (without the program name).
    /// - Throws: `UsageError` for an unknown flag, a missing or bad value, or a scale that does
    ///   not split evenly into versions per model.
    static func parse(_ arguments: [String]) throws(UsageError) -> BenchOptions {
        var options = BenchOptions()
        var scale: Int?
        var models: Int?
        var remaining = arguments[...]
        func value(of flag: String) throws(UsageError) -> String {
            guard let value = remaining.popFirst() else { throw UsageError(description: "\(flag) needs a value") }
            return value
        }
        func count(of flag: String) throws(UsageError) -> Int {
            let text = try value(of: flag)
            guard let number = Int(text.filter { $0 != "_" }), number > 0 else {
                throw UsageError(description: "\(flag) takes a positive whole number, not \"\(text)\"")
            }
            return number
        }
        while let flag = remaining.popFirst() {
            switch flag {
            case "--quick": options.quick = true
            case "--scale": scale = try count(of: flag)
            case "--models": models = try count(of: flag)
            case "--dir": options.parentDirectory = try value(of: flag)
            case "--json": options.jsonPath = try value(of: flag)
            default: throw UsageError(description: "unknown argument \"\(flag)\"\n\(usage)")
            }
        }
        options.scaleVersions = scale ?? (options.quick ? 200 : 1_000_000)
        options.models = models ?? (options.quick ? 2 : 1_000)
        guard options.scaleVersions % options.models == 0, options.scaleVersions / options.models >= 2 else {
            throw UsageError(
                description: "--scale \(options.scaleVersions) must be a multiple of --models \(options.models), with at least 2 versions per model")
        }
        return options
    }

    var versionsPerModel: Int { scaleVersions / models }
}
