import Synchronization

/// Which events a reader of the event stream wants (contract section 10): every audit entry is
/// an event, its `seq` the event's id and its `action` the event's type.
public struct EventFilter: Sendable, Hashable {
    /// Only entries about this model; nil for all.
    public let model: String?
    /// Type patterns, any of which an entry's action must match; `*` stands for any run of
    /// characters (`branch.*`, `rollout.abort`). Empty for every type.
    public let types: [String]

    /// - Parameters:
    ///   - types: patterns separated by commas, as `types=` and `--types` take them.
    /// - Throws: `INVALID_ARGUMENT` for an empty pattern or one with characters no action has.
    public init(model: String? = nil, types: String? = nil) throws(RegistryError) {
        if let model, model.isBlank { throw RegistryError(.invalidArgument, "model must not be empty") }
        self.model = model
        var patterns: [String] = []
        for pattern in types?.split(separator: ",", omittingEmptySubsequences: false) ?? [] {
            guard !pattern.isEmpty, pattern.utf8.allSatisfy(Self.isPatternByte) else {
                throw RegistryError(
                    .invalidArgument,
                    "types must be event types or patterns such as branch.* separated by commas, not \"\(types ?? "")\"")
            }
            patterns.append(String(pattern))
        }
        self.types = patterns
    }

    /// Every event.
    public static let all = try! EventFilter()

    public func matches(_ entry: AuditEntry) -> Bool {
        if let model, entry.model != model { return false }
        return types.isEmpty || types.contains { Self.glob($0.utf8, matches: entry.action.utf8) }
    }

    /// Letters, digits, `.`, `_`, `-` and `*`.
    private static func isPatternByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "*"):
            return true
        default:
            return false
        }
    }

    /// Whether `text` matches `pattern`, where `*` matches any run of bytes: the usual
    /// backtracking to the last star, linear for the patterns people write.
    static func glob(_ pattern: String.UTF8View, matches text: String.UTF8View) -> Bool {
        let pattern = Array(pattern), text = Array(text)
        var p = 0, t = 0
        var star: Int?, starText = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = p
                starText = t
                p += 1
            } else if p < pattern.count, pattern[p] == text[t] {
                p += 1
                t += 1
            } else if let star {
                p = star + 1
                starText += 1
                t = starText
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }
}

/// Events read from the log: those that matched, and how far the log was read, which is where
/// the next read starts (entries that did not match are passed over, not read again).
public struct EventPage: Sendable {
    public let events: [AuditEntry]
    public let through: Int

    public init(events: [AuditEntry], through: Int) {
        self.events = events
        self.through = through
    }
}

extension Registry {
    /// Where reading events starts: after `seq`, or after the log's head when nil; and that head.
    /// - Throws: `CONFLICT` when `seq` is past the head: whoever asks has seen events this log does
    ///   not hold (its file was restored from an older copy, or it is another registry) and must
    ///   read the state again, not wait for seqs that will name other changes.
    public func eventStart(after seq: Int?) throws(RegistryError) -> (after: Int, head: Int) {
        let head = try auditHead()
        guard let seq else { return (head, head) }
        guard seq <= head else {
            throw RegistryError(
                .conflict, "event \(seq) is past the newest event of this registry (\(head)); read the state again and follow from \(head)")
        }
        return (seq, head)
    }

    /// Entries after `seq`, through `last` at most, that `filter` lets through, reading at most
    /// `scan` entries of the log. Only committed changes are in the log, and mreg commits with
    /// `synchronous=FULL`, so every event read here is durable (docs/EVENTS.md).
    public func events(after seq: Int, through last: Int, _ filter: EventFilter, scan: Int = AuditExport.pageSize) throws(RegistryError)
        -> EventPage
    {
        let entries = try auditEntries(after: seq, through: last, limit: scan)
        return EventPage(events: entries.filter(filter.matches), through: entries.last?.seq ?? seq)
    }

    /// Calls `observer` after every change this `Registry` commits (from the committing task,
    /// so it must return at once): the server's event stream wakes on it rather than polling.
    public func observeCommits(_ observer: @escaping @Sendable () -> Void) {
        commitObservers.withLock { $0.append(observer) }
    }
}
