import Foundation
import RegistryCore
import Testing

@testable import RegistryServer

/// How the server reads the answers of Prometheus's `/api/v1/query`: one number, or why not.
/// The bodies are those Prometheus 2.42 answers (the end-to-end test asks a real one).
@Suite struct PrometheusClientTests {
    private static func read(_ status: Int, _ body: String) -> Result<Double, GuardInconclusive> {
        PrometheusClient.value(status: status, body: Array(body.utf8))
    }

    @Test func oneSampleOrAScalarIsItsNumber() throws {
        let vector = #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1733616000.123,"0.0125"]}]}}"#
        #expect(try Self.read(200, vector).get() == 0.0125)
        #expect(try Self.read(200, #"{"status":"success","data":{"resultType":"scalar","result":[1733616000,"2"]}}"#).get() == 2)
    }

    @Test(arguments: [
        (200, #"{"status":"success","data":{"resultType":"vector","result":[]}}"#, "the query has no sample"),
        (200, #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"v":"1"},"value":[1,"1"]},{"metric":{"v":"2"},"value":[1,"2"]}]}}"#,
         "the query answers 2 series; it must answer one"),
        (200, #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}"#, "the query answers NaN"),
        (200, #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"+Inf"]}]}}"#, "the query answers +Inf"),
        (200, #"{"status":"success","data":{"resultType":"matrix","result":[]}}"#, "the query answers a matrix, not one number"),
        (400, #"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected <op:*>"}"#,
         "Prometheus refused the query: invalid parameter \"query\": 1:5: parse error"),
        (503, "Service Unavailable", "Prometheus answered 503 with no JSON"),
        (200, #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,3]}]}}"#, "Prometheus answered a malformed sample"),
    ])
    func anythingElseIsInconclusiveAndSaysWhy(status: Int, body: String, reason: String) {
        guard case .failure(let why) = Self.read(status, body) else {
            Issue.record("read a number from \(body)")
            return
        }
        #expect(why.reason.hasPrefix(reason), "\(why.reason)")
    }

    @Test func aQueryIsSentAsAFormWithEveryReservedByteEncoded() {
        #expect(PrometheusClient.formEncoded(#"sum(rate(e{v="1"}[5m])) + 1 / x&y=z"#)
            == "sum%28rate%28e%7Bv%3D%221%22%7D%5B5m%5D%29%29%20%2B%201%20%2F%20x%26y%3Dz")
    }

    @Test func anUnreachablePrometheusIsInconclusive() async throws {
        // Port 9 (discard): nothing listens on it here.
        let client = PrometheusClient(url: "http://127.0.0.1:9/", timeout: .seconds(2))
        let answer = await client.value(of: "up")
        await client.shutdown()
        guard case .failure(let why) = answer else {
            Issue.record("read a number from a closed port")
            return
        }
        #expect(why.reason.hasPrefix("Prometheus at http://127.0.0.1:9 did not answer: "), "\(why.reason)")
    }
}
