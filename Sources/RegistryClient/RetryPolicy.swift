/// How often, and how long apart, the CLI tries a request again after a failure that may pass
/// (a dropped connection, a timeout, a proxy's 502/503/504).
///
/// Exponential backoff with full jitter (each wait is drawn between zero and the doubled
/// bound), so that many CI runners retrying together do not arrive together.
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts in all, the first included.
    public var attempts: Int
    /// The bound of the first wait; each later bound doubles, up to `maximumDelay`.
    public var baseDelay: Duration
    public var maximumDelay: Duration

    public init(attempts: Int = 4, baseDelay: Duration = .milliseconds(200), maximumDelay: Duration = .seconds(2)) {
        self.attempts = max(1, attempts)
        self.baseDelay = baseDelay
        self.maximumDelay = maximumDelay
    }

    /// The bound of the wait before attempt `attempt + 1` (`attempt` counts from 1).
    public func delayBound(after attempt: Int) -> Duration {
        let doubled = baseDelay * (1 << min(max(attempt - 1, 0), 20))
        return min(doubled, maximumDelay)
    }

    /// A wait drawn uniformly from zero to `delayBound(after:)`.
    func delay<G: RandomNumberGenerator>(after attempt: Int, using generator: inout G) -> Duration {
        let bound = delayBound(after: attempt).components
        let boundNanoseconds = bound.seconds * 1_000_000_000 + bound.attoseconds / 1_000_000_000
        return .nanoseconds(Int64.random(in: 0...max(boundNanoseconds, 0), using: &generator))
    }
}

/// Whether a request may be sent again when its first attempt failed.
enum RetrySafety: Sendable {
    /// A GET, or a creating POST with an `Idempotency-Key`: the server answers a repeat with the
    /// first answer, so trying again never writes twice.
    case idempotent
    /// Any other change: tried again only when it cannot have reached the server (the
    /// connection was never made), so that an answer lost on the way back is never repeated.
    case onlyIfUnsent
}
