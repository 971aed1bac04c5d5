import ArgumentParser
import RegistryCore

extension Mreg {
    struct RolloutCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rollout", abstract: "Gray-release a version onto master in steps (docs/ROLLOUT.md).",
            subcommands: [Start.self, Status.self, History.self, Advance.self, Pause.self, Resume.self, Abort.self, Observe.self])

        struct Start: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "start",
                abstract: "Start a rollout after the master gates pass; master keeps its version until the rollout completes.",
                discussion: """
                    Examples:
                      mreg rollout start fraud --version 7 --steps 5,25,50,100
                      mreg rollout start fraud --version 7 --steps 5:10m,25:30m,50,100 --auto
                    """)

            @OptionGroup var global: GlobalOptions
            @Argument var name: String
            @Option(help: "The candidate version (it must have been on release).") var version: Int
            @Option(help: ArgumentHelp(
                "Percentages, increasing, ending at 100, each with an optional hold (default: the policy's, else 5,25,50,100).",
                valueName: "percent[:hold],…")) var steps: String?
            @Flag(inversion: .prefixedNo, help: "Let the server advance each step once its hold has passed and the guards hold (default: the policy's auto).")
            var auto: Bool?

            func run() async throws {
                let parsed: [RolloutStep]?
                do { parsed = try steps.map(RolloutStep.parseList) } catch { throw ValidationError("--steps: \(error.message)") }
                let request = RolloutStartRequest(version: version, steps: parsed, auto: auto)
                let rollout = try await global.withRegistry(.writes) { try await $0.startRollout(model: name, request) }
                global.emit(rollout) { describe(rollout) }
            }
        }

        struct Status: RolloutAction {
            static let configuration = CommandConfiguration(
                commandName: "status",
                abstract: "Show the active (or last) rollout: state, step, traffic share, observations.",
                discussion: "Example: mreg rollout status fraud")

            @OptionGroup var global: GlobalOptions
            @Argument var name: String
            var access: GlobalOptions.Access { .reads }

            func act(on registry: any RegistryService) async throws -> Rollout { try await registry.rollout(model: name) }
        }

        struct History: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "history",
                abstract: "Everything that happened to a rollout, oldest first: each step (by whom, and on what values), observation, pause and end.",
                discussion: "Example: mreg rollout history fraud --json")

            @OptionGroup var global: GlobalOptions
            @Argument var name: String
            @Option(help: "Which rollout (default: the model's latest).") var rollout: Int?

            func run() async throws {
                let entries = try await global.withRegistry(.reads) { try await $0.rolloutHistory(model: name, rollout: rollout) }
                global.emit(Page(items: entries, nextCursor: nil)) {
                    Terminal.table(
                        header: ["SEQ", "AT", "ACTOR", "ACTION", "DETAILS"],
                        rows: entries.map { [String($0.seq), "\($0.at)", $0.actor, $0.action, Self.summary($0)] })
                }
            }

            /// The details that say what the entry did, without the gate report and the ids.
            static func summary(_ entry: AuditEntry) -> String {
                guard let details = try? JSONCoding.decode([String: JSONValue].self, from: entry.details) else { return entry.details }
                return details.filter { !["rollout_id", "gates", "guards", "content_sha256"].contains($0.key) }.sorted { $0.key < $1.key }
                    .map { "\($0.key)=\(JSONCoding.text($0.value))" }.joined(separator: " ")
            }
        }

        struct Advance: RolloutAction {
            static let configuration = CommandConfiguration(
                commandName: "advance",
                abstract: "Move to the next step; past the last step the rollout completes and master moves.",
                discussion: "Example: mreg rollout advance fraud")

            @OptionGroup var global: GlobalOptions
            @Argument var name: String

            func act(on registry: any RegistryService) async throws -> Rollout { try await registry.advanceRollout(model: name) }
        }

        struct Pause: RolloutAction {
            static let configuration = CommandConfiguration(commandName: "pause", abstract: "Stop advancing; traffic stays where it is.")

            @OptionGroup var global: GlobalOptions
            @Argument var name: String

            func act(on registry: any RegistryService) async throws -> Rollout { try await registry.pauseRollout(model: name) }
        }

        struct Resume: RolloutAction {
            static let configuration = CommandConfiguration(commandName: "resume", abstract: "Let a paused rollout advance again.")

            @OptionGroup var global: GlobalOptions
            @Argument var name: String

            func act(on registry: any RegistryService) async throws -> Rollout { try await registry.resumeRollout(model: name) }
        }

        struct Abort: RolloutAction {
            static let configuration = CommandConfiguration(
                commandName: "abort",
                abstract: "Send all traffic back to the baseline; master is unchanged.",
                discussion: "Example: mreg rollout abort fraud --reason \"p99 latency doubled\"")

            @OptionGroup var global: GlobalOptions
            @Argument var name: String
            @Option(help: "Why (required).") var reason: String

            func act(on registry: any RegistryService) async throws -> Rollout { try await registry.abortRollout(model: name, reason: reason) }
        }

        struct Observe: RolloutAction {
            static let configuration = CommandConfiguration(
                commandName: "observe",
                abstract: "Record production metrics; guards that fail more than failure_limit times abort the rollout.",
                discussion: "Example: mreg rollout observe fraud --metric error_rate=0.013 --metric p99_ms=41")

            @OptionGroup var global: GlobalOptions
            @Argument var name: String
            @Option(help: ArgumentHelp("A production metric, repeatable.", valueName: "k=number")) var metric: [MetricAssignment] = []
            @Option(help: "Whose metrics these are: candidate or baseline.") var target: Rollout.Target = .candidate

            func validate() throws {
                guard !metric.isEmpty else { throw ValidationError("give at least one --metric k=number") }
            }

            func act(on registry: any RegistryService) async throws -> Rollout {
                try await registry.observeRollout(model: name, metrics: try metric.dictionary(), target: target)
            }
        }
    }

    struct Resolve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "resolve",
            abstract: "Which version serves this request key now (sticky during a rollout).",
            discussion: "Example: mreg resolve fraud --key user-1234 --json")

        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Option(help: "The request key (user id, session id, …).") var key: String

        func run() async throws {
            let resolution = try await global.withRegistry(.reads) { try await $0.resolve(model: name, key: key) }
            global.emit(resolution) {
                "\(name) serves v\(resolution.version) to \"\(key)\""
                    + (resolution.rolloutID.map { " (rollout #\($0), bucket \(resolution.bucket ?? 0) of 10000)" } ?? " (no rollout)")
            }
        }
    }
}

extension Rollout.Target: ExpressibleByArgument {}

/// A rollout command: names a model, changes or reads its rollout, prints it.
protocol RolloutAction: AsyncParsableCommand {
    var global: GlobalOptions { get }
    /// Whether it changes the rollout (all but `status` do).
    var access: GlobalOptions.Access { get }
    func act(on registry: any RegistryService) async throws -> Rollout
}

extension RolloutAction {
    var access: GlobalOptions.Access { .writes }

    func run() async throws {
        let rollout = try await global.withRegistry(access) { try await act(on: $0) }
        global.emit(rollout) { describe(rollout) }
    }
}

/// `error_rate <= 0.02: 0.013 holds`, with the verdict on the newest observation of the step
/// that judged it; a query guard's is marked `(prometheus)`.
func describe(_ check: GuardStatus) -> String {
    let verdict = switch check.verdict {
    case .holds: Terminal.green("holds")
    case .breached: Terminal.red("BREACHED")
    case .unknown: check.source == .observe ? "not observed in this step" : "not read in this step"
    case .inconclusive: "inconclusive (\(check.message ?? "no reading"))"
    }
    let source = check.source == .prometheus ? " (prometheus)" : ""
    return "\(check.metric)\(source) \(check.required): " + (check.value.map { "\(Terminal.number($0)) " } ?? "") + verdict
}

func describe(_ rollout: Rollout) -> String {
    let progress = rollout.steps.enumerated().map { index, step in
        index + 1 == rollout.step && rollout.state.isActive ? "[\(step)]" : "\(step)"
    }.joined(separator: " ▸ ")
    var next = rollout.next.reason
    if rollout.next.action == .advance || rollout.next.action == .complete, let at = rollout.next.at {
        next = "\(rollout.next.action.rawValue) at \(Terminal.time(at)): \(next)"
    } else if rollout.next.action == .wait {
        next = "wait: \(next)"
    }
    var lines = [
        Terminal.fields([
            ("rollout", "#\(rollout.id) of \(rollout.model)"), ("state", rollout.state.rawValue),
            ("candidate", "v\(rollout.candidate) serves \(rollout.percent)% of keys"),
            ("baseline", "\(Terminal.version(rollout.baseline)) (master until completion)"), ("steps", progress),
            ("advances", rollout.auto ? "by itself (auto), step \(rollout.step) began \(Terminal.time(rollout.stepStartedAt))" : "by hand"),
            ("next", next),
            ("guards", rollout.guardStatus.isEmpty ? "none" : rollout.guardStatus.map(describe).joined(separator: "; ")),
            ("evaluates", rollout.nextEvaluationAt.map {
                "the query guards every \(RolloutStep.format(milliseconds: rollout.intervalMilliseconds)), next at \(Terminal.time($0))"
            } ?? "—"),
            ("failures", "\(rollout.failures) (aborts after \(rollout.failureLimit))"),
            ("started", "\(Terminal.time(rollout.startedAt)) by \(rollout.startedBy)"),
        ])
    ]
    if !rollout.reason.isEmpty { lines.append("reason:    \(rollout.reason)") }
    if !rollout.observations.isEmpty {
        lines.append(Terminal.table(
            header: ["#", "AT", "TARGET", "FROM", "METRICS", "RESULT"],
            rows: rollout.observations.map {
                let result = !$0.passed ? Terminal.red("BREACH") : $0.inconclusive.isEmpty ? Terminal.green("ok") : "inconclusive: " + $0.inconclusive.keys.sorted().joined(separator: ", ")
                return [String($0.id), "\($0.at)", $0.target.rawValue, $0.source.rawValue, Terminal.metrics($0.metrics), result]
            }))
    }
    return lines.joined(separator: "\n")
}
