import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Testing

@testable import RegistryClient

/// Which failures the CLI may try again, and which it must not: a change that may have reached
/// the server is never sent twice.
@Suite struct TransportFailureTests {
    static let server = "https://mreg.example.com"

    static func failure(_ error: any Error) -> TransportFailure {
        TransportFailure(error, server: server, timeout: .seconds(30))
    }

    @Test func whatFailsBeforeSendingIsUnsentAndPasses() {
        for error: any Error in [HTTPClientError.connectTimeout, HTTPClientError.tlsHandshakeTimeout, IOError(errnoCode: ECONNREFUSED, reason: "connect")] {
            let failure = Self.failure(error)
            #expect(!failure.sent, "\(error)")
            #expect(failure.transient, "\(error)")
            #expect(failure.reason.hasPrefix("cannot reach \(Self.server)"), "\(failure.reason)")
        }
    }

    @Test func aResetOrALostAnswerMayHaveBeenCarriedOut() {
        for error: any Error in [
            IOError(errnoCode: ECONNRESET, reason: "read"), IOError(errnoCode: EPIPE, reason: "write"),
            HTTPClientError.remoteConnectionClosed, HTTPClientError.readTimeout, HTTPClientError.deadlineExceeded,
        ] {
            let failure = Self.failure(error)
            #expect(failure.sent, "\(error) may come after the request went out")
            #expect(failure.transient, "\(error)")
        }
        #expect(Self.failure(HTTPClientError.readTimeout).reason == "\(Self.server) did not answer within 30 s")
    }

    @Test func tlsFailuresAndUnknownErrorsAreFinal() {
        for error: any Error in [NIOSSLError.handshakeFailed(.sslError([])), HTTPClientError.invalidURL, NIOTooManyBytesError(maxBytes: 1)] {
            #expect(!Self.failure(error).transient, "\(error)")
        }
    }

    @Test func aFailureAfterA2xxAnswerWasCarriedOut() {
        let failure = Self.failure(IOError(errnoCode: ECONNREFUSED, reason: "connect")).afterAnswer
        #expect(failure.sent)
    }

    @Test func theMessageSaysWhenAChangeMayHaveBeenMade() {
        let failure = Self.failure(HTTPClientError.remoteConnectionClosed)
        #expect(failure.error(attempts: 1, mayHaveChanged: false).message == "\(Self.server) closed the connection before it answered")
        #expect(failure.error(attempts: 4, mayHaveChanged: false).message.hasSuffix("(tried 4 times)"))
        #expect(failure.error(attempts: 1, mayHaveChanged: true).message.contains("the change may have been made, so it was not sent again"))
    }

    @Test(arguments: [(Duration.seconds(30), "30 s"), (.milliseconds(300), "0.3 s"), (.milliseconds(1250), "1.25 s")])
    func timeoutsAreWrittenInSeconds(duration: Duration, text: String) {
        #expect(TransportFailure.seconds(duration) == text)
    }
}

@Suite struct RetryPolicyTests {
    @Test func boundsDoubleUpToTheMaximum() {
        let policy = RetryPolicy(attempts: 6, baseDelay: .milliseconds(200), maximumDelay: .seconds(2))
        #expect((1...6).map { policy.delayBound(after: $0) } == [.milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600), .seconds(2), .seconds(2)])
    }

    @Test func waitsAreDrawnWithinTheBound() {
        let policy = RetryPolicy()
        var generator = SystemRandomNumberGenerator()
        for attempt in 1...4 {
            for _ in 0..<200 {
                let wait = policy.delay(after: attempt, using: &generator)
                #expect(wait >= .zero && wait <= policy.delayBound(after: attempt))
            }
        }
    }

    @Test func atLeastOneAttempt() {
        #expect(RetryPolicy(attempts: 0).attempts == 1)
    }
}
