import RegistryCore

/// Reads a `text/event-stream` (the WHATWG HTML standard, "Server-sent events") piece by
/// piece as it arrives: lines end in LF, CR LF or CR; `field: value` lines build a message and a
/// blank line dispatches it; lines starting with `:` are comments (heartbeats).
struct ServerSentEvents {
    struct Message: Equatable {
        var id: String?
        var event: String?
        var data: String
    }

    /// The text of the last comment line, without its `:` and one space.
    private(set) var lastComment: String?
    private var line: [UInt8] = []
    private var afterCR = false
    private var id: String?
    private var event: String?
    private var data: [String] = []

    /// The messages that `piece` completes, in order.
    mutating func feed(_ piece: some Sequence<UInt8>) -> [Message] {
        var messages: [Message] = []
        for byte in piece {
            if afterCR {
                afterCR = false
                if byte == UInt8(ascii: "\n") { continue }
            }
            switch byte {
            case UInt8(ascii: "\r"):
                afterCR = true
                fallthrough
            case UInt8(ascii: "\n"):
                if let message = endLine() { messages.append(message) }
            default:
                line.append(byte)
            }
        }
        return messages
    }

    private mutating func endLine() -> Message? {
        defer { line.removeAll(keepingCapacity: true) }
        guard !line.isEmpty else {
            defer { id = nil; event = nil; data = [] }
            guard !data.isEmpty else { return nil }
            return Message(id: id, event: event, data: data.joined(separator: "\n"))
        }
        guard line.first != UInt8(ascii: ":") else {
            let text = line.dropFirst()
            lastComment = String(decoding: text.first == UInt8(ascii: " ") ? text.dropFirst() : text, as: UTF8.self)
            return nil
        }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let name = String(decoding: line[..<colon], as: UTF8.self)
        var value = line[colon...].dropFirst()
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        let text = String(decoding: value, as: UTF8.self)
        switch name {
        case "id": id = text
        case "event": event = text
        case "data": data.append(text)
        default: break  // `retry` and unknown fields
        }
        return nil
    }
}
