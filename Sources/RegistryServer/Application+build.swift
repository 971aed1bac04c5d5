import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import ServiceLifecycle
import RegistryCore

/// Where and how `mreg serve` listens.
public struct ServerArguments: Sendable {
    public var host: String
    public var port: Int
    public var logLevel: Logger.Level
    /// Base64 Ed25519 private key for `POST /v1/audit/checkpoint`; without it that route answers 503.
    public var checkpointKey: String?
    public var checkpointOrigin: String
    /// Serve HTTPS with this (``tlsConfiguration(certificateChain:privateKey:)``); `nil` serves plain HTTP.
    public var tls: TLSConfiguration?
    /// How long an event stream may stay silent before a heartbeat comment keeps it open.
    public var eventHeartbeat: Duration
    public var webhooks: WebhookSettings
    /// The Prometheus the rollouts' query guards read (`--prometheus-url`); without it they are
    /// inconclusive.
    public var prometheusURL: String?

    public init(
        host: String = "127.0.0.1", port: Int = 8080, logLevel: Logger.Level = .info, checkpointKey: String? = nil,
        checkpointOrigin: String = "mreg", tls: TLSConfiguration? = nil, eventHeartbeat: Duration = .seconds(15),
        webhooks: WebhookSettings = WebhookSettings(), prometheusURL: String? = nil
    ) {
        self.host = host
        self.port = port
        self.logLevel = logLevel
        self.checkpointKey = checkpointKey
        self.checkpointOrigin = checkpointOrigin
        self.tls = tls
        self.eventHeartbeat = eventHeartbeat
        self.webhooks = webhooks
        self.prometheusURL = prometheusURL
    }

    /// A server's TLS from PEM files: its certificate (the file may hold the chain, the
    /// server's first) and its private key.
    /// - Throws: `INVALID_ARGUMENT` naming the file that does not hold a PEM certificate or key.
    public static func tlsConfiguration(certificateChain: String, privateKey: String) throws(RegistryError) -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateChain)
        } catch {
            throw RegistryError(.invalidArgument, "cannot read a PEM certificate from --tls-cert \(certificateChain): \(error)")
        }
        guard !chain.isEmpty else { throw RegistryError(.invalidArgument, "--tls-cert \(certificateChain) holds no certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKey, format: .pem)
        } catch {
            throw RegistryError(.invalidArgument, "cannot read a PEM private key from --tls-key \(privateKey): \(error)")
        }
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    }
}

/// Every route of the API, in one list: method, path, required role, handler.
func apiRoutes(
    registry: Registry, metrics: ServerMetrics, events: EventHub, webhooks: WebhookDispatcher? = nil, arguments: ServerArguments = ServerArguments()
) -> [Route] {
    [
        OperationsRoutes(registry: registry, metrics: metrics, events: events).routes,
        ModelRoutes(registry: registry).routes,
        PromotionRoutes(registry: registry).routes,
        RolloutRoutes(registry: registry).routes,
        AuditRoutes(registry: registry, checkpointKey: arguments.checkpointKey, origin: arguments.checkpointOrigin).routes,
        TokenRoutes(registry: registry).routes,
        BackupRoutes(registry: registry).routes,
        EventRoutes(registry: registry, hub: events, heartbeat: arguments.eventHeartbeat).routes,
        WebhookRoutes(registry: registry, settings: arguments.webhooks, sends: webhooks?.sends) { webhooks?.refresh() }.routes,
    ].flatMap { $0 }
}

/// The server's responder: every route of `apiRoutes` inside `RoutePipeline`, and everything
/// inside the access log and metrics (`ObservabilityMiddleware`) and the problem documents
/// (`ProblemMiddleware`).
func buildResponder(
    registry: Registry, metrics: ServerMetrics, events: EventHub, webhooks: WebhookDispatcher? = nil, arguments: ServerArguments = ServerArguments()
) -> APIRouter {
    let middleware = RoutePipeline.middleware(registry: registry)
    let routes = apiRoutes(registry: registry, metrics: metrics, events: events, webhooks: webhooks, arguments: arguments)
    return APIRouter(routes: routes, metrics: metrics) { route in
        RoutePipeline.compose(route, middleware)
    }
}

/// The application `mreg serve` runs and the tests drive.
/// - Parameters:
///   - onServerRunning: called with the bound port (useful with port 0).
/// - Throws: `INVALID_ARGUMENT` when the TLS files cannot be used; `UNAVAILABLE` when the
///   audit log cannot be read.
public func buildApplication(
    _ arguments: ServerArguments, registry: Registry, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws(RegistryError) -> some ApplicationProtocol {
    var logger = Logger(label: "mreg")
    logger.logLevel = arguments.logLevel
    let metrics = ServerMetrics()
    let events = try EventHub(registry: registry)
    let webhooks = arguments.webhooks.secretsKey.map { key in
        WebhookDispatcher(registry: registry, hub: events, settings: arguments.webhooks, key: key, metrics: metrics)
    }
    let server: HTTPServerBuilder
    if let tls = arguments.tls {
        do {
            server = try .tls(.http1(), tlsConfiguration: tls)
        } catch {
            throw RegistryError(.invalidArgument, "the TLS certificate and key cannot be used together: \(error)")
        }
    } else {
        server = .http1()
    }
    return Application(
        responder: buildResponder(registry: registry, metrics: metrics, events: events, webhooks: webhooks, arguments: arguments),
        server: server,
        configuration: .init(address: .hostname(arguments.host, port: arguments.port), serverName: "mreg"),
        services: [events as any Service, RolloutController(registry: registry, prometheus: arguments.prometheusURL.map { PrometheusClient(url: $0) }, metrics: metrics)] + (webhooks.map { [$0] } ?? []),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? arguments.port) },
        logger: logger)
}
