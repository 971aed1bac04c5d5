import Foundation
import MregTestSupport
import SQLite
import Testing

@testable import RegistryCore

/// `audit verify --state` (docs/AUDIT.md, "Checking the state"): the tables checked against the
/// log. Each tampering below is what someone with write access to the file could do with any
/// SQLite client, the append-only triggers dropped where they stand in the way; each must be
/// named by table and row, while plain verify, which checks the chain alone, still says ok.
@Suite struct AuditStateTests {
    /// Every kind of change there is: AuditTests' eight, a second model walked to master and
    /// rolled out, a token created and another revoked.
    static func populate(_ registry: Registry) async throws {
        try await AuditTests.populate(registry)
        try await registry.shipVersion("churn", metrics: ["auc": 0.8])
        let candidate = try await registry.registerVersion("churn", metrics: ["auc": 0.81]).version
        try await registry.promoteVersion("churn", to: .release, version: candidate)
        _ = try await registry.startRollout(model: "churn", RolloutStartRequest(version: candidate, steps: [10, 50, 100]), by: .bob)
        _ = try await registry.observeRollout(model: "churn", metrics: ["error_rate": 0.01], by: .bob)
        _ = try await registry.advanceRollout(model: "churn", by: .bob)
        _ = try await registry.createToken(name: "ci", role: .engineer, by: .alice)
        let gone = try await registry.createToken(name: "old", role: .reader, by: .alice)
        _ = try await registry.revokeToken(id: gone.id, by: .alice)
        let key = SecretsKey.generate()
        for (url, model) in [("http://10.0.0.7/hooks/a?token=s3cret", "fraud-scorer"), ("http://10.0.0.8/b", nil), ("http://10.0.0.9/c", nil)] {
            _ = try await registry.addWebhook(WebhookRequest(url: url, events: "branch.*", model: model), allowPrivate: true, by: .alice) { key }
        }
        let hooks = try registry.webhooks()
        _ = try await registry.disableWebhook(id: hooks[1].id, reason: "moving", by: .alice)
        _ = try await registry.removeWebhook(id: hooks[2].id, by: .alice)
    }

    @Test func anUntouchedRegistryAgreesWithItsLog() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.populate(registry)
            let verification = try registry.verifyAudit(state: true)
            #expect(verification.ok, "\(verification)")
            let state = try #require(verification.state)
            #expect(state.ok)
            #expect(state.checked["versions"] == 4)
            #expect(state.checked["transitions"] == 8)
            #expect(state.checked["test_reports"] == 1)
            #expect(state.checked["policies"] == 1)
            #expect(state.checked["approvals"] == 1)
            #expect(state.checked["branches"] == 6)
            #expect(state.checked["rollouts"] == 1)
            #expect(state.checked["tokens"] == 2)
            #expect(state.checked["webhooks"] == 2)
            #expect(try registry.verifyAudit().state == nil, "plain verify checks the chain alone")
        }
    }

    /// A tampering, and the table, row and words `--state` must name.
    struct Tampering: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let sql: String
        let table: String
        let key: String
        let words: String
    }

    static let tamperings: [Tampering] = [
        Tampering(
            testDescription: "a version's metric", sql: #"UPDATE versions SET metrics = '{"accuracy":0.99}' WHERE version = 1 AND model_id = 1"#,
            table: "versions", key: "fraud-scorer v1", words: "content_sha256"),
        Tampering(
            testDescription: "a version's params", sql: #"UPDATE versions SET params = '{"lr":"1"}' WHERE version = 2 AND model_id = 1"#,
            table: "versions", key: "fraud-scorer v2", words: "content_sha256"),
        Tampering(
            testDescription: "a version's artifact", sql: "UPDATE versions SET artifact_uri = 's3://evil' WHERE version = 1 AND model_id = 1",
            table: "versions", key: "fraud-scorer v1", words: "artifact_uri"),
        Tampering(
            testDescription: "a version's digest", sql: "UPDATE versions SET digest = NULL WHERE version = 1 AND model_id = 1",
            table: "versions", key: "fraud-scorer v1", words: "digest"),
        Tampering(
            testDescription: "a version deprecated by hand", sql: "UPDATE versions SET status = 'deprecated' WHERE version = 1 AND model_id = 1",
            table: "versions", key: "fraud-scorer v1", words: "no entry deprecated it"),
        Tampering(
            testDescription: "a deprecation undone", sql: "UPDATE versions SET status = 'active' WHERE version = 2 AND model_id = 1",
            table: "versions", key: "fraud-scorer v2", words: "the log deprecated it, but it is active"),
        Tampering(
            testDescription: "a rollout deleted", sql: "DELETE FROM rollout_observations; DELETE FROM rollouts",
            table: "rollouts", key: "#1", words: "the table has no such row"),
        Tampering(
            testDescription: "a token deleted", sql: "DELETE FROM tokens WHERE name = 'ci'",
            table: "tokens", key: "", words: "the table has no such row"),
        Tampering(
            testDescription: "a report's counts", sql: "UPDATE test_reports SET failures = 3, status = 'failed'",
            table: "test_reports", key: "#1 (fraud-scorer v1 unit)", words: "differs"),
        Tampering(
            testDescription: "a report's skipped count", sql: "UPDATE test_reports SET skipped = 7",
            table: "test_reports", key: "#1 (fraud-scorer v1 unit)", words: "content_sha256"),
        Tampering(
            testDescription: "a policy's document", sql: #"UPDATE policies SET document = '{"master":{}}'"#,
            table: "policies", key: "fraud-scorer revision 1", words: "content_sha256"),
        Tampering(
            testDescription: "a branch pointer", sql: "UPDATE branches SET version = 2 WHERE name = 'release' AND model_id = 1",
            table: "branches", key: "fraud-scorer release", words: "the log's transitions leave v1"),
        Tampering(
            testDescription: "a rollout's state", sql: "UPDATE rollouts SET state = 'completed', percent = 100",
            table: "rollouts", key: "#1", words: "progressing at step 2, 50 %"),
        Tampering(
            testDescription: "a manual rollout made automatic", sql: "UPDATE rollouts SET auto = 1",
            table: "rollouts", key: "#1", words: "the log leaves it progressing at step 2, 50 %, the step begun"),
        Tampering(
            testDescription: "a step's hold restarted", sql: "UPDATE rollouts SET step_started_at = step_started_at + 1",
            table: "rollouts", key: "#1", words: "the step begun at"),
        Tampering(
            testDescription: "a step judged on observations from before it", sql: "UPDATE rollouts SET observations_before_step = 0",
            table: "rollouts", key: "#1", words: "after 0 of its 1 observations"),
        Tampering(
            testDescription: "a rollout's observation deleted", sql: "DELETE FROM rollout_observations",
            table: "rollouts", key: "#1", words: "after 1 of its 0 observations"),
        Tampering(
            testDescription: "a step made to hold", sql: #"UPDATE rollouts SET steps = '[10,{"percent":50,"hold":60},100]'"#,
            table: "rollouts", key: "#1", words: "steps 10%, 50% for 1m, 100%; the log leaves it"),
        Tampering(
            testDescription: "a guard weakened", sql: #"UPDATE rollouts SET guards = '{"error_rate":"<= 0.5"}'"#,
            table: "rollouts", key: "#1", words: "its guards or interval differ from those entry"),
        Tampering(
            testDescription: "the guards read less often", sql: "UPDATE rollouts SET interval_ms = 3600000",
            table: "rollouts", key: "#1", words: "its guards or interval differ from those entry"),
        Tampering(
            testDescription: "a transition's target", sql: "DROP TRIGGER transitions_no_update; UPDATE transitions SET to_version = 2 WHERE id = 3",
            table: "transitions", key: "#3", words: "differs"),
        Tampering(
            testDescription: "an approval's actor", sql: "UPDATE approvals SET actor = 'mallory'",
            table: "approvals", key: "#1 (fraud-scorer v1 for master by mallory)", words: "differs"),
        Tampering(
            testDescription: "a revoked token brought back", sql: "UPDATE tokens SET revoked_at = NULL WHERE name = 'old'",
            table: "tokens", key: "", words: "revocation"),
        Tampering(
            testDescription: "a webhook pointed elsewhere", sql: "UPDATE webhooks SET url = 'http://203.0.113.5/steal' WHERE url LIKE '%10.0.0.7%'",
            table: "webhooks", key: "", words: "target or filters"),
        Tampering(
            testDescription: "a disabled webhook turned back on", sql: "UPDATE webhooks SET enabled = 1 WHERE enabled = 0",
            table: "webhooks", key: "", words: "the log leaves it the other way"),
        Tampering(
            testDescription: "a webhook no entry added",
            sql: """
                INSERT INTO webhooks (id, url, events, secret_sealed, secret_key_id, enabled, delivered_seq, created_by, created_at, updated_at)
                VALUES ('wh_mallory', 'http://203.0.113.5/', '', x'00', 'k', 1, 0, 'mallory', 0, 0)
                """,
            table: "webhooks", key: "wh_mallory", words: "no entry added it"),
        Tampering(
            testDescription: "a version no entry registered",
            sql: "INSERT INTO versions (model_id, version, artifact_uri, created_by, created_at) VALUES (1, 9, 's3://x', 'mallory', 0)",
            table: "versions", key: "fraud-scorer v9", words: "no audit entry wrote this row"),
    ]

    @Test(arguments: tamperings)
    func aTamperedTableIsNamedWhileTheChainStillVerifies(_ tampering: Tampering) async throws {
        try await withTemporaryRegistry { registry in
            try await Self.populate(registry)
            try Connection(path: registry.path).execute(script: tampering.sql)
            #expect(try registry.verifyAudit().ok, "the chain itself is untouched")
            let verification = try registry.verifyAudit(state: true)
            #expect(!verification.ok)
            #expect(verification.problem == nil && verification.firstBadSeq == nil, "the chain verifies: \(verification)")
            let state = try #require(verification.state)
            #expect(!state.ok)
            #expect(state.table == tampering.table, "\(state)")
            if !tampering.key.isEmpty { #expect(state.key == tampering.key, "\(state)") }
            #expect(state.problem?.contains(tampering.words) == true, "\(state)")
        }
    }

    /// A broken chain is reported as such, with the state check beside it.
    @Test func aBrokenChainFailsWithTheStateBesideIt() async throws {
        try await withTemporaryRegistry { registry in
            try await Self.populate(registry)
            try Connection(path: registry.path).execute(script: "DROP TRIGGER audit_log_no_update; UPDATE audit_log SET actor = 'mallory' WHERE seq = 3")
            let verification = try registry.verifyAudit(state: true)
            #expect(!verification.ok)
            #expect(verification.firstBadSeq == 3)
            #expect(verification.state != nil)
        }
    }
}
