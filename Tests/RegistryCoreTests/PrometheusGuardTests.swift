import Foundation
import Testing

@testable import RegistryCore

/// Guards that read Prometheus (contract section 11): their policy form, their queries with the
/// rollout's values substituted, and the decisions their readings lead to, under a fixed clock.
@Suite struct PrometheusGuardTests {
    private static let policy = """
        master:
          rollout:
            auto: true
            interval: 5s
            steps: [{percent: 10, hold: 10s}, 100]
            failure_limit: 1
            guards:
              error_rate:
                query: sum(rate(errors_total{model="{{model}}",version="{{candidate}}"}[1m])) / sum(rate(requests_total{model="{{model}}",version="{{candidate}}"}[1m]))
                max: 0.02
              error_ratio:
                query: sum(rate(errors_total{model="{{model}}",version="{{version}}"}[1m]))
                max_ratio_to_baseline: 1.5
              p99_ms: "<= 250"
        """

    @Test func aPolicyNamesQueryGuardsBesidePushedOnes() throws {
        let rule = try #require(try PolicyDocument.parse(Self.policy).master?.rollout)
        #expect(rule.intervalMilliseconds == 5000)
        #expect(rule.guards?["p99_ms"] == .pushed(Threshold(.lessOrEqual, 250)))
        #expect(rule.guards?["error_rate"]?.prometheus?.bound == .max(0.02))
        #expect(rule.guards?["error_ratio"]?.description == "<= 1.5 × the baseline")
        // The stored form reads back the same.
        let json = JSONCoding.text(rule.guards ?? [:])
        #expect(try JSONCoding.decode([String: RolloutGuard].self, from: json) == rule.guards)
        #expect(json.contains(#""error_ratio":{"max_ratio_to_baseline":1.5,"query":"#))
    }

    @Test(arguments: [
        ("guards: {e: {max: 1}}", "line 4: master.rollout.guards.e needs a query"),
        ("guards: {e: {query: up, max: 1, min: 0}}", "line 4: master.rollout.guards.e takes exactly one of max, min, max_ratio_to_baseline"),
        ("guards: {e: {query: up}}", "line 4: master.rollout.guards.e takes exactly one of max, min, max_ratio_to_baseline"),
        ("guards: {e: {query: up, maximum: 1}}", "line 4: master.rollout.guards.e has an unknown key \"maximum\""),
        ("guards: {e: {query: up, max: lots}}", "line 4: master.rollout.guards.e.max must be a number"),
        ("guards: {e: {query: 'up{v=\"{{cand}}\"}', max: 1}}", "line 4: master.rollout.guards.e names {{cand}}"),
        ("guards: {e: {query: 'x{m=\"{{model}}\"}', max_ratio_to_baseline: 2}}", "line 4: master.rollout.guards.e compares the candidate with the baseline, so its query must name {{candidate}}"),
        ("guards: {e: {query: 'x{v=\"{{candidate}\"}', max: 1}}", "line 4: master.rollout.guards.e has a {{ with no }} after it"),
        ("guards: {e: {query: 'x{v=\"{{version}}\"}', max_ratio_to_baseline: 0}}", "line 4: master.rollout.guards.e max_ratio_to_baseline must be a number above 0"),
        ("guards: {e: {query: '', max: 1}}", "line 4: master.rollout.guards.e needs a query"),
        ("interval: 500ms", "line 4: master.rollout.interval must be at least 1s"),
        ("interval: often", "line 4: master.rollout.interval \"often\" is not a duration"),
    ])
    func aMalformedGuardIsRefusedWithItsLineAndKey(yaml: String, expected: String) {
        let document = "master:\n  rollout:\n    steps: [100]\n    \(yaml)\n"
        do {
            _ = try PolicyDocument.parse(document)
            Issue.record("accepted: \(yaml)")
        } catch {
            #expect(error.message.hasPrefix(expected), "\(error.message)")
        }
    }

    @Test(arguments: [
        "fraud", #"fraud"} or vector(1) #"#, #"a\"b"#, "line\nbreak", #"back\"#, "tab\tcr\r", "nul\u{0}bell\u{7}", "ünïcødé ✓",
    ])
    func aHostileValueStaysInsideItsString(model: String) throws {
        let query = try PrometheusGuard(query: #"errors_total{model="{{model}}",version="{{ version }}"}"#, bound: .max(1))
        let queries = try query.queries(model: model, candidate: 7, baseline: 6).get()
        #expect(queries.count == 1)
        let text = queries[0]
        #expect(text.hasPrefix(#"errors_total{model=""#) && text.hasSuffix(#"",version="7"}"#), "\(text)")
        // Inside the quotes: every quote and backslash escaped, no raw control character, and
        // unescaping gives the value back (Go's rules, which PromQL's strings follow).
        let inside = String(text.dropFirst(#"errors_total{model=""#.count).dropLast(#"",version="7"}"#.count))
        #expect(!inside.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }, "\(inside)")
        #expect(Self.unescape(inside) == model, "\(inside)")
    }

    /// Go's double-quoted string unescaping, for the escapes `PrometheusGuard.escape` writes; nil
    /// for a quote that would end the string.
    private static func unescape(_ text: String) -> String? {
        var result = ""
        var scalars = text.unicodeScalars.makeIterator()
        while let scalar = scalars.next() {
            if scalar == "\"" { return nil }
            guard scalar == "\\" else {
                result.unicodeScalars.append(scalar)
                continue
            }
            switch scalars.next() {
            case "\\": result += "\\"
            case "\"": result += "\""
            case "n": result += "\n"
            case "r": result += "\r"
            case "t": result += "\t"
            case "x":
                guard let high = scalars.next(), let low = scalars.next(), let value = UInt32("\(high)\(low)", radix: 16),
                    let decoded = Unicode.Scalar(value)
                else { return nil }
                result.unicodeScalars.append(decoded)
            default: return nil
            }
        }
        return result
    }

    @Test func aRatioGuardAsksForTheCandidateThenTheBaseline() throws {
        let ratio = try PrometheusGuard(query: #"errors{m="{{model}}",v="{{version}}",c="{{candidate}}",b="{{baseline}}"}"#, bound: .maxRatioToBaseline(1.5))
        #expect(try ratio.queries(model: "fraud", candidate: 7, baseline: 6).get() == [
            #"errors{m="fraud",v="7",c="7",b="6"}"#, #"errors{m="fraud",v="6",c="6",b="6"}"#,
        ], "for the baseline's reading {{candidate}} stands for the baseline")
        #expect(!ratio.judge(name: "e", answers: [1, 1e-320]).check.passed, "a ratio past any number breaches")
        #expect(ratio.judge(name: "e", answers: [3, 2]).check.passed)  // 1.5 times: at the bound
        #expect(!ratio.judge(name: "e", answers: [3.01, 2]).check.passed)
        #expect(ratio.judge(name: "e", answers: [0, 0]).check.passed, "no errors on either side")
        let worse = ratio.judge(name: "e", answers: [0.01, 0])
        #expect(!worse.check.passed && worse.value == nil && worse.check.message.hasPrefix("e is 0.01 against the baseline's 0, required <= 1.5 × the baseline (query: errors{"))
    }

    @Test func evaluationsDecideLikeObservationsAndInconclusiveOnesDecideNothing() async throws {
        let clock = TestClock()
        try await withTemporaryRegistry(clock: { clock() }) { registry in
            try await registry.shipVersion("fraud")
            let candidate = try await registry.registerVersion("fraud").version
            try await registry.promoteVersion("fraud", to: .release, version: candidate)
            _ = try await registry.setPolicy(model: "fraud", document: Self.policy, by: .alice)
            var rollout = try await registry.startRollout(model: "fraud", RolloutStartRequest(version: candidate), by: .bob)
            #expect(rollout.intervalMilliseconds == 5000 && rollout.nextEvaluationAt == clock(), "a new step is evaluated at once")
            #expect(try registry.rolloutsToWatch().map(\.id) == [rollout.id])

            // Prometheus unreachable: inconclusive, recorded, and nothing decided.
            let down: Result<[Double], GuardInconclusive> = .failure(GuardInconclusive("Prometheus at http://p:9090 did not answer: connection refused"))
            let started = rollout
            rollout = try #require(try await registry.recordEvaluation(of: started, readings: ["error_rate": down, "error_ratio": down]))
            #expect(rollout.failures == 0 && rollout.state == .progressing)
            #expect(rollout.guardStatus.map(\.verdict) == [.inconclusive, .inconclusive, .unknown])
            #expect(rollout.nextEvaluationAt == clock.at(clock(), plus: 5000))
            #expect(try await registry.recordEvaluation(of: started, readings: [:]) == nil,
                    "another server evaluated since: nothing recorded")
            clock.advance(milliseconds: 10_000)
            rollout = try registry.rollout(model: "fraud")
            #expect(rollout.next.action == .wait && rollout.next.reason.hasPrefix("error_rate is inconclusive: Prometheus at http://p:9090 did not answer"))
            #expect(try await registry.advanceAutomatically(model: "fraud", rollout: rollout.id) == nil)

            // Readings that hold, and the pushed guard observed: the step is taken.
            let holding: [String: Result<[Double], GuardInconclusive>] = ["error_rate": .success([0.01]), "error_ratio": .success([0.02, 0.02])]
            rollout = try #require(try await registry.recordEvaluation(of: rollout, readings: holding))
            #expect(rollout.guardStatus.map(\.verdict) == [.holds, .holds, .unknown])
            rollout = try await registry.observeRollout(model: "fraud", metrics: ["p99_ms": 200], by: .bob)
            #expect(rollout.next.action == .advance && rollout.next.at == clock())
            rollout = try #require(try await registry.advanceAutomatically(model: "fraud", rollout: rollout.id))
            #expect(rollout.step == 2 && rollout.nextEvaluationAt == clock(), "step 2 is read at once")

            // A reading taken before the step changed (here paused and resumed) is not the new step's.
            let stale = rollout
            _ = try await registry.pauseRollout(model: "fraud", by: .bob)
            clock.advance(milliseconds: 1)
            rollout = try await registry.resumeRollout(model: "fraud", by: .bob)
            #expect(try await registry.recordEvaluation(of: stale, readings: holding) == nil)
            #expect(rollout.lastEvaluationID == nil, "no reading in the resumed step, in a full read as in the controller's")

            // Two breaches, more than failure_limit 1: the second aborts in its own transaction.
            for expected in [Rollout.State.progressing, .aborted] {
                rollout = try #require(try await registry.recordEvaluation(of: rollout, readings: ["error_rate": .success([0.05]), "error_ratio": .success([0.5, 0.25])]))
                #expect(rollout.state == expected)
            }
            let queries = try PolicyDocument.parse(Self.policy).master?.rollout?.guards?.mapValues { $0.prometheus?.query ?? "" } ?? [:]
            #expect(rollout.reason == "guard breached 2 times, more than the failure limit 1: error_rate is 0.05, required <= 0.02 (query: \(queries["error_rate"] ?? "")); error_ratio is 2 × the baseline (0.5 against the baseline's 0.25), required <= 1.5 × the baseline (query: \(queries["error_ratio"] ?? ""))", "\(rollout.reason)")
            let history = try registry.rolloutHistory(model: "fraud")
            let evaluations = history.filter { (try? $0.detail("source")) == .string("prometheus") }
            #expect(evaluations.count == 4 && evaluations.allSatisfy { $0.actor == "system" })
            #expect(try evaluations[0].detail("inconclusive") == .object(["error_rate": .string("Prometheus at http://p:9090 did not answer: connection refused"), "error_ratio": .string("Prometheus at http://p:9090 did not answer: connection refused")]))
            #expect(history.last?.action == "rollout.abort")
            #expect(try registry.verifyAudit(state: true).state?.ok == true)
        }
    }
}
