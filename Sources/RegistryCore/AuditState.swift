import SQLite

/// What `audit verify --state` found when it checked the tables against the log.
public struct StateCheck: Sendable, Hashable, Codable {
    public let ok: Bool
    /// Rows found to agree with the log, by table.
    public let checked: [String: Int]
    /// The first disagreement: the table, the row (its key, as people name it), and what
    /// differs. Nil when `ok`.
    public let table: String?
    public let key: String?
    public let problem: String?
}

extension Registry {
    /// The tables checked against what the log says happened (`audit verify --state`;
    /// docs/AUDIT.md, "Checking the state"): every version, transition, report, policy and
    /// approval row is the one its entry describes (for entries that commit to their content,
    /// field for field through its `content_sha256`), no row lacks an entry, and replaying the
    /// log's transitions and rollout steps gives every branch pointer, deprecation, rollout state,
    /// token revocation and webhook subscription the tables hold.
    ///
    /// The tables and the entries that explain them are read in one snapshot. Run it before
    /// walking the chain: the log only grows, so the walk then covers every entry it replayed.
    func checkAuditState() throws(RegistryError) -> StateCheck {
        try read { connection in try StateReplay(connection).run() }
    }
}

extension AuditVerification {
    /// This chain verification with the state check beside it; `ok` only when both hold.
    func checking(_ state: StateCheck) -> AuditVerification {
        AuditVerification(ok: ok && state.ok, entries: entries, head: head, firstBadSeq: firstBadSeq, problem: problem, state: state)
    }
}

/// Walks the log once, oldest entry first, beside a cursor on each table whose rows are
/// written in the order of their entries (by rowid), comparing each row with its entry; the
/// state that later entries change (branch heads, deprecations, rollouts, tokens) is replayed
/// in memory and compared at the end.
private final class StateReplay {
    /// The first disagreement found.
    struct Disagreement: Error {
        let table: String
        let key: String
        let problem: String
    }

    let connection: Connection
    var checked: [String: Int] = [:]
    var models: Set<String> = []
    var heads: [String: [Branch: Int]] = [:]
    var deprecated: Set<String> = []
    var rollouts: [Int: ExpectedRollout] = [:]
    /// The guards and interval each rollout started with, as its `rollout.start` gives them
    /// (entries written before guards were recorded give none), and that entry's seq.
    var rolloutGuards: [Int: (guards: JSONValue, interval: JSONValue?, seq: Int)] = [:]
    var tokens: [String: (name: String, role: String, revoked: Bool)] = [:]
    var webhooks: [String: ExpectedWebhook] = [:]

    /// What the log says of a subscription: its target's origin, its filters, and whether it is
    /// enabled. (The delivery cursor and log are not changes to the registry: no entry says them.)
    struct ExpectedWebhook {
        var target: String
        var events: String
        var model: String?
        var enabled: Bool
    }

    struct ExpectedRollout: Equatable {
        var model: String
        var candidate: Int
        var baseline: Int?
        var step: Int
        var percent: Int
        var state: String
        var auto: Bool
        /// Its percentages and holds, as its `rollout.start` gives them.
        var steps: [RolloutStep]
        /// The `at` of the entry that started the current step: start, advance or resume.
        var stepStartedAt: Int64
        /// The rollout's observations (one `rollout.observe` entry each), and how many of them
        /// came before the current step.
        var observations = 0
        var observationsBeforeStep = 0

        mutating func beginStep(at: Int64) {
            stepStartedAt = at
            observationsBeforeStep = observations
        }
    }

    init(_ connection: Connection) { self.connection = connection }

    func run() throws -> StateCheck {
        do {
            try replay()
            return StateCheck(ok: true, checked: checked, table: nil, key: nil, problem: nil)
        } catch let disagreement as Disagreement {
            return StateCheck(ok: false, checked: checked, table: disagreement.table, key: disagreement.key, problem: disagreement.problem)
        }
    }

    private func replay() throws {
        let versions = try TableCursor(connection, table: "versions", """
            SELECT m.name, v.version, v.artifact_uri, v.digest, v.params, v.metrics, v.tags, v.parent, v.description,
                   v.created_by, v.created_at
            FROM versions v JOIN models m ON m.id = v.model_id ORDER BY v.id
            """)
        let transitions = try TableCursor(connection, table: "transitions", """
            SELECT t.id, m.name, t.kind, t.branch, t.from_version, t.to_version, t.actor, t.reason, t.at, t.gates
            FROM transitions t JOIN models m ON m.id = t.model_id ORDER BY t.id
            """)
        let reports = try TableCursor(connection, table: "test_reports", """
            SELECT r.id, m.name, v.version, r.suite, r.status, r.tests, r.failures, r.errors, r.skipped, r.metrics, r.duration_s,
                   r.sha256, r.created_by, r.created_at
            FROM test_reports r JOIN versions v ON v.id = r.version_id JOIN models m ON m.id = v.model_id ORDER BY r.id
            """)
        let policies = try TableCursor(connection, table: "policies", """
            SELECT p.id, m.name, p.revision, p.document, p.sha256 FROM policies p JOIN models m ON m.id = p.model_id ORDER BY p.id
            """)
        let approvals = try TableCursor(connection, table: "approvals", """
            SELECT a.id, m.name, v.version, a.branch, a.actor, a.comment
            FROM approvals a JOIN versions v ON v.id = a.version_id JOIN models m ON m.id = v.model_id ORDER BY a.id
            """)

        let entries = try connection.prepare("SELECT seq, at, actor, action, model, version, branch, details, form FROM audit_log ORDER BY seq")
        while try entries.step() {
            let entry = try Entry(entries)
            switch entry.action {
            case "model.create":
                models.insert(try entry.model())
            case "version.register":
                try checkVersion(entry, versions.next(for: entry))
                try checkTransition(entry, transitions.next(for: entry))
            case "branch.promote", "branch.force", "branch.rollback", "branch.rollout_complete":
                try checkTransition(entry, transitions.next(for: entry))
            case "version.deprecate":
                deprecated.insert("\(try entry.model()) v\(try entry.version())")
            case "report.add":
                try checkReport(entry, reports.next(for: entry))
            case "policy.set":
                try checkPolicy(entry, policies.next(for: entry))
            case "approval.add":
                try checkApproval(entry, approvals.next(for: entry))
            case let action where action.hasPrefix("rollout."):
                try replayRollout(entry)
            case "token.create":
                tokens[try entry.string("token_id")] = (try entry.string("name"), try entry.string("role"), false)
            case "token.revoke":
                tokens[try entry.string("token_id")]?.revoked = true
            case "webhook.add":
                webhooks[try entry.string("webhook_id")] = ExpectedWebhook(
                    target: try entry.string("target"), events: try entry.string("events"), model: try entry.optionalString("model"), enabled: true)
            case "webhook.enable", "webhook.disable":
                webhooks[try entry.string("webhook_id")]?.enabled = entry.action == "webhook.enable"
            case "webhook.remove":
                webhooks[try entry.string("webhook_id")] = nil
            default:
                break  // `denied`, and actions that change no table
            }
        }
        for cursor in [versions, transitions, reports, policies, approvals] { try cursor.expectEnd() }
        try checkModels()
        try checkBranches()
        try checkDeprecations()
        try checkRollouts()
        try checkTokens()
        try checkWebhooks()
    }

    // MARK: Rows written with their entry

    private func checkVersion(_ entry: Entry, _ row: Statement) throws {
        let key = "\(try row.text(0)) v\(try row.int(1))"
        let disagree = { (what: String) in Disagreement(table: "versions", key: key, problem: "\(what) differs from entry \(entry.seq)") }
        guard try row.text(0) == entry.model(), try row.int(1) == entry.version() else {
            throw Disagreement(table: "versions", key: key, problem: "entry \(entry.seq) registered \(try entry.model()) v\(try entry.version())")
        }
        let content = VersionContent(
            artifactURI: try row.text(2), digest: try row.optionalText(3), params: try row.text(4), metrics: try row.text(5),
            tags: try row.text(6), parent: try row.optionalInt(7), description: try row.text(8))
        guard content.artifactURI == (try entry.string("artifact_uri")) else { throw disagree("artifact_uri") }
        guard content.digest == (try entry.optionalString("digest")) else { throw disagree("digest") }
        guard content.parent == (try entry.optionalInt("parent")) else { throw disagree("parent") }
        guard try row.text(9) == entry.actor, try row.int64(10) == entry.at else { throw disagree("created_by or created_at") }
        if let committed = try entry.committedContent(), committed != content.sha256 {
            throw Disagreement(
                table: "versions", key: key,
                problem: "its params, metrics, tags or description no longer hash to the content_sha256 of entry \(entry.seq)")
        }
        checked["versions", default: 0] += 1
    }

    private func checkTransition(_ entry: Entry, _ row: Statement) throws {
        let id = try row.int(0)
        let key = "#\(id)"
        guard id == (try entry.int("transition_id")) else {
            throw Disagreement(table: "transitions", key: key, problem: "entry \(entry.seq) names transition #\(try entry.int("transition_id"))")
        }
        let model = try entry.model(), version = try entry.version()
        let branch = try Branch.parse(try entry.branchName())
        let agrees = try row.text(1) == model && row.text(2) == entry.string("kind") && row.text(3) == branch.rawValue
            && row.optionalInt(4) == entry.optionalInt("from_version") && row.int(5) == version
            && row.int(5) == entry.int("to_version") && row.text(6) == entry.actor
            && row.text(7) == (entry.optionalString("reason") ?? "") && row.int64(8) == entry.at
        guard agrees else { throw Disagreement(table: "transitions", key: key, problem: "the move differs from entry \(entry.seq)") }
        let gates = try JSONCoding.decode(JSONValue.self, from: try row.text(9))
        guard gates == (entry.details["gates"] ?? .array([])) else {
            throw Disagreement(table: "transitions", key: key, problem: "its gate report differs from entry \(entry.seq)")
        }
        heads[model, default: [:]][branch] = version
        checked["transitions", default: 0] += 1
    }

    private func checkReport(_ entry: Entry, _ row: Statement) throws {
        let key = "#\(try row.int(0)) (\(try row.text(1)) v\(try row.int(2)) \(try row.text(3)))"
        let content = ReportContent(
            suite: try row.text(3), status: try row.text(4), tests: try row.int(5), failures: try row.int(6), errors: try row.int(7),
            skipped: try row.int(8), metrics: try row.text(9), durationSeconds: row.isNull(10) ? nil : try row.double(10),
            documentSHA256: try row.text(11))
        let agrees = try row.text(1) == entry.model() && row.int(2) == entry.version() && content.suite == entry.string("suite")
            && content.status == entry.string("status") && content.documentSHA256 == entry.string("sha256")
            && content.tests == entry.int("tests") && content.failures == entry.int("failures") && content.errors == entry.int("errors")
            && row.text(12) == entry.actor && row.int64(13) == entry.at
        guard agrees else { throw Disagreement(table: "test_reports", key: key, problem: "the report differs from entry \(entry.seq)") }
        if let committed = try entry.committedContent(), committed != content.sha256 {
            throw Disagreement(table: "test_reports", key: key, problem: "its counts, metrics or duration no longer hash to the content_sha256 of entry \(entry.seq)")
        }
        checked["test_reports", default: 0] += 1
    }

    private func checkPolicy(_ entry: Entry, _ row: Statement) throws {
        let key = "\(try row.text(1)) revision \(try row.int(2))"
        guard try row.text(1) == entry.model(), try row.int(2) == entry.int("revision"), try row.text(4) == entry.string("sha256") else {
            throw Disagreement(table: "policies", key: key, problem: "the revision differs from entry \(entry.seq)")
        }
        if let committed = try entry.committedContent(), committed != AuditChain.sha256(Array(try row.text(3).utf8)) {
            throw Disagreement(table: "policies", key: key, problem: "its document no longer hashes to the content_sha256 of entry \(entry.seq)")
        }
        checked["policies", default: 0] += 1
    }

    private func checkApproval(_ entry: Entry, _ row: Statement) throws {
        let key = "#\(try row.int(0)) (\(try row.text(1)) v\(try row.int(2)) for \(try row.text(3)) by \(try row.text(4)))"
        let agrees = try row.text(1) == entry.model() && row.int(2) == entry.version() && row.text(3) == entry.branchName()
            && row.text(4) == entry.actor && row.text(5) == (entry.optionalString("comment") ?? "")
        guard agrees else { throw Disagreement(table: "approvals", key: key, problem: "the approval differs from entry \(entry.seq)") }
        checked["approvals", default: 0] += 1
    }

    // MARK: State replayed from the log

    private func replayRollout(_ entry: Entry) throws {
        let id = try entry.int("rollout_id")
        if entry.action == "rollout.start" {
            rollouts[id] = ExpectedRollout(
                model: try entry.model(), candidate: try entry.version(), baseline: try entry.optionalInt("baseline"), step: 1,
                percent: try entry.int("percent"), state: "progressing", auto: try entry.optionalBool("auto") ?? false,
                steps: try entry.steps("steps"), stepStartedAt: entry.at)
            if let guards = entry.details["guards"] { rolloutGuards[id] = (guards, entry.details["interval"], entry.seq) }
            return
        }
        guard var rollout = rollouts[id] else {
            throw Disagreement(table: "rollouts", key: "#\(id)", problem: "entry \(entry.seq) (\(entry.action)) names a rollout no entry started")
        }
        switch entry.action {
        case "rollout.advance":
            (rollout.step, rollout.percent) = (try entry.int("step"), try entry.int("percent"))
            rollout.beginStep(at: entry.at)
        case "rollout.pause": rollout.state = "paused"
        case "rollout.resume":
            rollout.state = "progressing"
            rollout.beginStep(at: entry.at)
        case "rollout.abort": (rollout.state, rollout.percent) = ("aborted", 0)
        case "rollout.complete": (rollout.state, rollout.percent) = ("completed", 100)
        // Counts the row it wrote; a breach that aborts does so in an entry of its own.
        case "rollout.observe": rollout.observations += 1
        default: break
        }
        rollouts[id] = rollout
    }

    private func checkModels() throws {
        var found: Set<String> = []
        try connection.forEachRow("SELECT name FROM models ORDER BY name") { row in
            let name = try row.text(0)
            guard models.contains(name) else { throw Disagreement(table: "models", key: name, problem: "no entry created it") }
            found.insert(name)
        }
        if let missing = models.subtracting(found).sorted().first {
            throw Disagreement(table: "models", key: missing, problem: "the log created it, but the table has no such row")
        }
        checked["models"] = found.count
    }

    private func checkBranches() throws {
        var found = 0
        try connection.forEachRow(
            "SELECT m.name, b.name, b.version FROM branches b JOIN models m ON m.id = b.model_id ORDER BY m.name, b.name"
        ) { row in
            let model = try row.text(0), branch = try row.value(1, as: Branch.self), version = try row.optionalInt(2)
            let expected = heads[model]?[branch]
            guard version == expected else {
                throw Disagreement(
                    table: "branches", key: "\(model) \(branch.rawValue)",
                    problem: "it holds \(version.map { "v\($0)" } ?? "nothing"); the log's transitions leave \(expected.map { "v\($0)" } ?? "nothing")")
            }
            found += 1
        }
        checked["branches"] = found
    }

    private func checkDeprecations() throws {
        var found: Set<String> = []
        try connection.forEachRow(
            "SELECT m.name, v.version, v.status FROM versions v JOIN models m ON m.id = v.model_id WHERE v.status <> 'active'"
        ) { row in
            let key = "\(try row.text(0)) v\(try row.int(1))"
            guard deprecated.contains(key) else {
                throw Disagreement(table: "versions", key: key, problem: "it is \(try row.text(2)), but no entry deprecated it")
            }
            found.insert(key)
        }
        if let active = deprecated.subtracting(found).sorted().first {
            throw Disagreement(table: "versions", key: active, problem: "the log deprecated it, but it is active")
        }
    }

    private func checkRollouts() throws {
        var found: Set<Int> = []
        try connection.forEachRow(
            """
            SELECT r.id, m.name, r.candidate, r.baseline, r.step, r.percent, r.state, r.auto, r.step_started_at,
                   (SELECT count(*) FROM rollout_observations o WHERE o.rollout_id = r.id), r.observations_before_step, r.steps,
                   r.guards, r.interval_ms
            FROM rollouts r JOIN models m ON m.id = r.model_id ORDER BY r.id
            """
        ) { row in
            let id = try row.int(0)
            let actual = ExpectedRollout(
                model: try row.text(1), candidate: try row.int(2), baseline: try row.optionalInt(3), step: try row.int(4),
                percent: try row.int(5), state: try row.text(6), auto: try row.int(7) == 1,
                steps: try JSONCoding.decode([RolloutStep].self, from: try row.text(11)), stepStartedAt: try row.int64(8),
                observations: try row.int(9), observationsBeforeStep: try row.int(10))
            guard let expected = rollouts[id] else { throw Disagreement(table: "rollouts", key: "#\(id)", problem: "no entry started it") }
            guard actual == expected else {
                func describe(_ rollout: ExpectedRollout) -> String {
                    "\(rollout.state) at step \(rollout.step), \(rollout.percent) %\(rollout.auto ? ", automatic" : ""), the step begun at "
                        + "\(Timestamp(millisecondsSinceEpoch: rollout.stepStartedAt)) after \(rollout.observationsBeforeStep) of its \(rollout.observations) observations, "
                        + "steps \(rollout.steps.map(\.description).joined(separator: ", "))"
                }
                throw Disagreement(table: "rollouts", key: "#\(id)", problem: "it is \(describe(actual)); the log leaves it \(describe(expected))")
            }
            if let started = rolloutGuards[id] {
                // Weaker guards or a longer interval would change when the rollout aborts.
                let guards = try JSONCoding.decode([String: RolloutGuard].self, from: try row.text(12))
                let interval = JSONValue.number(Double(try row.int64(13)) / 1000)
                guard JSONValue.object(guards.mapValues(\.jsonValue)) == started.guards, started.interval.map({ $0 == interval }) ?? true else {
                    throw Disagreement(
                        table: "rollouts", key: "#\(id)", problem: "its guards or interval differ from those entry \(started.seq) (rollout.start) gives")
                }
            }
            found.insert(id)
        }
        if let missing = Set(rollouts.keys).subtracting(found).min() {
            throw Disagreement(table: "rollouts", key: "#\(missing)", problem: "the log started it, but the table has no such row")
        }
        checked["rollouts"] = found.count
    }

    private func checkTokens() throws {
        var found: Set<String> = []
        try connection.forEachRow("SELECT id, name, role, revoked_at FROM tokens ORDER BY id") { row in
            let id = try row.text(0)
            guard let expected = tokens[id] else { throw Disagreement(table: "tokens", key: id, problem: "no entry created it") }
            guard try row.text(1) == expected.name, try row.text(2) == expected.role, row.isNull(3) != expected.revoked else {
                throw Disagreement(table: "tokens", key: id, problem: "its name, role or revocation differs from the log")
            }
            found.insert(id)
        }
        if let missing = Set(tokens.keys).subtracting(found).sorted().first {
            throw Disagreement(table: "tokens", key: missing, problem: "the log created it, but the table has no such row")
        }
        checked["tokens"] = found.count
    }

    private func checkWebhooks() throws {
        var found: Set<String> = []
        try connection.forEachRow("SELECT id, url, events, model, enabled FROM webhooks ORDER BY id") { row in
            let id = try row.text(0)
            guard let expected = webhooks[id] else { throw Disagreement(table: "webhooks", key: id, problem: "no entry added it") }
            guard WebhookTarget.origin(try row.text(1)) == expected.target, try row.text(2) == expected.events,
                (row.isNull(3) ? nil : try row.text(3)) == expected.model
            else {
                throw Disagreement(table: "webhooks", key: id, problem: "its target or filters differ from the log")
            }
            guard (try row.int64(4) == 1) == expected.enabled else {
                throw Disagreement(table: "webhooks", key: id, problem: "it is \(expected.enabled ? "disabled" : "enabled"); the log leaves it the other way")
            }
            found.insert(id)
        }
        if let missing = Set(webhooks.keys).subtracting(found).sorted().first {
            throw Disagreement(table: "webhooks", key: missing, problem: "the log added it, but the table has no such row")
        }
        checked["webhooks"] = found.count
    }
}

/// One audit entry as the replay reads it, with its details parsed.
private struct Entry {
    let seq: Int
    let at: Int64
    let actor: String
    let action: String
    let modelName: String?
    let versionNumber: Int?
    let branch: String?
    let details: [String: JSONValue]
    let form: Int

    init(_ row: Statement) throws {
        seq = try row.int(0)
        at = try row.int64(1)
        actor = try row.text(2)
        action = try row.text(3)
        modelName = try row.optionalText(4)
        versionNumber = try row.optionalInt(5)
        branch = try row.optionalText(6)
        guard case .object(let fields) = try JSONCoding.decode(JSONValue.self, from: try row.text(7)) else {
            throw StateReplay.Disagreement(table: "audit_log", key: "entry \(seq)", problem: "its details are not a JSON object")
        }
        details = fields
        form = try row.int(8)
    }

    /// The `content_sha256` the entry commits to: every entry of form 2 that created content
    /// names one; entries written before may not.
    func committedContent() throws -> String? {
        let committed = try optionalString("content_sha256")
        if committed == nil, form >= 2 { throw missing("content_sha256") }
        return committed
    }

    private func missing(_ what: String) -> StateReplay.Disagreement {
        StateReplay.Disagreement(table: "audit_log", key: "entry \(seq)", problem: "this \(action) entry has no \(what)")
    }

    func model() throws -> String { guard let modelName else { throw missing("model") }; return modelName }
    func version() throws -> Int { guard let versionNumber else { throw missing("version") }; return versionNumber }
    func branchName() throws -> String { guard let branch else { throw missing("branch") }; return branch }

    func optionalString(_ key: String) throws -> String? {
        switch details[key] {
        case nil, .null?: return nil
        case .string(let text)?: return text
        default: throw missing("text \(key)")
        }
    }

    func string(_ key: String) throws -> String {
        guard let text = try optionalString(key) else { throw missing(key) }
        return text
    }

    func optionalInt(_ key: String) throws -> Int? {
        switch details[key] {
        case nil, .null?: return nil
        case .number(let number)? where number.rounded() == number: return Int(number)
        default: throw missing("whole number \(key)")
        }
    }

    func int(_ key: String) throws -> Int {
        guard let number = try optionalInt(key) else { throw missing(key) }
        return number
    }

    func steps(_ key: String) throws -> [RolloutStep] {
        guard let value = details[key], let steps = try? JSONValueDecoder.decode([RolloutStep].self, from: value, at: []) else {
            throw missing("rollout steps \(key)")
        }
        return steps
    }

    func optionalBool(_ key: String) throws -> Bool? {
        switch details[key] {
        case nil, .null?: return nil
        case .bool(let flag)?: return flag
        default: throw missing("true or false \(key)")
        }
    }
}

/// A table read in rowid order beside the log: each entry that wrote a row takes the next one.
private final class TableCursor {
    let table: String
    let statement: Statement

    init(_ connection: Connection, table: String, _ sql: String) throws {
        self.table = table
        statement = try connection.prepare(sql)
    }

    /// The row `entry` wrote: the next one.
    func next(for entry: Entry) throws -> Statement {
        guard try statement.step() else {
            throw StateReplay.Disagreement(table: table, key: "?", problem: "entry \(entry.seq) (\(entry.action)) wrote a row the table does not hold")
        }
        return statement
    }

    /// Every row was accounted for by an entry.
    func expectEnd() throws {
        guard try statement.step() else { return }
        // Rows are named as elsewhere: `#id`, or for a version `model vN`.
        let key = switch (statement.value(0), statement.value(1)) {
        case (.integer(let id), _): "#\(id)"
        case (.text(let model), .integer(let version)): "\(model) v\(version)"
        default: "?"
        }
        throw StateReplay.Disagreement(table: table, key: key, problem: "no audit entry wrote this row")
    }
}
