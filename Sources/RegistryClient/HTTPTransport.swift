import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import RegistryCore

/// Requests to one `mreg serve`, with the token, safe retries, and the server's problem
/// documents turned back into the `RegistryError` they came from.
///
/// Errors are `RegistryError` whatever went wrong: a problem document keeps its `code` (so the
/// CLI maps it to the same exit code as the same failure on a file), and a server that cannot
/// be reached is `UNAVAILABLE` with one sentence naming the URL and the reason.
final class HTTPTransport: Sendable {
    /// The server's base URL, without a trailing slash.
    let server: String
    private let token: String?
    private let client: HTTPClient
    private let timeout: Duration
    let retry: RetryPolicy

    /// One request: what to send and whether it may be sent again.
    struct Request: Sendable {
        var method: HTTPMethod
        var path: String
        var query: [(String, String)] = []
        var body: [UInt8]? = nil
        var contentType = "application/json"
        var safety: RetrySafety
        /// Set on creating POSTs: the server answers a repeat of the key with the first answer.
        var idempotencyKey: String? = nil
        /// Sent as they are, after the usual ones (`Accept` replaces the JSON one).
        var headers: [(String, String)] = []
    }

    /// - Throws: `INVALID_ARGUMENT` for a URL that is not `http://` or `https://`, or a CA
    ///   file that holds no PEM certificate.
    init(server: String, token: String?, caCertificateFile: String?, timeout: Duration, retry: RetryPolicy) throws(RegistryError) {
        guard let url = URL(string: server), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
            url.host != nil, url.query == nil
        else {
            throw RegistryError(.invalidArgument, "--server must be an http:// or https:// URL such as https://mreg.example.com, not \"\(server)\"")
        }
        var tls = TLSConfiguration.makeClientConfiguration()
        if let caCertificateFile {
            let certificates: [NIOSSLCertificate]
            do {
                certificates = try NIOSSLCertificate.fromPEMFile(caCertificateFile)
            } catch {
                throw RegistryError(.invalidArgument, "cannot read a PEM certificate from --cacert \(caCertificateFile): \(error)")
            }
            guard !certificates.isEmpty else { throw RegistryError(.invalidArgument, "--cacert \(caCertificateFile) holds no certificate") }
            tls.trustRoots = .certificates(certificates)
        }
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: tls, redirectConfiguration: .disallow,
            timeout: .init(connect: .init(timeout), read: .init(timeout)))
        // Connection failures come back at once, to be retried here with the rest.
        configuration.connectionPool.retryConnectionEstablishment = false
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.token = token
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.timeout = timeout
        self.retry = retry
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    /// Sends `request` and decodes its JSON answer.
    func json<T: Decodable>(_ type: T.Type, _ request: Request) async throws(RegistryError) -> T {
        let body = try await perform(request, retryingBody: true) { response in
            try await response.body.collect(upTo: Self.maximumAnswerBytes)
        }
        do {
            return try JSONCoding.decode(type, from: body.readableBytesView)
        } catch {
            throw RegistryError(.unavailable, "\(server) answered with a document mreg cannot read (\(error)); is it an mreg server of this version?")
        }
    }

    /// Sends `request` and hands its answer's body to `write` piece by piece as it arrives. It
    /// is not tried again once an answer has begun, so nothing is written twice.
    func stream(_ request: Request, to write: @escaping @Sendable ([UInt8]) async throws -> Void) async throws(RegistryError) {
        try await perform(request, retryingBody: false) { response in
            for try await piece in response.body { try await write(Array(buffer: piece)) }
        }
    }

    static let maximumAnswerBytes = 256 << 20

    /// Runs `request` until it gets an answer, an error that trying again cannot mend, or runs
    /// out of attempts; then `consume`s the answer.
    /// - Parameter retryingBody: whether a failure while `consume` reads a 2xx answer's body may
    ///   be retried (for a request that is safe to repeat).
    private func perform<T>(
        _ request: Request, retryingBody: Bool, consume: (HTTPClientResponse) async throws -> T
    ) async throws(RegistryError) -> T {
        var generator = SystemRandomNumberGenerator()
        var attempt = 1
        while true {
            let failure: TransportFailure
            switch await attemptOnce(request, retryingBody: retryingBody, consume: consume) {
            case .answered(let value): return value
            case .refused(let error): throw error
            case .failed(let reason): failure = reason
            }
            let mayRetry = failure.transient && (request.safety == .idempotent || !failure.sent)
            guard mayRetry, attempt < retry.attempts else {
                throw failure.error(attempts: attempt, mayHaveChanged: request.safety == .onlyIfUnsent && failure.sent)
            }
            do {
                try await Task.sleep(for: retry.delay(after: attempt, using: &generator))
            } catch {
                throw RegistryError(.unavailable, "the request to \(server) was cancelled")
            }
            attempt += 1
        }
    }

    private enum Attempt<T> {
        case answered(T)
        /// A final answer: the server's refusal, or something that is not mreg.
        case refused(RegistryError)
        case failed(TransportFailure)
    }

    private func attemptOnce<T>(
        _ request: Request, retryingBody: Bool, consume: (HTTPClientResponse) async throws -> T
    ) async -> Attempt<T> {
        let response: HTTPClientResponse
        do {
            // The deadline covers connecting and the answer's head, so that the connect and read
            // timeouts (each `timeout`) fire first and say which it was.
            response = try await client.execute(try build(request), timeout: TimeAmount(timeout * 2))
        } catch {
            return .failed(TransportFailure(error, server: server, timeout: timeout))
        }
        guard (200..<300).contains(response.status.code) else {
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { Data($0.readableBytesView) } ?? Data()
            guard let document = try? JSONCoding.decode(ProblemDocument.self, from: body), document.code != nil else {
                // A gateway's 502/503/504 may pass; anything else that is not mreg's answer is final.
                guard [502, 503, 504].contains(response.status.code) else { return .refused(notMreg(response.status)) }
                return .failed(TransportFailure(
                    reason: "\(server) answered \(response.status.code) \(response.status.reasonPhrase)", sent: true, transient: true))
            }
            return .refused(problem(document, status: response.status))
        }
        do {
            return .answered(try await consume(response))
        } catch {
            // The server answered 2xx, so whatever it was asked to do is done.
            let failure = TransportFailure(error, server: server, timeout: timeout).afterAnswer
            return .failed(retryingBody ? failure : failure.final)
        }
    }

    private func build(_ request: Request) throws -> HTTPClientRequest {
        var url = server + request.path
        if !request.query.isEmpty {
            url += "?" + request.query.map { "\(Self.queryEscaped($0.0))=\(Self.queryEscaped($0.1))" }.joined(separator: "&")
        }
        var built = HTTPClientRequest(url: url)
        built.method = request.method
        built.headers.add(name: "Accept", value: "application/json")
        for (name, value) in request.headers { built.headers.replaceOrAdd(name: name, value: value) }
        built.headers.add(name: "User-Agent", value: "mreg-cli")
        if let token { built.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let key = request.idempotencyKey { built.headers.add(name: "Idempotency-Key", value: key) }
        if let body = request.body {
            built.headers.add(name: "Content-Type", value: request.contentType)
            built.body = .bytes(ByteBuffer(bytes: body))
        }
        return built
    }

    /// A path segment: a model name, a version reference (`master@2026-11-01T00:00:00+01:00`).
    static func pathEscaped(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: unreserved) ?? segment
    }

    static func queryEscaped(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    /// RFC 3986's unreserved characters: everything else is escaped.
    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    private struct ProblemDocument: Decodable {
        let code: String?
        let detail: String?
        let gates: [GateResult]?
    }

    /// The error a problem document stands for: its own code and sentence.
    private func problem(_ document: ProblemDocument, status: HTTPResponseStatus) -> RegistryError {
        let code = document.code.flatMap(RegistryError.Code.init(rawValue:)) ?? .unavailable
        var detail = document.detail ?? status.reasonPhrase
        if code == .unauthenticated, token == nil {
            detail += " (give a token with --token, $MREG_TOKEN or --token-file)"
        }
        return RegistryError(code, detail, gates: document.gates)
    }

    /// An answer that is not mreg's (a proxy, a wrong URL): exit 1, unless it refuses the
    /// caller (an authenticating proxy's 401 or 403).
    private func notMreg(_ status: HTTPResponseStatus) -> RegistryError {
        let code: RegistryError.Code = switch status.code {
        case 401: .unauthenticated
        case 403: .permissionDenied
        default: .unavailable
        }
        return RegistryError(code, "\(server) answered \(status.code) \(status.reasonPhrase), not an mreg answer; is --server the URL of mreg serve?")
    }
}

/// Why a request got no answer, and whether trying again may help.
struct TransportFailure: Error {
    let reason: String
    /// Whether the request may have reached the server (so a change may have been made).
    var sent: Bool
    var transient: Bool

    init(reason: String, sent: Bool, transient: Bool) {
        self.reason = reason
        self.sent = sent
        self.transient = transient
    }

    /// The same failure after a 2xx answer began: the request was carried out.
    var afterAnswer: TransportFailure {
        var failure = self
        failure.sent = true
        return failure
    }

    /// The same failure, not to be retried.
    var final: TransportFailure {
        var failure = self
        failure.transient = false
        return failure
    }

    /// Reads what went wrong off the errors of AsyncHTTPClient, NIO and NIOSSL. Only what is
    /// known to pass is transient; only what happens before a byte is sent is unsent.
    init(_ error: any Error, server: String, timeout: Duration) {
        let timeout = Self.seconds(timeout)
        switch error {
        case let error as HTTPClientError where error == .connectTimeout || error == .getConnectionFromPoolTimeout:
            self.init(reason: "cannot reach \(server): no connection within \(timeout)", sent: false, transient: true)
        case let error as HTTPClientError where error == .tlsHandshakeTimeout:
            self.init(reason: "cannot reach \(server): the TLS handshake timed out", sent: false, transient: true)
        case let error as HTTPClientError where error == .readTimeout || error == .deadlineExceeded:
            self.init(reason: "\(server) did not answer within \(timeout)", sent: true, transient: true)
        case let error as HTTPClientError where error == .remoteConnectionClosed:
            self.init(reason: "\(server) closed the connection before it answered", sent: true, transient: true)
        case let error as NIOConnectionError:
            let causes = error.connectionErrors.map { Self.describe($0.error) }
                + [error.dnsAError, error.dnsAAAAError].compactMap { $0 }.map(Self.describe)
            self.init(reason: "cannot reach \(server): \(Set(causes).sorted().joined(separator: "; "))", sent: false, transient: true)
        case let error as IOError where Self.connectErrors.contains(error.errnoCode):
            self.init(reason: "cannot reach \(server): \(Self.describe(error))", sent: false, transient: true)
        case let error as IOError:
            // A reset or a broken pipe: the request may have gone out whole.
            self.init(reason: "the connection to \(server) broke: \(Self.describe(error))", sent: true, transient: true)
        case is NIOSSLError, is BoringSSLError, is NIOSSLExtraError:
            let text = String(describing: error)
            let reason = text.contains("CERTIFICATE_VERIFY_FAILED")
                ? "its certificate is not trusted (CERTIFICATE_VERIFY_FAILED); give the CA that signed it with --cacert FILE"
                : text
            self.init(reason: "the TLS handshake with \(server) failed: \(reason)", sent: false, transient: false)
        case is NIOTooManyBytesError:
            self.init(reason: "\(server) answered with more than \(HTTPTransport.maximumAnswerBytes >> 20) MiB", sent: true, transient: false)
        default:
            self.init(reason: "the request to \(server) failed: \(error)", sent: true, transient: false)
        }
    }

    /// What a failed connect sets: nothing was sent.
    private static let connectErrors: Set<CInt> = [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL]

    /// - Parameter mayHaveChanged: the request was a change that may have been carried out,
    ///   and so was not sent again.
    func error(attempts: Int, mayHaveChanged: Bool) -> RegistryError {
        var message = attempts > 1 ? "\(reason) (tried \(attempts) times)" : reason
        if mayHaveChanged { message += "; the change may have been made, so it was not sent again (check before you retry)" }
        return RegistryError(.unavailable, message)
    }

    /// `30 s`, `0.25 s`.
    static func seconds(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        guard milliseconds % 1000 != 0 else { return "\(milliseconds / 1000) s" }
        var text = String(format: "%.3f", Double(milliseconds) / 1000)
        while text.hasSuffix("0") { text.removeLast() }
        return text + " s"
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? IOError {
            return String(cString: strerror(error.errnoCode)).lowercased()
        }
        return String(describing: error)
    }
}
