import RegistryClient
import RegistryCore

/// What a command asks of the registry, wherever it is: the database file (`LocalRegistry`) or
/// a server (`RemoteRegistry`, the CLI's remote mode). Both answer with the same types, so a
/// command renders its answer one way in both modes.
protocol RegistryService: Sendable {
    func createModel(name: String, description: String) async throws(RegistryError) -> Model
    func models(limit: Int, cursor: String?) async throws(RegistryError) -> Page<Model>
    func model(named name: String) async throws(RegistryError) -> Model
    func register(model name: String, _ request: RegisterRequest) async throws(RegistryError) -> ModelVersion
    func versions(model name: String, limit: Int, cursor: String?) async throws(RegistryError) -> Page<ModelVersion>
    func version(model name: String, _ ref: VersionRef) async throws(RegistryError) -> ModelVersion
    func deprecate(model name: String, version number: Int, reason: String) async throws(RegistryError) -> ModelVersion
    func addReport(model name: String, version number: Int, _ upload: ReportUpload, what: String) async throws(RegistryError) -> TestReport
    func reports(model name: String, version number: Int) async throws(RegistryError) -> [TestReport]
    func promote(model name: String, _ request: PromoteRequest) async throws(RegistryError) -> TransitionResult
    func rollback(model name: String, _ request: RollbackRequest) async throws(RegistryError) -> TransitionResult
    func diff(model name: String, from: VersionRef, to: VersionRef) async throws(RegistryError) -> VersionDiff
    func history(model name: String, branch: Branch?, limit: Int, cursor: String?) async throws(RegistryError) -> History
    func branches(model name: String, at time: Timestamp) async throws(RegistryError) -> BranchesAt
    func setPolicy(model name: String, document: String) async throws(RegistryError) -> PolicyRevision
    func policy(model name: String, revision: Int?) async throws(RegistryError) -> PolicyRevision
    func approve(model name: String, version number: Int, to: Branch, comment: String) async throws(RegistryError) -> Approval
    func startRollout(model name: String, _ request: RolloutStartRequest) async throws(RegistryError) -> Rollout
    func rollout(model name: String) async throws(RegistryError) -> Rollout
    func rolloutHistory(model name: String, rollout id: Int?) async throws(RegistryError) -> [AuditEntry]
    func advanceRollout(model name: String) async throws(RegistryError) -> Rollout
    func pauseRollout(model name: String) async throws(RegistryError) -> Rollout
    func resumeRollout(model name: String) async throws(RegistryError) -> Rollout
    func abortRollout(model name: String, reason: String) async throws(RegistryError) -> Rollout
    func observeRollout(model name: String, metrics: [String: Double], target: Rollout.Target) async throws(RegistryError) -> Rollout
    func resolve(model name: String, key: String) async throws(RegistryError) -> Resolution
    func auditLog(_ query: AuditQuery) async throws(RegistryError) -> Page<AuditEntry>
    func verifyAudit(state: Bool) async throws(RegistryError) -> AuditVerification
    func verifyAudit(checkpoint: AuditCheckpoint, publicKey: String, state: Bool) async throws(RegistryError) -> AuditVerification
    func exportAudit(_ format: AuditExport.Format, write: @escaping @Sendable ([UInt8]) async throws -> Void) async throws(RegistryError)
    /// Signs the log's size and head: with `privateKey` and `origin` (default `mreg`) on a
    /// file, with the server's own key and origin through a server.
    func checkpoint(privateKey: String?, origin: String?) async throws(RegistryError) -> AuditCheckpoint
    /// Writes a consistent copy of the whole database to a new file on this machine.
    func backup(to path: String) async throws(RegistryError)
    /// The events after `since` (nil: from now on) that `filter` lets through, oldest first,
    /// up to the log's head; with `follow`, then each new one as it is committed, until cancelled.
    func events(after since: Int?, _ filter: EventFilter, follow: Bool, receive: @escaping @Sendable (AuditEntry) async -> Void)
        async throws(RegistryError)
    func createToken(name: String, role: Role) async throws(RegistryError) -> IssuedToken
    func tokens() async throws(RegistryError) -> [APIToken]
    func revokeToken(id: String) async throws(RegistryError) -> APIToken
    /// Subscribes a webhook: on a file, its secret is sealed with the key in `secretsKey`;
    /// through a server, with the server's key (`secretsKey` must be nil).
    func addWebhook(_ request: WebhookRequest, secretsKey: String?) async throws(RegistryError) -> IssuedWebhook
    func webhooks() async throws(RegistryError) -> [Webhook]
    func webhook(id: String) async throws(RegistryError) -> Webhook
    func enableWebhook(id: String) async throws(RegistryError) -> Webhook
    func disableWebhook(id: String, reason: String?) async throws(RegistryError) -> Webhook
    func removeWebhook(id: String) async throws(RegistryError) -> Webhook
    func webhookDeliveries(id: String, limit: Int, cursor: String?) async throws(RegistryError) -> Page<WebhookDelivery>
    /// Sends a test message, or event `seq` again, once, and records the attempt: through a
    /// server, the server sends; on a file, this process does, with the key in `secretsKey`.
    func testWebhook(id: String, secretsKey: String?) async throws(RegistryError) -> WebhookDelivery
    func redeliverWebhook(id: String, event seq: Int, secretsKey: String?) async throws(RegistryError) -> WebhookDelivery
}

extension RemoteRegistry: RegistryService {
    func events(after since: Int?, _ filter: EventFilter, follow: Bool, receive: @escaping @Sendable (AuditEntry) async -> Void)
        async throws(RegistryError)
    {
        try await events(after: since, filter, follow: follow, reconnectFor: .seconds(60), receive: receive)
    }

    func checkpoint(privateKey: String?, origin: String?) async throws(RegistryError) -> AuditCheckpoint {
        guard privateKey == nil, origin == nil else {
            throw RegistryError(
                .invalidArgument, "with --server the server signs with its own key and origin (mreg serve --checkpoint-key); leave out --key and --origin")
        }
        return try await checkpoint()
    }

    func addWebhook(_ request: WebhookRequest, secretsKey: String?) async throws(RegistryError) -> IssuedWebhook {
        try Self.serverKeyOnly(secretsKey)
        return try await addWebhook(request)
    }

    func testWebhook(id: String, secretsKey: String?) async throws(RegistryError) -> WebhookDelivery {
        try Self.serverKeyOnly(secretsKey)
        return try await testWebhook(id: id)
    }

    func redeliverWebhook(id: String, event seq: Int, secretsKey: String?) async throws(RegistryError) -> WebhookDelivery {
        try Self.serverKeyOnly(secretsKey)
        return try await redeliverWebhook(id: id, event: seq)
    }

    private static func serverKeyOnly(_ secretsKey: String?) throws(RegistryError) {
        guard secretsKey == nil else {
            throw RegistryError(.invalidArgument, "with --server the server seals and signs with its own key (mreg serve --secrets-key); leave out --secrets-key")
        }
    }
}
