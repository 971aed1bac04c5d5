import ArgumentParser
import Foundation
import RegistryCore

extension Mreg {
    struct WebhookCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "webhook", abstract: "Send events to other systems as signed HTTP requests (admin; docs/EVENTS.md).",
            discussion: """
                mreg serve delivers every event that passes a subscription's filters, in order, signed as the
                Standard Webhooks specification says, retrying until the receiver takes it.
                """,
            subcommands: [Add.self, List.self, Show.self, Enable.self, Disable.self, Remove.self, Test.self, Deliveries.self, Redeliver.self])

        /// On a file, where the key that seals the secrets is; through a server it has its own.
        struct SecretsKeyOption: ParsableArguments {
            @Option(help: ArgumentHelp(
                "On a file: the secrets key file (default: the database path with .secrets-key added, as mreg serve uses).",
                valueName: "path"))
            var secretsKey: String?
        }

        struct Add: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "add",
                abstract: "Subscribe a URL to events; prints its signing secret once.",
                discussion: """
                    Events are audit actions (branch.promote, rollout.abort, version.register, …); * matches any run of characters.
                    Delivery starts with the next event.
                    Example: mreg webhook add --url https://deploy.example.com/hooks/mreg --events 'branch.*,rollout.abort' --model fraud
                    """)

            @OptionGroup var global: GlobalOptions
            @OptionGroup var key: SecretsKeyOption
            @Option(help: "Where to POST the events (http or https).") var url: String
            @Option(help: "Event types or patterns separated by commas (default: every event).") var events: String?
            @Option(help: "Only events about this model.") var model: String?
            @Option(help: "What the subscription is for.") var description: String?

            func run() async throws {
                let request = WebhookRequest(url: url, events: events, model: model, description: description)
                let issued = try await global.withRegistry(.writes) { try await $0.addWebhook(request, secretsKey: key.secretsKey) }
                global.emit(issued) {
                    """
                    Webhook \(issued.webhook.id) → \(issued.webhook.url) (\(WebhookCommand.filter(issued.webhook))).
                    Its signing secret, shown only now:
                    \(issued.secret)
                    """
                }
            }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List webhook subscriptions (never their secrets).")

            @OptionGroup var global: GlobalOptions

            func run() async throws {
                let webhooks = try await global.withRegistry(.reads) { try await $0.webhooks() }
                global.emit(Page(items: webhooks, nextCursor: nil)) {
                    guard !webhooks.isEmpty else { return "No webhooks yet. Add one with: mreg webhook add --url URL --events 'branch.*'" }
                    return Terminal.table(
                        header: ["ID", "URL", "EVENTS", "DELIVERED TO", "STATUS"],
                        rows: webhooks.map { [$0.id, $0.url, WebhookCommand.filter($0), "#\($0.deliveredSeq)", WebhookCommand.status($0)] })
                }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one webhook subscription.")

            @OptionGroup var global: GlobalOptions
            @Argument(help: "The webhook's id (wh_…).") var id: String

            func run() async throws {
                let webhook = try await global.withRegistry(.reads) { try await $0.webhook(id: id) }
                global.emit(webhook) { WebhookCommand.describe(webhook) }
            }
        }

        struct Enable: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "enable", abstract: "Deliver again, from where deliveries stopped (the events since included).")

            @OptionGroup var global: GlobalOptions
            @Argument(help: "The webhook's id (wh_…).") var id: String

            func run() async throws {
                let webhook = try await global.withRegistry(.writes) { try await $0.enableWebhook(id: id) }
                global.emit(webhook) { "Enabled webhook \(webhook.id); it resumes after event #\(webhook.deliveredSeq)." }
            }
        }

        struct Disable: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "disable", abstract: "Stop delivering until enabled again; the events wait in the log.")

            @OptionGroup var global: GlobalOptions
            @Argument(help: "The webhook's id (wh_…).") var id: String
            @Option(help: "Why (shown by webhook show).") var reason: String?

            func run() async throws {
                let webhook = try await global.withRegistry(.writes) { try await $0.disableWebhook(id: id, reason: reason) }
                global.emit(webhook) { "Disabled webhook \(webhook.id)." }
            }
        }

        struct Remove: AsyncParsableCommand {
            static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a subscription and its delivery log.")

            @OptionGroup var global: GlobalOptions
            @Argument(help: "The webhook's id (wh_…).") var id: String

            func run() async throws {
                let webhook = try await global.withRegistry(.writes) { try await $0.removeWebhook(id: id) }
                global.emit(webhook) { "Removed webhook \(webhook.id) (\(webhook.url))." }
            }
        }

        struct Test: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "test", abstract: "Send a signed webhook.test message now; exit 1 when the receiver does not take it.")

            @OptionGroup var global: GlobalOptions
            @OptionGroup var key: SecretsKeyOption
            @Argument(help: "The webhook's id (wh_…).") var id: String

            func run() async throws {
                let attempt = try await global.withRegistry(.writes) { try await $0.testWebhook(id: id, secretsKey: key.secretsKey) }
                global.emit(attempt) { WebhookCommand.describe(attempt) }
                if attempt.outcome != .delivered { throw ExitCode(ExitStatus.other) }
            }
        }

        struct Deliveries: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "deliveries", abstract: "List the attempts to deliver to a webhook, newest first.")

            @OptionGroup var global: GlobalOptions
            @Argument(help: "The webhook's id (wh_…).") var id: String
            @Option(help: "At most this many attempts.") var limit = 50
            @Option(help: "Continue after a previous page (its next_cursor).") var cursor: String?

            func run() async throws {
                let page = try await global.withRegistry(.reads) { try await $0.webhookDeliveries(id: id, limit: limit, cursor: cursor) }
                global.emit(page) {
                    guard !page.items.isEmpty else { return "No deliveries to \(id) yet." }
                    return Terminal.table(
                        header: ["AT", "EVENT", "TYPE", "ATTEMPT", "STATUS", "MS", "OUTCOME", "ERROR"],
                        rows: page.items.map {
                            ["\($0.at)", $0.event.map { "#\($0)" } ?? $0.kind.rawValue, $0.type, String($0.attempt),
                             $0.status.map(String.init) ?? "-", Terminal.number(($0.latencyMs * 10).rounded() / 10), $0.outcome.rawValue,
                             $0.error ?? ""]
                        }) + (page.nextCursor.map { "\n(more: --cursor \($0))" } ?? "")
                }
            }
        }

        struct Redeliver: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "redeliver", abstract: "Send one event again now, with its webhook-id; exit 1 when the receiver does not take it.",
                discussion: "Example: mreg webhook redeliver wh_3f2a9c01b7de --event 42")

            @OptionGroup var global: GlobalOptions
            @OptionGroup var key: SecretsKeyOption
            @Argument(help: "The webhook's id (wh_…).") var id: String
            @Option(help: "The event's seq (its id in the log).") var event: Int

            func run() async throws {
                let attempt = try await global.withRegistry(.writes) {
                    try await $0.redeliverWebhook(id: id, event: event, secretsKey: key.secretsKey)
                }
                global.emit(attempt) { WebhookCommand.describe(attempt) }
                if attempt.outcome != .delivered { throw ExitCode(ExitStatus.other) }
            }
        }

        static func filter(_ webhook: Webhook) -> String {
            (webhook.events.isEmpty ? "every event" : webhook.events.joined(separator: ",")) + (webhook.model.map { " of \($0)" } ?? "")
        }

        static func status(_ webhook: Webhook) -> String {
            if !webhook.enabled { return Terminal.red("disabled") }
            return webhook.failingSince.map { Terminal.red("failing since \(Terminal.relative($0))") } ?? Terminal.green("enabled")
        }

        static func describe(_ webhook: Webhook) -> String {
            Terminal.fields([
                ("id", webhook.id), ("url", webhook.url), ("events", filter(webhook)),
                ("description", webhook.description.isEmpty ? "-" : webhook.description), ("status", status(webhook)),
                ("disabled because", webhook.disabledReason ?? "-"), ("delivered to", "#\(webhook.deliveredSeq)"),
                ("created", "\(webhook.createdAt) by \(webhook.createdBy)"),
            ])
        }

        static func describe(_ attempt: WebhookDelivery) -> String {
            let what = attempt.event.map { "event #\($0) (\(attempt.type))" } ?? attempt.type
            let answer = attempt.status.map { "answered \($0)" } ?? (attempt.error ?? "no answer")
            let verdict = attempt.outcome == .delivered ? Terminal.green("delivered") : Terminal.red("failed")
            return "\(verdict): \(what) as \(attempt.messageId); the receiver \(answer) in \(Terminal.number((attempt.latencyMs * 10).rounded() / 10)) ms."
        }
    }
}
