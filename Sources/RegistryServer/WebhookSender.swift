import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import RegistryCore
import Synchronization

/// How `mreg serve` delivers webhooks (contract section 10; `mreg serve --help`).
public struct WebhookSettings: Sendable {
    /// Seals and opens the subscriptions' signing secrets; nil: webhooks cannot be added or
    /// delivered (the routes say so).
    public var secretsKey: SecretsKey?
    /// Whether targets may be loopback or private addresses.
    public var allowPrivate: Bool
    /// How long one attempt may take, connecting included.
    public var timeout: Duration
    /// The wait before the first retry; each further retry waits twice as long, up to `maxRetryWait`.
    public var firstRetryWait: Duration
    public var maxRetryWait: Duration
    /// A subscription whose deliveries have failed for this long is disabled.
    public var disableAfter: Duration

    public init(
        secretsKey: SecretsKey? = nil, allowPrivate: Bool = false, timeout: Duration = .seconds(10), firstRetryWait: Duration = .seconds(1),
        maxRetryWait: Duration = .seconds(300), disableAfter: Duration = .seconds(24 * 3600)
    ) {
        self.secretsKey = secretsKey
        self.allowPrivate = allowPrivate
        self.timeout = timeout
        self.firstRetryWait = firstRetryWait
        self.maxRetryWait = maxRetryWait
        self.disableAfter = disableAfter
    }

    /// The wait before retry number `retry` (1 for the first): exponential, with full jitter
    /// in its upper half so that receivers coming back are not hit by every sender at once,
    /// and never shorter than the receiver's `Retry-After`.
    func wait(beforeRetry retry: Int, retryAfter: Duration?) -> Duration {
        let exponential = Self.seconds(firstRetryWait) * Double(1 << min(retry - 1, 30))
        let capped = min(exponential, Self.seconds(maxRetryWait))
        let jittered = Duration.milliseconds(Int64(capped * Double.random(in: 0.5...1.0) * 1000))
        guard let retryAfter else { return jittered }
        return max(jittered, min(retryAfter, maxRetryWait))
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Sends one attempt of a webhook message and says what came of it.
final class WebhookSender: Sendable {
    private let client: HTTPClient
    private let settings: WebhookSettings
    /// Told each attempt's outcome: `delivered`, `retried` or `rejected` (the server's metrics).
    private let count: @Sendable (String) -> Void
    /// Targets checked lately, so that a busy subscription does not ask the resolver per event.
    private let checked = Mutex<[String: (refusal: String?, until: ContinuousClock.Instant)]>([:])

    /// What one attempt got.
    struct Answer: Sendable {
        /// The receiver's status; nil when none came.
        let status: Int?
        let retryAfter: Duration?
        let error: String?
        let latencyMs: Double

        var delivered: Bool { status.map { (200..<300).contains($0) } ?? false }

        /// This answer as the delivery log records it (its `id` is the log's, once written).
        func record(of message: WebhookMessage, to webhook: String, attempt: Int, at: Timestamp, kind: WebhookDelivery.Kind) -> WebhookDelivery {
            WebhookDelivery(
                id: 0, webhookId: webhook, event: message.event, type: message.type, messageId: message.id, attempt: attempt, at: at,
                status: status, latencyMs: latencyMs, outcome: delivered ? .delivered : .failed, error: error, kind: kind)
        }
        /// Worth trying again: no answer, a timeout, 429 or a server error. Other answers (a
        /// 4xx) say the receiver will not take this event however often it is sent.
        var retryable: Bool { status.map { $0 == 408 || $0 == 429 || $0 >= 500 } ?? true }
    }

    /// - Parameter group: where the connections live (the server's `DeliveryThread`); NIO's
    ///   shared threads when nil.
    init(settings: WebhookSettings, group: (any EventLoopGroup)? = nil, count: @escaping @Sendable (String) -> Void = { _ in }) {
        self.settings = settings
        self.count = count
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .init(settings.timeout), read: .init(settings.timeout)),
            decompression: .disabled)
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroupProvider: group.map { .shared($0) } ?? .singleton, configuration: configuration)
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    func send(_ message: WebhookMessage, to url: String, secret: [UInt8]) async -> Answer {
        let answer = await attempt(message, to: url, secret: secret)
        count(answer.delivered ? "delivered" : answer.retryable ? "retried" : "rejected")
        return answer
    }

    private func attempt(_ message: WebhookMessage, to url: String, secret: [UInt8]) async -> Answer {
        let start = ContinuousClock.now
        func answer(status: Int? = nil, retryAfter: Duration? = nil, error: String? = nil) -> Answer {
            let elapsed = ContinuousClock.now - start
            return Answer(
                status: status, retryAfter: retryAfter, error: error,
                latencyMs: Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15)
        }
        if let refusal = await refusal(of: url) { return answer(error: refusal) }
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        let timestamp = Int64(Date().timeIntervalSince1970)
        for header in message.headers(timestamp: timestamp, secret: secret) { request.headers.add(name: header.name, value: header.value) }
        request.headers.add(name: "user-agent", value: "mreg-webhooks")
        request.body = .bytes(ByteBuffer(bytes: message.body))
        do {
            let response = try await client.execute(request, timeout: .init(settings.timeout))
            // Read (and drop) what the receiver answered, a bounded amount, so the connection can be reused.
            var read = 0
            for try await part in response.body {
                read += part.readableBytes
                if read > 65_536 { break }
            }
            let status = Int(response.status.code)
            return answer(
                status: status, retryAfter: response.headers.first(name: "retry-after").flatMap(Self.retryAfter),
                error: (200..<300).contains(status) ? nil : "the receiver answered \(status)")
        } catch {
            return answer(error: Self.describe(error))
        }
    }

    /// Why `url` may not be sent to now, or nil; remembered for a minute.
    private func refusal(of url: String) async -> String? {
        let now = ContinuousClock.now
        if let known = checked.withLock({ $0[url] }), known.until > now { return known.refusal }
        var refusal: String?
        do { try await WebhookTarget.check(url, allowPrivate: settings.allowPrivate, resolved: true) } catch { refusal = error.message }
        checked.withLock { $0[url] = (refusal, now + .seconds(60)) }
        return refusal
    }

    /// `Retry-After` as seconds or as an HTTP date.
    static func retryAfter(_ text: String) -> Duration? {
        if let seconds = Int(text.trimmingCharacters(in: .whitespaces)), seconds >= 0 { return .seconds(seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return .milliseconds(max(0, Int64(date.timeIntervalSinceNow * 1000)))
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout:
            return "timed out"
        case let error as HTTPClientError:
            return "\(error)"
        default:
            let text = "\(error)"
            return text.contains("connectionRefused") || text.contains("Connection refused") ? "connection refused" : text
        }
    }
}
