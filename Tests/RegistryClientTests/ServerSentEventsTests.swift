import Testing

@testable import RegistryClient

/// The client's reading of `text/event-stream`, as the WHATWG standard defines it, whatever
/// pieces the bytes arrive in.
@Suite struct ServerSentEventsTests {
    typealias Message = ServerSentEvents.Message

    static let stream = ": mreg events after 4\nretry: 1000\n\nid: 5\nevent: branch.promote\ndata: {\"seq\":5}\n\n: heartbeat\n\nid: 6\nevent: rollout.abort\ndata: {\"seq\":6}\n\n"
    static let messages = [
        Message(id: "5", event: "branch.promote", data: #"{"seq":5}"#), Message(id: "6", event: "rollout.abort", data: #"{"seq":6}"#),
    ]

    @Test func messagesAreFoundInOnePiece() {
        var parser = ServerSentEvents()
        #expect(parser.feed(Array(Self.stream.utf8)) == Self.messages)
        #expect(parser.lastComment == "heartbeat")
    }

    @Test func messagesAreFoundWhateverThePiecesAre() {
        let bytes = Array(Self.stream.utf8)
        for size in [1, 2, 3, 7, 16, 50] {
            var parser = ServerSentEvents()
            var found: [Message] = []
            for start in stride(from: 0, to: bytes.count, by: size) {
                found += parser.feed(bytes[start..<min(start + size, bytes.count)])
            }
            #expect(found == Self.messages, "pieces of \(size) bytes")
        }
    }

    @Test func anyLineEndWorksAndDataLinesJoin() {
        var parser = ServerSentEvents()
        let crlf = parser.feed(Array("id: 1\r\ndata: a\r\ndata: b\r\n\r\nid: 2\rdata:c\r\r".utf8))
        #expect(crlf == [Message(id: "1", event: nil, data: "a\nb"), Message(id: "2", event: nil, data: "c")])
    }

    @Test func aMessageIsOnlyDispatchedByItsBlankLine() {
        var parser = ServerSentEvents()
        #expect(parser.feed(Array("id: 1\ndata: x\n".utf8)).isEmpty)
        #expect(parser.feed(Array("\n".utf8)) == [Message(id: "1", event: nil, data: "x")])
        #expect(parser.feed(Array("id: 2\n\n".utf8)).isEmpty, "no data: nothing to dispatch")
    }

    @Test func theFirstCommentNamesWhereTheStreamBegins() {
        var parser = ServerSentEvents()
        _ = parser.feed(Array(": mreg events after 41\n".utf8))
        #expect(parser.lastComment == "mreg events after 41")
    }
}
