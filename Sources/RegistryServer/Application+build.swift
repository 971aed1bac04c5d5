import Hummingbird
import Logging
import RegistryCore

/// Where and how `mreg serve` listens.
public struct ServerArguments: Sendable {
    public var host: String
    public var port: Int
    public var logLevel: Logger.Level
    /// Base64 Ed25519 private key for `POST /v1/audit/checkpoint`; without it that route answers 503.
    public var checkpointKey: String?
    public var checkpointOrigin: String

    public init(
        host: String = "127.0.0.1", port: Int = 8080, logLevel: Logger.Level = .info, checkpointKey: String? = nil,
        checkpointOrigin: String = "mreg"
    ) {
        self.host = host
        self.port = port
        self.logLevel = logLevel
        self.checkpointKey = checkpointKey
        self.checkpointOrigin = checkpointOrigin
    }
}

/// Every route of the API, in one list: method, path, required role, handler.
func apiRoutes(registry: Registry, metrics: ServerMetrics, arguments: ServerArguments = ServerArguments()) -> [Route] {
    OperationsRoutes(registry: registry, metrics: metrics).routes
        + ModelRoutes(registry: registry).routes
        + PromotionRoutes(registry: registry).routes
        + RolloutRoutes(registry: registry).routes
        + AuditRoutes(registry: registry, checkpointKey: arguments.checkpointKey, origin: arguments.checkpointOrigin).routes
        + TokenRoutes(registry: registry).routes
}

/// The server's responder: every route of `apiRoutes`, inside the access log and metrics
/// (`ObservabilityMiddleware`) and the problem documents (`ProblemMiddleware`).
func buildResponder(registry: Registry, metrics: ServerMetrics, arguments: ServerArguments = ServerArguments()) -> APIRouter {
    APIRouter(routes: apiRoutes(registry: registry, metrics: metrics, arguments: arguments), metrics: metrics) { route, request, context in
        try await route.respond(to: request, context: context, registry: registry)
    }
}

/// The application `mreg serve` runs and the tests drive.
/// - Parameters:
///   - onServerRunning: called with the bound port (useful with port 0).
public func buildApplication(
    _ arguments: ServerArguments, registry: Registry, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    var logger = Logger(label: "mreg")
    logger.logLevel = arguments.logLevel
    let metrics = ServerMetrics()
    return Application(
        responder: buildResponder(registry: registry, metrics: metrics, arguments: arguments),
        configuration: .init(address: .hostname(arguments.host, port: arguments.port), serverName: "mreg"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? arguments.port) },
        logger: logger)
}
