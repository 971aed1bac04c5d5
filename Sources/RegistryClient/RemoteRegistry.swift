import Foundation
import Synchronization
import NIOHTTP1
import RegistryCore

/// The registry behind an `mreg serve`, reached over its REST API: the CLI's remote mode.
///
/// Each operation answers with the same type `Registry` answers with on a file, decoded from
/// the server's JSON, so the CLI renders both the same way. The actor of every change is the
/// token's name.
public struct RemoteRegistry: Sendable {
    private let transport: HTTPTransport

    /// The server's base URL as given (`https://mreg.example.com`).
    public var server: String { transport.server }

    /// - Parameters:
    ///   - server: `http://` or `https://` and the server's address.
    ///   - token: the bearer token; `nil` sends none (the server refuses every `/v1` route).
    ///   - caCertificateFile: a PEM file of CA certificates to trust instead of the system's.
    ///   - timeout: how long to wait for a connection, and for an answer.
    /// - Throws: `INVALID_ARGUMENT` for a URL or CA file that cannot be used.
    public init(
        server: String, token: String?, caCertificateFile: String? = nil, timeout: Duration = .seconds(30),
        retry: RetryPolicy = RetryPolicy()
    ) throws(RegistryError) {
        transport = try HTTPTransport(server: server, token: token, caCertificateFile: caCertificateFile, timeout: timeout, retry: retry)
    }

    /// Closes the connections. Call it once done.
    public func shutdown() async {
        await transport.shutdown()
    }

    // MARK: Models and versions

    public func createModel(name: String, description: String) async throws(RegistryError) -> Model {
        struct Body: JSONWritable { let name: String; let description: String }
        return try await creating(Model.self, "/v1/models", Body(name: name, description: description))
    }

    public func models(limit: Int, cursor: String?) async throws(RegistryError) -> Page<Model> {
        try await get(Page<Model>.self, "/v1/models", query: page(limit: limit, cursor: cursor))
    }

    public func model(named name: String) async throws(RegistryError) -> Model {
        try await get(Model.self, modelPath(name))
    }

    public func register(model name: String, _ request: RegisterRequest) async throws(RegistryError) -> ModelVersion {
        try await creating(ModelVersion.self, modelPath(name, "versions"), request)
    }

    public func versions(model name: String, limit: Int, cursor: String?) async throws(RegistryError) -> Page<ModelVersion> {
        try await get(Page<ModelVersion>.self, modelPath(name, "versions"), query: page(limit: limit, cursor: cursor))
    }

    public func version(model name: String, _ ref: VersionRef) async throws(RegistryError) -> ModelVersion {
        try await get(ModelVersion.self, modelPath(name, "versions", ref.description))
    }

    public func deprecate(model name: String, version number: Int, reason: String) async throws(RegistryError) -> ModelVersion {
        struct Body: JSONWritable { let reason: String }
        return try await change(ModelVersion.self, modelPath(name, "versions", String(number), "deprecate"), Body(reason: reason))
    }

    // MARK: Reports

    /// Uploads the document itself, so the server keeps the same bytes (and `sha256`) a local
    /// upload keeps.
    public func addReport(model name: String, version number: Int, _ upload: ReportUpload, what: String) async throws(RegistryError) -> TestReport {
        // Read here first, so that a bad document is refused naming the file, before anything is sent.
        _ = try upload.submission(what: what)
        var query = upload.suite.map { [("suite", $0)] } ?? []
        query += upload.metrics.sorted { $0.key < $1.key }.map { ("metric", MetricAssignment(name: $0.key, value: $0.value).text) }
        return try await transport.json(TestReport.self, .init(
            method: .POST, path: modelPath(name, "versions", String(number), "reports"), query: query, body: upload.document,
            contentType: upload.format == .junit ? "application/xml" : "application/json", safety: .idempotent,
            idempotencyKey: Self.newIdempotencyKey()))
    }

    public func reports(model name: String, version number: Int) async throws(RegistryError) -> [TestReport] {
        try await get(Page<TestReport>.self, modelPath(name, "versions", String(number), "reports")).items
    }

    // MARK: Promotion, history, policy

    public func promote(model name: String, _ request: PromoteRequest) async throws(RegistryError) -> TransitionResult {
        try await change(TransitionResult.self, modelPath(name, "promote"), request)
    }

    public func rollback(model name: String, _ request: RollbackRequest) async throws(RegistryError) -> TransitionResult {
        try await change(TransitionResult.self, modelPath(name, "rollback"), request)
    }

    public func diff(model name: String, from: VersionRef, to: VersionRef) async throws(RegistryError) -> VersionDiff {
        try await get(VersionDiff.self, modelPath(name, "diff"), query: [("from", from.description), ("to", to.description)])
    }

    public func history(model name: String, branch: Branch?, limit: Int, cursor: String?) async throws(RegistryError) -> History {
        let query = (branch.map { [("branch", $0.rawValue)] } ?? []) + page(limit: limit, cursor: cursor)
        return try await get(History.self, modelPath(name, "history"), query: query)
    }

    public func branches(model name: String, at time: Timestamp) async throws(RegistryError) -> BranchesAt {
        try await get(BranchesAt.self, modelPath(name, "history"), query: [("at", time.description)])
    }

    public func setPolicy(model name: String, document: String) async throws(RegistryError) -> PolicyRevision {
        try await transport.json(PolicyRevision.self, .init(
            method: .PUT, path: modelPath(name, "policy"), body: Array(document.utf8), contentType: "application/yaml",
            safety: .onlyIfUnsent))
    }

    public func policy(model name: String, revision: Int?) async throws(RegistryError) -> PolicyRevision {
        try await get(PolicyRevision.self, modelPath(name, "policy"), query: revision.map { [("revision", String($0))] } ?? [])
    }

    public func approve(model name: String, version number: Int, to: Branch, comment: String) async throws(RegistryError) -> Approval {
        struct Body: JSONWritable { let to: Branch; let comment: String }
        return try await creating(Approval.self, modelPath(name, "versions", String(number), "approvals"), Body(to: to, comment: comment))
    }

    // MARK: Rollouts

    public func startRollout(model name: String, _ request: RolloutStartRequest) async throws(RegistryError) -> Rollout {
        try await creating(Rollout.self, modelPath(name, "rollout"), request)
    }

    public func rollout(model name: String) async throws(RegistryError) -> Rollout {
        try await get(Rollout.self, modelPath(name, "rollout"))
    }

    public func rolloutHistory(model name: String, rollout id: Int?) async throws(RegistryError) -> [AuditEntry] {
        try await get(Page<AuditEntry>.self, modelPath(name, "rollout", "history"), query: id.map { [("rollout", String($0))] } ?? []).items
    }

    public func advanceRollout(model name: String) async throws(RegistryError) -> Rollout {
        try await change(Rollout.self, modelPath(name, "rollout", "advance"), nil as Empty?)
    }

    public func pauseRollout(model name: String) async throws(RegistryError) -> Rollout {
        try await change(Rollout.self, modelPath(name, "rollout", "pause"), nil as Empty?)
    }

    public func resumeRollout(model name: String) async throws(RegistryError) -> Rollout {
        try await change(Rollout.self, modelPath(name, "rollout", "resume"), nil as Empty?)
    }

    public func abortRollout(model name: String, reason: String) async throws(RegistryError) -> Rollout {
        struct Body: JSONWritable { let reason: String }
        return try await change(Rollout.self, modelPath(name, "rollout", "abort"), Body(reason: reason))
    }

    public func observeRollout(model name: String, metrics: [String: Double], target: Rollout.Target) async throws(RegistryError) -> Rollout {
        struct Body: JSONWritable { let metrics: [String: Double]; let target: Rollout.Target }
        return try await change(Rollout.self, modelPath(name, "rollout", "observe"), Body(metrics: metrics, target: target))
    }

    public func resolve(model name: String, key: String) async throws(RegistryError) -> Resolution {
        try await get(Resolution.self, modelPath(name, "resolve"), query: [("key", key)])
    }

    // MARK: Audit

    public func auditLog(_ query: AuditQuery) async throws(RegistryError) -> Page<AuditEntry> {
        var items: [(String, String)] = []
        if let model = query.model { items.append(("model", model)) }
        if let actor = query.actor { items.append(("actor", actor)) }
        if let action = query.action { items.append(("action", action)) }
        if let since = query.since { items.append(("since", since.description)) }
        if let until = query.until { items.append(("until", until.description)) }
        return try await get(Page<AuditEntry>.self, "/v1/audit", query: items + page(limit: query.limit, cursor: query.cursor))
    }

    public func verifyAudit(state: Bool) async throws(RegistryError) -> AuditVerification {
        try await get(AuditVerification.self, "/v1/audit/verify", query: state ? [("state", "true")] : [])
    }

    public func verifyAudit(checkpoint: AuditCheckpoint, publicKey: String, state: Bool) async throws(RegistryError) -> AuditVerification {
        // Verifying changes nothing, so it is as safe to repeat as a GET.
        try await transport.json(AuditVerification.self, .init(
            method: .POST, path: "/v1/audit/verify",
            body: JSONCoding.bytes(CheckpointVerificationRequest(checkpoint: checkpoint, publicKey: publicKey, state: state ? true : nil)),
            safety: .idempotent))
    }

    /// The server signs with its own key (`mreg serve --checkpoint-key`) and origin.
    public func checkpoint() async throws(RegistryError) -> AuditCheckpoint {
        try await transport.json(AuditCheckpoint.self, .init(method: .POST, path: "/v1/audit/checkpoint", safety: .idempotent))
    }

    /// Streams the whole log as the server writes it.
    public func exportAudit(_ format: AuditExport.Format, write: @escaping @Sendable ([UInt8]) async throws -> Void) async throws(RegistryError) {
        try await transport.stream(.init(method: .GET, path: "/v1/audit/export", query: [("format", format.rawValue)], safety: .idempotent), to: write)
    }

    // MARK: Events

    /// The server's events (`GET /v1/events`) after `since` — nil: from now on — that `filter`
    /// lets through, handed to `receive` in order, each once. Without `follow` it ends at the
    /// log's head as it was when the stream began (a connection that drops before is an error).
    /// With `follow` it reads until cancelled: when the connection drops or the server restarts
    /// it connects again with `Last-Event-ID` set to the last event it had, for as long as
    /// `reconnectFor` passes without the server answering.
    public func events(
        after since: Int?, _ filter: EventFilter, follow: Bool, reconnectFor patience: Duration = .seconds(60),
        receive: @escaping @Sendable (AuditEntry) async -> Void
    ) async throws(RegistryError) {
        var query = [("follow", String(follow))]
        if let model = filter.model { query.append(("model", model)) }
        if !filter.types.isEmpty { query.append(("types", filter.types.joined(separator: ","))) }
        var resumeAfter = since
        var generator = SystemRandomNumberGenerator()
        var attempt = 0
        var lastAnswer = ContinuousClock.now
        while true {
            var request = HTTPTransport.Request(method: .GET, path: "/v1/events", query: query, safety: .idempotent)
            request.headers = [("Accept", "text/event-stream")]
            if let resumeAfter { request.headers.append(("Last-Event-ID", String(resumeAfter))) }
            // A connection of its own: what a dropped one left half-parsed is dropped with it.
            let connection = EventConnection(after: resumeAfter)
            do {
                try await transport.stream(request) { piece in try await connection.feed(piece, to: receive) }
                guard follow else { return }
            } catch where follow && error.code == .unavailable {
                // Only connections the server never answered count against the patience.
                guard connection.answered || ContinuousClock.now - lastAnswer < patience else { throw error }
            }
            if connection.answered {
                lastAnswer = .now
                attempt = 0
            }
            resumeAfter = connection.seq
            attempt += 1
            do {
                try await Task.sleep(for: transport.retry.delay(after: attempt, using: &generator))
            } catch {
                return  // cancelled: the caller is done
            }
        }
    }

    // MARK: Backup

    /// Writes a consistent copy of the server's database to a new file at `path`; a copy cut
    /// short is removed, never left looking like a backup.
    /// - Throws: `ALREADY_EXISTS` when `path` exists, `UNAVAILABLE` when it cannot be written.
    public func backup(to path: String) async throws(RegistryError) {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw RegistryError(.alreadyExists, "\(path) already exists; choose a new file for the backup")
        }
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
            let file = FileHandle(forWritingAtPath: path)
        else {
            throw RegistryError(.unavailable, "cannot write the backup to \(path)")
        }
        do {
            try await transport.stream(.init(method: .GET, path: "/v1/backup", safety: .idempotent)) { piece in
                try file.write(contentsOf: piece)
            }
            // Durable before it is called a backup.
            try file.synchronize()
            try file.close()
            guard FileManager.default.contents(atPath: path)?.prefix(16) == Data("SQLite format 3\0".utf8) else {
                throw RegistryError(.unavailable, "\(server) did not send an SQLite database")
            }
        } catch {
            try? file.close()
            try? FileManager.default.removeItem(atPath: path)
            throw error as? RegistryError ?? RegistryError(.unavailable, "cannot write the backup to \(path): \(error.localizedDescription)")
        }
    }

    // MARK: Tokens

    /// Not retried once sent: a repeat would make a second token.
    public func createToken(name: String, role: Role) async throws(RegistryError) -> IssuedToken {
        try await change(IssuedToken.self, "/v1/tokens", TokenRequest(name: name, role: role))
    }

    public func tokens() async throws(RegistryError) -> [APIToken] {
        try await get(Page<APIToken>.self, "/v1/tokens").items
    }

    public func revokeToken(id: String) async throws(RegistryError) -> APIToken {
        try await change(APIToken.self, "/v1/tokens/\(HTTPTransport.pathEscaped(id))/revoke", nil as Empty?)
    }

    // MARK: Webhooks

    /// Not retried once sent: a repeat would make a second subscription.
    public func addWebhook(_ request: WebhookRequest) async throws(RegistryError) -> IssuedWebhook {
        try await change(IssuedWebhook.self, "/v1/webhooks", request)
    }

    public func webhooks() async throws(RegistryError) -> [Webhook] {
        try await get(Page<Webhook>.self, "/v1/webhooks").items
    }

    public func webhook(id: String) async throws(RegistryError) -> Webhook {
        try await get(Webhook.self, webhookPath(id))
    }

    public func enableWebhook(id: String) async throws(RegistryError) -> Webhook {
        try await change(Webhook.self, webhookPath(id, "enable"), nil as Empty?)
    }

    public func disableWebhook(id: String, reason: String?) async throws(RegistryError) -> Webhook {
        try await change(Webhook.self, webhookPath(id, "disable"), DisableWebhookRequest(reason: reason))
    }

    public func removeWebhook(id: String) async throws(RegistryError) -> Webhook {
        try await transport.json(Webhook.self, .init(method: .DELETE, path: webhookPath(id), safety: .onlyIfUnsent))
    }

    public func webhookDeliveries(id: String, limit: Int, cursor: String?) async throws(RegistryError) -> Page<WebhookDelivery> {
        try await get(Page<WebhookDelivery>.self, webhookPath(id, "deliveries"), query: page(limit: limit, cursor: cursor))
    }

    public func testWebhook(id: String) async throws(RegistryError) -> WebhookDelivery {
        try await change(WebhookDelivery.self, webhookPath(id, "test"), nil as Empty?)
    }

    public func redeliverWebhook(id: String, event seq: Int) async throws(RegistryError) -> WebhookDelivery {
        try await change(WebhookDelivery.self, webhookPath(id, "redeliver"), RedeliverRequest(event: seq))
    }

    private func webhookPath(_ id: String, _ rest: String...) -> String {
        (["/v1/webhooks", HTTPTransport.pathEscaped(id)] + rest).joined(separator: "/")
    }

    // MARK: Requests

    private struct Empty: JSONWritable {}

    private func modelPath(_ name: String, _ rest: String...) -> String {
        "/v1/models/" + ([name] + rest).map(HTTPTransport.pathEscaped).joined(separator: "/")
    }

    private func page(limit: Int, cursor: String?) -> [(String, String)] {
        [("limit", String(limit))] + (cursor.map { [("cursor", $0)] } ?? [])
    }

    private func get<T: Decodable>(_ type: T.Type, _ path: String, query: [(String, String)] = []) async throws(RegistryError) -> T {
        try await transport.json(type, .init(method: .GET, path: path, query: query, safety: .idempotent))
    }

    /// A creating POST: it carries a fresh `Idempotency-Key`, so it may be retried.
    private func creating<T: Decodable, B: JSONWritable>(_ type: T.Type, _ path: String, _ body: B) async throws(RegistryError) -> T {
        try await transport.json(type, .init(
            method: .POST, path: path, body: JSONCoding.bytes(body), safety: .idempotent, idempotencyKey: Self.newIdempotencyKey()))
    }

    /// Any other change: sent again only if it cannot have reached the server.
    private func change<T: Decodable, B: JSONWritable>(_ type: T.Type, _ path: String, _ body: B?) async throws(RegistryError) -> T {
        try await transport.json(type, .init(method: .POST, path: path, body: body.map { JSONCoding.bytes($0) }, safety: .onlyIfUnsent))
    }

    static func newIdempotencyKey() -> String { "mreg-cli-" + UUID().uuidString.lowercased() }
}

/// One connection to the event stream: where it stands (the last event received, or where the
/// server said the stream began) and the messages being parsed.
private final class EventConnection: Sendable {
    private struct State {
        var seq: Int?
        var answered = false
        var parser = ServerSentEvents()
    }

    private let state: Mutex<State>

    init(after seq: Int?) { state = Mutex(State(seq: seq)) }

    /// The event to resume after.
    var seq: Int? { state.withLock { $0.seq } }
    /// Whether the server began the stream (its opening comment came).
    var answered: Bool { state.withLock { $0.answered } }

    /// Parses `piece` and hands each event it completes to `receive`, once: an event at or
    /// before the last one handed over is passed over.
    func feed(_ piece: [UInt8], to receive: @Sendable (AuditEntry) async -> Void) async throws {
        let messages = state.withLock { state in
            let messages = state.parser.feed(piece)
            if !state.answered, let comment = state.parser.lastComment, comment.hasPrefix("mreg events after ") {
                state.answered = true
                // Where the stream began: a resume before any event must start there, not at
                // the head of the log as it is by then.
                if state.seq == nil { state.seq = Int(comment.dropFirst("mreg events after ".count)) }
            }
            return messages
        }
        for message in messages {
            let entry: AuditEntry
            do {
                entry = try JSONCoding.decode(AuditEntry.self, from: Array(message.data.utf8))
            } catch {
                throw RegistryError(.unavailable, "the event stream sent an event mreg cannot read (\(error))")
            }
            guard entry.seq > (seq ?? 0) else { continue }
            await receive(entry)
            state.withLock { $0.seq = entry.seq }
        }
    }
}
