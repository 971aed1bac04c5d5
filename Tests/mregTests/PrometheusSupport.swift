import Foundation
import MregTestSupport

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#endif

// The end-to-end tests of rollout guards run a real Prometheus (Debian's package, 2.42) that
// scrapes a stand-in model server whose error rate the test sets: the guards then read what
// they read in production, PromQL and all, rather than a fake that answers what the test expects.

/// The model server stand-in (Fixtures/model_server.py): `requests_total` and `errors_total`
/// per (model, version), growing at the rates a test sets, for Prometheus to scrape.
final class ModelServerStandIn: Sendable {
    /// The system's python3, not `.build/venv`'s: the stand-in needs only the standard library,
    /// and `make test-tools` installs Debian's python3.
    static let python = "/usr/bin/python3"

    let port: Int
    private let program: BackgroundProgram

    /// What Prometheus scrapes, `127.0.0.1:PORT`; also the `instance` label of its series.
    var target: String { "127.0.0.1:\(port)" }

    private init(port: Int, program: BackgroundProgram) {
        self.port = port
        self.program = program
    }

    /// Runs `body` with a stand-in on a free loopback port, stopped afterwards whether `body`
    /// returns or throws. It serves no series until `set` makes them; its output goes to files
    /// in `directory` (created if missing).
    static func with(in directory: String, _ body: (ModelServerStandIn) async throws -> Void) async throws {
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw PrometheusSupportError("\(python) is missing; `make test-tools` installs it")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let program = try await BackgroundProgram(python, [RemoteModeTests.fixture("model_server.py"), "0"], directory: directory)
        defer { program.stop() }
        let line = try await program.firstLine()
        guard let port = Int(line) else {
            throw PrometheusSupportError("model_server.py printed \"\(line)\" where its port belongs")
        }
        try await body(ModelServerStandIn(port: port, program: program))
    }

    /// Serves `rate` requests per second for `model` version `version`, `errorFraction` of them
    /// failing (0.01: 1 %); makes the series if it is new. The counters keep their totals, so
    /// Prometheus's `rate()` follows the change within one window.
    func set(model: String, version: Int, rate: Double, errorFraction: Double) async throws {
        let control: [String: Any] = ["model": model, "version": String(version), "rate": rate, "error_fraction": errorFraction]
        let url = "http://127.0.0.1:\(port)/control"
        let answer = try await LoopbackHTTP.request(
            "POST", url, contentType: "application/json", body: try JSONSerialization.data(withJSONObject: control))
        guard answer.status == 204 else {
            throw PrometheusSupportError("POST \(url) answered \(answer.status): \(answer.text)")
        }
    }

    /// Kills it (SIGKILL): Prometheus then records `up` 0 for it at the next scrape, and its rates
    /// go empty once the last samples leave their window. `with` stops it too; twice is harmless.
    func stop() { program.stop() }
}

/// A real Prometheus (`/usr/bin/prometheus`) on a free loopback port, scraping one target every
/// second, with its data in the test's directory.
final class PrometheusServer: Sendable {
    static let executable = "/usr/bin/prometheus"
    static let installed = FileManager.default.isExecutableFile(atPath: executable)
    /// The job of its one scrape config: `up{job="model-server"}`.
    static let job = "model-server"

    /// `http://127.0.0.1:PORT`, for `mreg serve --prometheus-url`.
    let url: String
    let port: Int
    /// What it scrapes, `127.0.0.1:PORT`.
    let target: String
    private let process: ChildProcess
    private let logPath: String

    private init(port: Int, target: String, process: ChildProcess, logPath: String) {
        self.port = port
        url = "http://127.0.0.1:\(port)"
        self.target = target
        self.process = process
        self.logPath = logPath
    }

    /// Runs `body` once Prometheus has scraped `target` (`"127.0.0.1:PORT"`) and recorded it up;
    /// stops Prometheus afterwards whether `body` returns or throws.
    ///
    /// Waiting for `up` rather than only `/-/ready`: Prometheus answers ready within a second
    /// but starts scraping about 5 s later (its discovery manager hands targets over at most
    /// every 5 s, a constant in 2.42). Up to 60 s in all, for a loaded machine running every
    /// suite at once. A rate needs a second scrape after that: wait for it with `value(of:)`.
    static func with(scraping target: String, in directory: String, _ body: (PrometheusServer) async throws -> Void) async throws {
        guard installed else {
            throw PrometheusSupportError("\(executable) is missing; `make test-tools` installs Debian's prometheus")
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let config = directory + "/prometheus.yml"
        try writeConfig(scraping: target, to: config)
        let deadline = ContinuousClock.now + .seconds(60)
        // The free port is released before Prometheus binds it, so another test may take it
        // meanwhile: then Prometheus exits at once, and a new port is tried.
        for _ in 1...3 {
            let port = try freePort()
            let logPath = "\(directory)/prometheus-\(port).log"
            let process = try ChildProcess(
                executable,
                ["--config.file=\(config)", "--storage.tsdb.path=\(directory)/data", "--web.listen-address=127.0.0.1:\(port)"],
                directory: directory, stdout: logPath, stderr: logPath)
            let server = PrometheusServer(port: port, target: target, process: process, logPath: logPath)
            defer { server.stop() }
            guard try await server.waitUntilScraping(until: deadline) else { continue }
            try await body(server)
            return
        }
        throw PrometheusSupportError("prometheus found its loopback port taken 3 times in a row")
    }

    /// The config, as JSON: YAML is a superset of JSON, so no YAML library is needed. The
    /// evaluation interval matters to nothing here but is kept equal to the scrape interval.
    private static func writeConfig(scraping target: String, to path: String) throws {
        let config: [String: Any] = [
            "global": ["scrape_interval": "1s", "evaluation_interval": "1s"],
            "scrape_configs": [["job_name": job, "static_configs": [["targets": [target]]]]],
        ]
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// A loopback port nothing listened on a moment ago: the kernel's pick for port 0.
    private static func freePort() throws -> Int {
        let socket = try SilentListener(listening: false)
        defer { socket.shutdown() }
        return socket.port
    }

    /// Polls every 200 ms until `/-/ready` answers 200 and `up` for the target is 1: true then,
    /// false when Prometheus exited because its port was taken; throws on any other exit or at
    /// `deadline`.
    ///
    /// `up` is asked for with the target's `instance` too: when the port was taken by another
    /// test's Prometheus, that one answers ready and has `up{job="model-server"}` 1 as well,
    /// for a different target, until this one's exit is seen.
    private func waitUntilScraping(until deadline: ContinuousClock.Instant) async throws -> Bool {
        let up = "up{job=\(Self.quoted(Self.job)),instance=\(Self.quoted(target))}"
        var ready = false
        var last = "no answer yet"
        while true {
            if !process.isRunning {
                let log = self.log
                if log.contains("address already in use") { return false }
                let status = process.terminationStatus.map { String($0) } ?? "unknown"
                throw PrometheusSupportError("prometheus exited (status \(status)) before it was ready; its log ends:\n\(Self.tail(log))")
            }
            do {
                if !ready {
                    let answer = try await LoopbackHTTP.request("GET", url + "/-/ready", timeout: 5)
                    ready = answer.status == 200
                    last = "GET /-/ready answered \(answer.status) \(answer.text)"
                }
                if ready {
                    let value = try await query(up)
                    if value == "1" { return true }
                    last = "\(up) is \(value.map { "\"\($0)\"" } ?? "absent: no scrape yet")"
                }
            } catch {
                last = "\(error)"
            }
            guard ContinuousClock.now < deadline else {
                // Its targets page says why a scrape failed (refused, a bad exposition, …).
                let targets = (try? await LoopbackHTTP.request("GET", url + "/api/v1/targets", timeout: 5))?.text ?? "no answer"
                throw PrometheusSupportError(
                    "prometheus at \(url) did not report \(target) up within 60 s; last: \(last)\nits targets: \(targets.prefix(2000))"
                        + "\nits log ends:\n\(Self.tail(log))")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// Stops it as a service manager does, SIGTERM (Go handles it even when the test process
    /// ignores it), waiting up to 10 s for it to exit before killing it. It exits within
    /// milliseconds, so blocking the caller's thread for it is harmless. Stopping it mid-test
    /// shows how the registry behaves with Prometheus down: connections are then refused.
    /// `with` stops it too; twice is harmless.
    func stop() {
        process.signal(SIGTERM)
        let deadline = ContinuousClock.now + .seconds(10)
        while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        process.stop()
    }

    /// The value of the first sample an instant query returns, as Prometheus writes it
    /// ("0.01", "NaN", "+Inf"), or nil for an empty vector; a scalar's value. Throws on any other
    /// answer, with Prometheus's error.
    ///
    /// POST with a form body: in a URL's query string a `+` reads as a space, and Foundation
    /// leaves `+` unencoded there.
    func query(_ promql: String) async throws -> String? {
        guard let encoded = promql.addingPercentEncoding(withAllowedCharacters: Self.unreserved) else {
            throw PrometheusSupportError("cannot percent-encode the query \(promql)")
        }
        let answer = try await LoopbackHTTP.request(
            "POST", url + "/api/v1/query", contentType: "application/x-www-form-urlencoded", body: Data("query=\(encoded)".utf8))
        guard answer.status == 200 else {
            throw PrometheusSupportError("query \(promql) answered \(answer.status): \(answer.text)")
        }
        let document = try? JSONSerialization.jsonObject(with: answer.body) as? [String: Any]
        guard let data = document?["data"] as? [String: Any], let type = data["resultType"] as? String else {
            throw PrometheusSupportError("query \(promql) answered something other than a result: \(answer.text)")
        }
        let sample: Any?
        switch type {
        case "vector":
            guard let result = data["result"] as? [[String: Any]] else {
                throw PrometheusSupportError("query \(promql) answered a vector without samples: \(answer.text)")
            }
            guard let first = result.first else { return nil }
            sample = first["value"]
        case "scalar", "string":
            sample = data["result"]
        default:
            throw PrometheusSupportError("query \(promql) answered a \(type); ask for an instant vector or a scalar")
        }
        guard let pair = sample as? [Any], pair.count == 2, let value = pair[1] as? String else {
            throw PrometheusSupportError("query \(promql) answered a sample that is not [time, \"value\"]: \(answer.text)")
        }
        return value
    }

    /// Polls `promql` every 200 ms until its value is one `accept` takes, and returns that value;
    /// throws with the last value seen after `timeout`. A rate needs two scrapes inside its
    /// window, and a change shows in full only a window later, so a test waits for the value it
    /// expects rather than sleeping.
    @discardableResult
    func value(of promql: String, within timeout: Duration = .seconds(30), where accept: (Double) -> Bool) async throws -> Double {
        let deadline = ContinuousClock.now + timeout
        var last = "no answer yet"
        while true {
            do {
                let text = try await query(promql)
                if let text, let value = Double(text), accept(value) { return value }
                last = text.map { "\"\($0)\"" } ?? "an empty vector"
            } catch {
                last = "\(error)"
            }
            guard ContinuousClock.now < deadline else {
                throw PrometheusSupportError("\(promql) did not reach the value expected within \(timeout); last: \(last)")
            }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    /// `value` as a PromQL double-quoted string: PromQL unescapes as Go does, so a backslash,
    /// a double quote and a newline must be escaped; anything else (`'` included) is literal.
    static func quoted(_ value: String) -> String {
        var quoted = "\""
        for character in value {
            switch character {
            case "\\": quoted += "\\\\"
            case "\"": quoted += "\\\""
            case "\n": quoted += "\\n"
            default: quoted.append(character)
            }
        }
        return quoted + "\""
    }

    /// RFC 3986's unreserved characters: everything else is percent-encoded in a form body.
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    private var log: String { String(decoding: FileManager.default.contents(atPath: logPath) ?? Data(), as: UTF8.self) }

    private static func tail(_ log: String) -> String {
        log.split(separator: "\n", omittingEmptySubsequences: false).suffix(30).joined(separator: "\n")
    }
}

/// A helper that could not do its part, with what it saw.
struct PrometheusSupportError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// HTTP to the helpers on loopback, with Foundation's URLSession: this test target has no HTTP
/// client library of its own (AsyncHTTPClient is RegistryServerTests').
enum LoopbackHTTP {
    struct Answer: Sendable {
        let status: Int
        let body: Data
        var text: String { String(decoding: body, as: UTF8.self) }
    }

    /// No cache and no cookies: every poll must reach the server.
    private static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        configuration.urlCache = nil
        return URLSession(configuration: configuration)
    }()

    /// One request; the answer whatever its status. Throws when there is none (connection
    /// refused, or nothing within `timeout` seconds: generous, for a loaded machine).
    static func request(_ method: String, _ url: String, contentType: String? = nil, body: Data? = nil, timeout: TimeInterval = 15)
        async throws -> Answer
    {
        guard let address = URL(string: url) else { throw PrometheusSupportError("not a URL: \(url)") }
        var request = URLRequest(url: address, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeout)
        request.httpMethod = method
        if let contentType { request.setValue(contentType, forHTTPHeaderField: "Content-Type") }
        request.httpBody = body
        let (data, response): (Data, URLResponse)
        do {
            (data, response) = try await session.data(for: request)
        } catch {
            throw PrometheusSupportError("\(method) \(url): \(error)")
        }
        guard let http = response as? HTTPURLResponse else {
            throw PrometheusSupportError("\(method) \(url): not an HTTP answer")
        }
        return Answer(status: http.statusCode, body: data)
    }
}
