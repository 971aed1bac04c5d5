import Hummingbird
import RegistryCore
import Synchronization

/// The request context of the REST API: who is calling and the request id.
public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set once the bearer token has been checked; `nil` on public routes.
    public var caller: Caller?
    /// Echoed in the `X-Request-ID` header and every log line of the request.
    public var requestID: String
    /// What the route learns that the access log, written outside it, reports.
    public let record = RequestRecord()

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.caller = nil
        self.requestID = ""
    }
}

/// Shared by every copy of one request's context: the middleware around the route hands the
/// route a copy, so what the route sets on its copy (`caller`) never reaches the access log.
public final class RequestRecord: Sendable {
    private let actorName = Mutex<String?>(nil)

    /// The authenticated caller's name, once the route has checked the token.
    public var actor: String? {
        get { actorName.withLock { $0 } }
        set { actorName.withLock { $0 = newValue } }
    }
}
