import ArgumentParser
import Foundation
import RegistryCore

extension Mreg {
    struct Diff: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "diff",
            abstract: "Compare two versions: artifact, params, metrics, tags, test reports, score and lineage.",
            discussion: """
                A and B are each a version number, a branch, or BRANCH@TIME.
                Examples: mreg diff fraud 2 3 · mreg diff fraud master release · mreg diff fraud master@2026-11-01T00:00:00Z master
                """)

        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Argument(help: "The old side.") var from: String
        @Argument(help: "The new side.") var to: String

        func run() async throws {
            let (from, to) = (try VersionRef(parsing: from), try VersionRef(parsing: to))
            let diff = try await global.withRegistry(.reads) { try await $0.diff(model: name, from: from, to: to) }
            global.emit(diff) { describe(diff) }
        }
    }

    struct History: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "history",
            abstract: "Show the transitions of a model, newest first, or what each branch held at a time.",
            discussion: """
                Examples: mreg history fraud · mreg history fraud --branch master --limit 5
                          mreg history fraud --at 2026-11-01T12:00:00Z
                """)

        @OptionGroup var global: GlobalOptions
        @Argument var name: String
        @Option(help: "Only this branch.") var branch: Branch?
        @Option(help: "Show the version each branch held at this RFC 3339 time instead.") var at: Timestamp?
        @Option(help: "At most this many transitions.") var limit = 50
        @Option(help: "Continue after a previous page (its next_cursor).") var cursor: String?

        func run() async throws {
            if let at {
                let state = try await global.withRegistry(.reads) { try await $0.branches(model: name, at: at) }
                global.emit(state) {
                    "\(name) at \(at):\n" + Terminal.fields(Branch.allCases.map { ($0.rawValue, Terminal.version(state.branches[$0])) })
                }
                return
            }
            let history = try await global.withRegistry(.reads) { try await $0.history(model: name, branch: branch, limit: limit, cursor: cursor) }
            global.emit(history) {
                guard !history.transitions.isEmpty else { return "\(name) has no transitions yet." }
                return Terminal.table(
                    header: ["#", "AT", "KIND", "BRANCH", "MOVE", "ACTOR", "REASON"],
                    rows: history.transitions.map {
                        [String($0.id), "\($0.at)", $0.kind.rawValue, $0.branch.rawValue,
                         "\(Terminal.version($0.fromVersion)) → v\($0.toVersion)", $0.actor, $0.reason.isEmpty ? "-" : $0.reason]
                    }) + (history.nextCursor.map { "\n(more: --cursor \($0))" } ?? "")
            }
        }
    }
}

func describe(_ diff: VersionDiff) -> String {
    var lines = ["diff \(diff.model) v\(diff.from.version) → v\(diff.to.version)"
        + (diff.descends ? "  (v\(diff.to.version) descends from v\(diff.from.version))" : "  (no parent lineage between them)")]
    if diff.artifact.changed {
        lines.append("artifact:")
        if diff.artifact.fromURI != diff.artifact.toURI {
            lines.append(Terminal.red("  - \(diff.artifact.fromURI)"))
            lines.append(Terminal.green("  + \(diff.artifact.toURI)"))
        }
        if diff.artifact.fromDigest != diff.artifact.toDigest {
            lines.append("  digest \(diff.artifact.fromDigest ?? "-") → \(diff.artifact.toDigest ?? "-")")
        }
    } else {
        lines.append("artifact: unchanged (\(diff.to.artifactURI))")
    }
    func mapSection(_ title: String, _ changes: VersionDiff.MapChanges) {
        guard !changes.isEmpty else { return lines.append("\(title): unchanged") }
        lines.append("\(title):")
        for (key, value) in changes.added.sorted(by: { $0.key < $1.key }) { lines.append(Terminal.green("  + \(key)=\(value)")) }
        for (key, value) in changes.removed.sorted(by: { $0.key < $1.key }) { lines.append(Terminal.red("  - \(key)=\(value)")) }
        for (key, change) in changes.changed.sorted(by: { $0.key < $1.key }) { lines.append("  ~ \(key): \(change.from) → \(change.to)") }
    }
    func metricRows(_ metrics: [String: VersionDiff.MetricDelta], indent: String) -> String {
        Terminal.table(header: ["\(indent)METRIC", "FROM", "TO", "DELTA", "CHANGE"], rows: metrics.sorted { $0.key < $1.key }.map { name, m in
            ["\(indent)\(name)", m.from.map(Terminal.number) ?? "-", m.to.map(Terminal.number) ?? "-",
             m.delta.map(Terminal.signed) ?? (m.from == nil ? "(new)" : "(gone)"),
             m.relative.map { (($0 > 0 ? "+" : "") + String(format: "%.2f", $0 * 100) + "%") } ?? "-"]
        })
    }
    mapSection("params", diff.params)
    if diff.metrics.isEmpty { lines.append("metrics: none") } else { lines.append("metrics:"); lines.append(metricRows(diff.metrics, indent: "  ")) }
    mapSection("tags", diff.tags)
    if diff.reports.isEmpty {
        lines.append("reports: none on either side")
    } else {
        lines.append("reports:")
        for (suite, change) in diff.reports.sorted(by: { $0.key < $1.key }) {
            let from = change.from?.rawValue ?? "none"
            let to = change.to?.rawValue ?? "none"
            let note = !change.statusChanged ? "" : (change.to == .passed ? Terminal.green("  fixed") : Terminal.red("  changed"))
            lines.append("  \(suite): \(from) → \(to)\(note)")
            let changed = change.metrics.filter { $0.value.delta != 0 }
            if !changed.isEmpty { lines.append(metricRows(changed, indent: "    ")) }
        }
    }
    if let from = diff.score.from, let to = diff.score.to {
        lines.append("score: \(Terminal.number(from)) → \(Terminal.number(to)) (\(Terminal.signed(to - from)))")
    } else {
        lines.append("score: - (no score rule in the policy, or a weighted metric is missing)")
    }
    return lines.joined(separator: "\n")
}
