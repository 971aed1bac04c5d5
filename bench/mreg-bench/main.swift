import CSQLite
import Foundation
import RegistryCore

// mreg-bench: the registry's throughput and latency in-process, against raw SQLite on the same
// disk, and at scale on a bulk-loaded database. See BenchReport for the JSON it writes.

func progress(_ message: String) {
    FileHandle.standardError.write(Data("mreg-bench: \(message)\n".utf8))
}

func loadAverage() -> String {
    let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? ""
    return text.split(separator: " ").prefix(3).joined(separator: " ")
}

/// A new, empty directory inside `parent`.
func makeWorkDirectory(in parent: String) throws(BenchFailure) -> String {
    var template = Array("\(parent)/mreg-bench-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else {
        throw BenchFailure("cannot create a working directory in \(parent): \(String(cString: strerror(errno)))")
    }
    return String(cString: made)
}

func runBenchmark(_ options: BenchOptions, in directory: String) async throws -> BenchReport {
    let clock = ContinuousClock()
    let start = clock.now
    let loadAtStart = loadAverage()

    progress("raw SQLite limit")
    let limit = try await RawSQLiteLimit(
        insertTransactions: options.quick ? 200 : 20_000, tableRows: options.quick ? 1_000 : 100_000,
        pointSelects: options.quick ? 2_000 : 500_000
    ).run(in: "\(directory)/raw.db")

    progress("in-process operations")
    let inProcess = try await InProcessBenchmark(sizes: options.quick ? .quick : .full).run(in: "\(directory)/inprocess.db")

    progress("WAL written per change")
    let walCost = try await WALCost(models: options.quick ? 2 : 20, versionsPerModel: options.quick ? 10 : 500, operations: options.quick ? 4 : 270)
        .run(in: directory)

    let scaleSizes: ScaleBenchmark.Sizes = options.quick ? .quick : .full
    let perModel = options.versionsPerModel
    progress("scale: loading 1 model x \(perModel) versions")
    let small = try BulkLoader(models: 1, versionsPerModel: perModel).load(into: "\(directory)/small.db")
    progress("scale: measuring at \(small.versions) versions")
    let smallTable = try await ScaleBenchmark(sizes: scaleSizes).run(on: small)
    ScaleBenchmark.removeDatabase(small.path)

    progress("scale: loading \(options.models) models x \(perModel) versions")
    let loaded = try BulkLoader(models: options.models, versionsPerModel: perModel).load(into: "\(directory)/scale.db")
    let bytes = ScaleBenchmark.databaseBytes(loaded.path)
    progress("scale: loaded in \(BenchReport.fixed(loaded.seconds, 1)) s, \(BenchReport.count(bytes)) bytes; measuring")
    let fullTable = try await ScaleBenchmark(sizes: scaleSizes).run(on: loaded)

    return BenchReport(
        quick: options.quick, sqliteVersion: String(cString: sqlite3_libversion()), loadAverageAtStart: loadAtStart,
        loadAverageAtEnd: loadAverage(), seconds: start.duration(to: clock.now).seconds,
        insertLimit: limit.insert, selectLimit: limit.select, inProcess: inProcess, walCost: walCost,
        scale: .init(loaded: loaded, databaseBytes: bytes, smallVersions: small.versions, small: smallTable, full: fullTable))
}

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--help") || arguments.contains("-h") {
    print(BenchOptions.usage)
    exit(0)
}

let options: BenchOptions
do {
    options = try BenchOptions.parse(arguments)
} catch {
    FileHandle.standardError.write(Data("mreg-bench: \(error)\n".utf8))
    exit(2)
}

let directory: String
do {
    directory = try makeWorkDirectory(in: options.parentDirectory)
} catch {
    progress("failed: \(error)")
    exit(1)
}

// An interrupted run still removes its working directory (the scale database is gigabytes).
signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)
let interruptions = [SIGINT, SIGTERM].map { number in
    let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
    source.setEventHandler {
        try? FileManager.default.removeItem(atPath: directory)
        progress("interrupted; removed \(directory)")
        exit(130)
    }
    source.resume()
    return source
}

var failed = false
do {
    let report = try await runBenchmark(options, in: directory)
    print(report.text, terminator: "")
    if let path = options.jsonPath {
        let data = try JSONCoding.encoder(pretty: true).encode(report.json)
        try data.write(to: URL(fileURLWithPath: path))
        progress("wrote \(path)")
    }
} catch {
    progress("failed: \(error)")
    failed = true
}
interruptions.forEach { $0.cancel() }
try? FileManager.default.removeItem(atPath: directory)
exit(failed ? 1 : 0)
