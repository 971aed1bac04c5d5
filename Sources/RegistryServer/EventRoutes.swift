import HTTPTypes
import RegistryCore
import ServiceLifecycle

/// The live event stream: the audit log as Server-Sent Events (contract section 10,
/// docs/EVENTS.md).
struct EventRoutes {
    let registry: Registry
    let hub: EventHub
    /// How long a stream may stay silent before it sends a comment to keep the connection open.
    let heartbeat: Duration

    var routes: [Route] {
        [
            Route(.get, "/v1/events", role: .reader) { request in
                let filter = try EventFilter(model: request.query("model"), types: request.query("types"))
                let follow = try request.boolQuery("follow", default: true)
                let (after, head) = try registry.eventStart(after: try Self.start(request))
                // Without follow the stream ends at the log's head as it is now.
                let last = follow ? Int.max : head
                return .streaming(
                    contentType: "text/event-stream", headers: [.cacheControl: "no-cache"]
                ) { write in
                    try await stream(after: after, through: last, filter, write)
                }
            }
        ]
    }

    /// Where a stream starts: after `Last-Event-ID` when a client resumes, else after `since`;
    /// nil for the log's head (only what happens from now on).
    static func start(_ request: APIRequest) throws(RegistryError) -> Int? {
        func seq(_ text: String, _ name: String) throws(RegistryError) -> Int {
            guard let number = Int(text), number >= 0 else {
                throw RegistryError(.invalidArgument, "\(name) must be an event id (an audit seq, 0 or more), not \"\(text)\"")
            }
            return number
        }
        if let resumed = request.header(.lastEventID) { return try seq(resumed, "Last-Event-ID") }
        return try request.query("since").map { (text: String) throws(RegistryError) in try seq(text, "since") }
    }

    /// Writes the events after `seq` through `last` that `filter` lets through, in order, each
    /// once, then waits for more: until `last`, the client leaves (a write fails) or the server
    /// shuts down.
    func stream(after seq: Int, through last: Int, _ filter: EventFilter, _ write: ([UInt8]) async throws -> Void) async throws {
        try await hub.counting {
            try await withGracefulShutdownHandler {
                var cursor = seq
                // The id line makes a browser's EventSource resume from here even if the
                // connection drops before the first event that passes the filter.
                try await write(Array(": mreg events after \(cursor)\nid: \(cursor)\nretry: 1000\n\n".utf8))
                var lastWrite = ContinuousClock.now
                let follow = last == .max
                // A followed stream ends when the server shuts down; one that ends at a given
                // seq is finished first, so that ending early never looks like ending.
                while cursor < last, !(follow && hub.stopped) {
                    // Timed from the last write, not from the last wake: a stream whose filter
                    // passes over a busy log's events still needs them, and a write is how a
                    // connection the client has left is found and closed.
                    if ContinuousClock.now - lastWrite >= heartbeat {
                        try await write(Self.heartbeatComment)
                        lastWrite = .now
                    }
                    let page = try hub.messages(after: cursor, through: last, filter)
                    if !page.bytes.isEmpty {
                        try await write(page.bytes)
                        lastWrite = .now
                    }
                    if page.through > cursor {
                        cursor = page.through
                        continue
                    }
                    await hub.wait(after: cursor, until: lastWrite + heartbeat)
                }
            } onGracefulShutdown: {
                // The server is going down: end every stream so that draining does not wait on them.
                hub.stop()
            }
        }
    }

    static let heartbeatComment = Array(": heartbeat\n\n".utf8)
}

extension HTTPField.Name {
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
}
