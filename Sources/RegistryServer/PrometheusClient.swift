import AsyncHTTPClient
import Foundation
import NIOCore
import RegistryCore

/// Instant queries over Prometheus's HTTP API, for the rollout guards that read it (contract
/// section 11; https://prometheus.io/docs/prometheus/latest/querying/api/#instant-queries).
///
/// A guard needs one number. Anything else is *inconclusive*, with a sentence that says why:
/// Prometheus unreachable or refusing the query, no sample (the series does not exist yet),
/// several series (the query must `sum` or select them down to one), or not a number (`0/0`
/// when there is no traffic).
final class PrometheusClient: Sendable {
    /// The server's base address, without a trailing slash.
    let url: String
    private let client: HTTPClient
    private let timeout: Duration

    init(url: String, timeout: Duration = .seconds(5)) {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.timeout = timeout
        client = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(
                redirectConfiguration: .disallow, timeout: .init(connect: .init(timeout), read: .init(timeout))))
    }

    func shutdown() async {
        try? await client.shutdown()
    }

    /// The one number `query` answers now, or why there is none.
    func value(of query: String) async -> Result<Double, GuardInconclusive> {
        // POSTed as a form: a query in the URL would need `+` written as %2B, and may be long.
        var request = HTTPClientRequest(url: url + "/api/v1/query")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "user-agent", value: "mreg-rollouts")
        request.body = .bytes(ByteBuffer(string: "query=" + Self.formEncoded(query)))
        let status: Int, body: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: .init(timeout))
            status = Int(response.status.code)
            body = try await response.body.collect(upTo: 1 << 20)
        } catch {
            return .failure(GuardInconclusive("Prometheus at \(url) did not answer: \(WebhookSender.describe(error))"))
        }
        return Self.value(status: status, body: Array(buffer: body))
    }

    /// Reads an answer of `/api/v1/query`.
    static func value(status: Int, body: [UInt8]) -> Result<Double, GuardInconclusive> {
        guard case .object(let answer)? = try? JSONCoding.decode(JSONValue.self, from: body) else {
            return .failure(GuardInconclusive("Prometheus answered \(status) with no JSON"))
        }
        guard case .string("success")? = answer["status"] else {
            if case .string(let error)? = answer["error"] { return .failure(GuardInconclusive("Prometheus refused the query: \(error)")) }
            return .failure(GuardInconclusive("Prometheus answered \(status)"))
        }
        guard case .object(let data)? = answer["data"], case .string(let type)? = data["resultType"] else {
            return .failure(GuardInconclusive("Prometheus answered without a result"))
        }
        let sample: JSONValue?
        switch (type, data["result"]) {
        case ("scalar", let scalar?):
            sample = scalar
        case ("vector", .array(let series)?):
            guard series.count == 1 else {
                return .failure(GuardInconclusive(
                    series.isEmpty
                        ? "the query has no sample (no such series, or no data in its range yet)"
                        : "the query answers \(series.count) series; it must answer one (sum or select them)"))
            }
            guard case .object(let one) = series[0] else { return .failure(GuardInconclusive("Prometheus answered a malformed sample")) }
            sample = one["value"]
        default:
            return .failure(GuardInconclusive("the query answers a \(type), not one number"))
        }
        // A sample is [time, "value"]: the value is a string, so NaN and ±Inf can be written.
        guard case .array(let pair)? = sample, pair.count == 2, case .string(let text) = pair[1], let value = Double(text) else {
            return .failure(GuardInconclusive("Prometheus answered a malformed sample"))
        }
        guard value.isFinite else {
            return .failure(GuardInconclusive("the query answers \(text) (no traffic to divide by?)"))
        }
        return .success(value)
    }

    /// `application/x-www-form-urlencoded`: every byte but the unreserved ones percent-encoded.
    static func formEncoded(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
