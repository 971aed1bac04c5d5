import Logging
import Synchronization
import Testing

@testable import RegistryServer

@Suite struct ServerLogHandlerTests {
    /// The lines a logger wrote.
    final class Lines: Sendable {
        let lines = Mutex<[String]>([])
        var all: [String] { lines.withLock { $0 } }
        func logger(level: Logger.Level = .info) -> Logger {
            var logger = Logger(label: "mreg") { label in ServerLogHandler(label: label, metadataProvider: nil) { line in self.lines.withLock { $0.append(line) } } }
            logger.logLevel = level
            return logger
        }
    }

    @Test func aLineCarriesTheLoggersAndTheCallsMetadataSortedByKey() throws {
        let lines = Lines()
        var logger = lines.logger()
        logger[metadataKey: "request_id"] = "r-1"
        logger[metadataKey: "hb.request.id"] = "h-1"
        logger.info("request", metadata: ["status": "200", "request_id": "r-2"], source: "RegistryServer")
        let line = try #require(lines.all.first)
        #expect(lines.all.count == 1)
        // StreamLogHandler's layout: time, level, label, metadata, [source], message.
        #expect(line.hasSuffix(" info mreg: hb.request.id=h-1 request_id=r-2 status=200 [RegistryServer] request\n"), "\(line)")
        let time = line.prefix(while: { $0 != " " })
        #expect(time.count == "2026-11-23T03:04:05+0000".count, "\(line)")
    }

    @Test func nothingIsWrittenBelowTheLevel() {
        let lines = Lines()
        var logger = lines.logger(level: .warning)
        logger[metadataKey: "request_id"] = "r-1"
        logger.info("request")
        logger.warning("slow")
        #expect(lines.all.count == 1)
        #expect(lines.all.first?.contains("warning mreg: request_id=r-1 [") == true, "\(lines.all)")
    }

    @Test func anErrorIsNamedInTheLine() {
        struct Broken: Error {}
        let lines = Lines()
        lines.logger().error("request failed", error: Broken())
        #expect(lines.all.first?.contains("error.type=") == true, "\(lines.all)")
    }
}
