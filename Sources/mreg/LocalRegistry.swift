import RegistryCore
import RegistryServer

/// The registry on the database file, acting as `caller`.
struct LocalRegistry: RegistryService {
    let registry: Registry
    let caller: Caller

    func createModel(name: String, description: String) async throws(RegistryError) -> Model {
        try await registry.createModel(name: name, description: description, by: caller)
    }

    func models(limit: Int, cursor: String?) throws(RegistryError) -> Page<Model> { try registry.models(limit: limit, cursor: cursor) }
    func model(named name: String) throws(RegistryError) -> Model { try registry.model(named: name) }

    func register(model name: String, _ request: RegisterRequest) async throws(RegistryError) -> ModelVersion {
        try await registry.register(model: name, request, by: caller)
    }

    func versions(model name: String, limit: Int, cursor: String?) throws(RegistryError) -> Page<ModelVersion> {
        try registry.versions(model: name, limit: limit, cursor: cursor)
    }

    func version(model name: String, _ ref: VersionRef) throws(RegistryError) -> ModelVersion { try registry.version(model: name, ref) }

    func deprecate(model name: String, version number: Int, reason: String) async throws(RegistryError) -> ModelVersion {
        try await registry.deprecate(model: name, version: number, reason: reason, by: caller)
    }

    func addReport(model name: String, version number: Int, _ upload: ReportUpload, what: String) async throws(RegistryError) -> TestReport {
        try await registry.addReport(model: name, version: number, upload, what: what, by: caller)
    }

    func reports(model name: String, version number: Int) throws(RegistryError) -> [TestReport] {
        try registry.reports(model: name, version: number)
    }

    func promote(model name: String, _ request: PromoteRequest) async throws(RegistryError) -> TransitionResult {
        try await registry.promote(model: name, request, by: caller)
    }

    func rollback(model name: String, _ request: RollbackRequest) async throws(RegistryError) -> TransitionResult {
        try await registry.rollback(model: name, request, by: caller)
    }

    func diff(model name: String, from: VersionRef, to: VersionRef) throws(RegistryError) -> VersionDiff {
        try registry.diff(model: name, from: from, to: to)
    }

    func history(model name: String, branch: Branch?, limit: Int, cursor: String?) throws(RegistryError) -> History {
        try registry.history(model: name, branch: branch, limit: limit, cursor: cursor)
    }

    func branches(model name: String, at time: Timestamp) throws(RegistryError) -> BranchesAt { try registry.branches(model: name, at: time) }

    func setPolicy(model name: String, document: String) async throws(RegistryError) -> PolicyRevision {
        try await registry.setPolicy(model: name, document: document, by: caller)
    }

    func policy(model name: String, revision: Int?) throws(RegistryError) -> PolicyRevision {
        try registry.policy(model: name, revision: revision)
    }

    func approve(model name: String, version number: Int, to: Branch, comment: String) async throws(RegistryError) -> Approval {
        try await registry.approve(model: name, version: number, to: to, comment: comment, by: caller)
    }

    func startRollout(model name: String, _ request: RolloutStartRequest) async throws(RegistryError) -> Rollout {
        try await registry.startRollout(model: name, request, by: caller)
    }

    func rollout(model name: String) throws(RegistryError) -> Rollout { try registry.rollout(model: name) }
    func rolloutHistory(model name: String, rollout id: Int?) throws(RegistryError) -> [AuditEntry] {
        try registry.rolloutHistory(model: name, rollout: id)
    }
    func advanceRollout(model name: String) async throws(RegistryError) -> Rollout { try await registry.advanceRollout(model: name, by: caller) }
    func pauseRollout(model name: String) async throws(RegistryError) -> Rollout { try await registry.pauseRollout(model: name, by: caller) }
    func resumeRollout(model name: String) async throws(RegistryError) -> Rollout { try await registry.resumeRollout(model: name, by: caller) }

    func abortRollout(model name: String, reason: String) async throws(RegistryError) -> Rollout {
        try await registry.abortRollout(model: name, reason: reason, by: caller)
    }

    func observeRollout(model name: String, metrics: [String: Double], target: Rollout.Target) async throws(RegistryError) -> Rollout {
        try await registry.observeRollout(model: name, metrics: metrics, target: target, by: caller)
    }

    func resolve(model name: String, key: String) throws(RegistryError) -> Resolution { try registry.resolve(model: name, key: key) }
    func auditLog(_ query: AuditQuery) throws(RegistryError) -> Page<AuditEntry> { try registry.auditLog(query) }
    func verifyAudit(state: Bool) throws(RegistryError) -> AuditVerification { try registry.verifyAudit(state: state) }

    func verifyAudit(checkpoint: AuditCheckpoint, publicKey: String, state: Bool) throws(RegistryError) -> AuditVerification {
        try registry.verifyAudit(checkpoint: checkpoint, publicKey: publicKey, state: state)
    }

    /// On a file, following is looking at the log's head every `followInterval` (the file may
    /// be changed by any process; a server's streams are woken by its commits instead).
    func events(after since: Int?, _ filter: EventFilter, follow: Bool, receive: @escaping @Sendable (AuditEntry) async -> Void)
        async throws(RegistryError)
    {
        var cursor = try registry.eventStart(after: since).after
        while true {
            let head = try registry.auditHead()
            while cursor < head {
                let page = try registry.events(after: cursor, through: head, filter)
                for entry in page.events { await receive(entry) }
                cursor = page.through
            }
            guard follow else { return }
            do { try await Task.sleep(for: Self.followInterval) } catch { return }
        }
    }

    static let followInterval = Duration.milliseconds(200)

    func exportAudit(_ format: AuditExport.Format, write: @escaping @Sendable ([UInt8]) async throws -> Void) async throws(RegistryError) {
        do {
            try await registry.exportAudit(format, write: write)
        } catch let error as RegistryError {
            throw error
        } catch {
            throw RegistryError(.unavailable, "the export stopped: \(error)")
        }
    }

    func checkpoint(privateKey: String?, origin: String?) throws(RegistryError) -> AuditCheckpoint {
        guard let privateKey else {
            throw RegistryError(.invalidArgument, "give the private key to sign with: --key FILE (mreg audit keygen makes one)")
        }
        return try registry.checkpoint(privateKey: privateKey, origin: origin ?? "mreg")
    }

    func backup(to path: String) throws(RegistryError) { try registry.backup(to: path) }

    func createToken(name: String, role: Role) async throws(RegistryError) -> IssuedToken { try await registry.createToken(name: name, role: role, by: caller) }
    func tokens() throws(RegistryError) -> [APIToken] { try registry.tokens() }
    func revokeToken(id: String) async throws(RegistryError) -> APIToken { try await registry.revokeToken(id: id, by: caller) }

    func addWebhook(_ request: WebhookRequest, secretsKey: String?) async throws(RegistryError) -> IssuedWebhook {
        // The person at this machine chooses where the file's webhooks point; the server, which
        // sends, still refuses what it does not allow.
        try await registry.addWebhook(request, allowPrivate: true, by: caller) { () throws(RegistryError) in try key(secretsKey, create: true) }
    }

    func webhooks() throws(RegistryError) -> [Webhook] { try registry.webhooks() }
    func webhook(id: String) throws(RegistryError) -> Webhook { try registry.webhook(id: id) }
    func enableWebhook(id: String) async throws(RegistryError) -> Webhook { try await registry.enableWebhook(id: id, by: caller) }

    func disableWebhook(id: String, reason: String?) async throws(RegistryError) -> Webhook {
        try await registry.disableWebhook(id: id, reason: reason, by: caller)
    }

    func removeWebhook(id: String) async throws(RegistryError) -> Webhook { try await registry.removeWebhook(id: id, by: caller) }

    func webhookDeliveries(id: String, limit: Int, cursor: String?) throws(RegistryError) -> Page<WebhookDelivery> {
        try registry.webhookDeliveries(id: id, limit: limit, cursor: cursor)
    }

    func testWebhook(id: String, secretsKey: String?) async throws(RegistryError) -> WebhookDelivery {
        try caller.require(.admin, to: "test webhooks")
        let key = try key(secretsKey, create: false)
        return try await sendOnce(key: key) { sends throws(RegistryError) in try await sends.test(id, by: caller) }
    }

    func redeliverWebhook(id: String, event seq: Int, secretsKey: String?) async throws(RegistryError) -> WebhookDelivery {
        try caller.require(.admin, to: "redeliver webhooks")
        let key = try key(secretsKey, create: false)
        return try await sendOnce(key: key) { sends throws(RegistryError) in try await sends.redeliver(id, event: seq) }
    }

    /// Sends from this process, to any address: it is the user's own machine sending.
    private func sendOnce(
        key: SecretsKey, _ body: (WebhookSends) async throws(RegistryError) -> WebhookDelivery
    ) async throws(RegistryError) -> WebhookDelivery {
        let sends = WebhookSends(registry: registry, key: key, settings: WebhookSettings(secretsKey: key, allowPrivate: true))
        let result: Result<WebhookDelivery, RegistryError>
        do throws(RegistryError) { result = .success(try await body(sends)) } catch { result = .failure(error) }
        await sends.shutdown()
        return try result.get()
    }

    /// The secrets key of the file: `path`, else the database's path with `.secrets-key` added.
    private func key(_ path: String?, create: Bool) throws(RegistryError) -> SecretsKey {
        try SecretsKey.load(from: path ?? registry.database.path + ".secrets-key", createIfMissing: create)
    }
}
