import Hummingbird
import RegistryCore

/// The request context of the REST API: who is calling and the request id.
public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set once the bearer token has been checked; `nil` on public routes.
    public var caller: Caller?
    /// Echoed in the `X-Request-ID` header and every log line of the request.
    public var requestID: String

    public init(source: Source) {
        self.coreContext = .init(source: source)
        self.caller = nil
        self.requestID = ""
    }
}
