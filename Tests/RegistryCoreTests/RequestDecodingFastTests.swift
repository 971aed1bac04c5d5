import Foundation
import Testing

@testable import RegistryCore

/// The fast path of `RequestDecoding` (RequestDecoding+Fast.swift) decodes what Foundation's
/// path decodes, to the same value, and leaves everything else to it.
@Suite struct RequestDecodingFastTests {
    /// What the Foundation path alone makes of `text`: the value, or the error's message.
    private static func slow<T: Decodable>(_ type: T.Type, _ text: String, allowedKeys: Set<String>) -> Result<T, RegistryError> {
        let data = Data(text.utf8)
        do {
            let object = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
            guard let dictionary = object as? [String: Any] else { return .failure(RegistryError(.invalidArgument, "the request body must be a JSON object")) }
            if dictionary.keys.contains(where: { !allowedKeys.contains($0) }) { return .failure(RegistryError(.invalidArgument, "unknown field")) }
            return .success(try JSONCoding.decoder().decode(type, from: data))
        } catch {
            return .failure(RegistryError(.invalidArgument, "\(error)"))
        }
    }

    private static func fast<T: FastRequestDecodable>(_ type: T.Type, _ text: String, allowedKeys: Set<String>) -> T? {
        RequestDecoding.fastObject(Array(text.utf8), allowedKeys: allowedKeys).flatMap { T(fields: $0) }
    }

    /// Whenever the fast path accepts a body, the Foundation path accepts it too, with the same value.
    private static func expectAgreement<T: FastRequestDecodable & Decodable & Equatable>(
        _ type: T.Type, _ bodies: [String], allowedKeys: Set<String>, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Int {
        var accepted = 0
        for body in bodies {
            guard let fast = fast(type, body, allowedKeys: allowedKeys) else { continue }
            accepted += 1
            switch slow(type, body, allowedKeys: allowedKeys) {
            case .success(let value): #expect(value == fast, "\(body)", sourceLocation: sourceLocation)
            case .failure(let error): Issue.record("fast path accepted \(body), Foundation refused it: \(error)", sourceLocation: sourceLocation)
            }
        }
        return accepted
    }

    static let registerBodies = [
        #"{"artifact_uri":"s3://b/m/1"}"#,
        #"{"artifact_uri":"s3:\/\/b","params":{"lr":"0.01","a b":"é 模型"},"metrics":{"acc":0.93,"n":12,"tiny":1e-7,"neg":-2.5E+3,"z":-0},"tags":{}}"#,
        #" { "artifact_uri" : "x" , "digest" : null , "parent" : 3 , "description" : "line\nbreak \"quoted\" \\ back" } "#,
        #"{"artifact_uri":"x","parent":3.0}"#,
        #"{"artifact_uri":"x","digest":"sha256:aaaa","metrics":{"big":123456789012345678901234567890}}"#,
        // Refused or left to the slow path: wrong types, fractions, unknown or duplicate keys,
        // \u escapes, invalid JSON, trailing garbage, leading zeros, raw control characters.
        #"{"artifact_uri":"x","parent":1.5}"#, #"{"artifact_uri":"x","parent":"3"}"#, #"{"artifact_uri":3}"#,
        #"{"artifact_uri":"x","params":{"lr":0.01}}"#, #"{"artifact_uri":"x","metrics":{"acc":"0.9"}}"#,
        #"{"artifact_uri":"x","artifact":"y"}"#, #"{"artifact_uri":"x","artifact_uri":"y"}"#,
        #"{"artifact_uri":"\u00e9"}"#, #"{"artifact_uri":"x",}"#, #"{"artifact_uri":"x"} x"#, #"{"artifact_uri":"x","parent":03}"#,
        "{\"artifact_uri\":\"a\u{01}b\"}", #"{"artifact_uri":"x","metrics":{"inf":1e999}}"#, #"["artifact_uri"]"#, "", "{",
        #"{"params":{}}"#, #"{"artifact_uri":null}"#, #"{"artifact_uri":"x","tags":[]}"#,
    ]

    @Test func registrationBodies() {
        let accepted = Self.expectAgreement(RegisterRequest.self, Self.registerBodies, allowedKeys: RegisterRequest.allowedKeys)
        #expect(accepted == 5, "the first five bodies are plain registrations the fast path must take")
    }

    @Test func promotionAndRollbackBodies() {
        let promoteKeys: Set<String> = ["to", "version", "expect", "reason", "dry_run", "force"]
        let promotes = [
            #"{"to":"release","version":2}"#, #"{"to":"master","version":2,"expect":0,"reason":"go","dry_run":true,"force":false}"#,
            #"{"to":"release","version":null,"reason":null}"#,
            #"{"to":"prod","version":2}"#, #"{"version":2}"#, #"{"to":"release","dry_run":"yes"}"#, #"{"to":"release","version":2.5}"#,
        ]
        #expect(Self.expectAgreement(PromoteRequest.self, promotes, allowedKeys: promoteKeys) == 3)
        let rollbackKeys: Set<String> = ["branch", "to", "reason", "expect"]
        let rollbacks = [
            #"{"branch":"release","to":3,"reason":"bench"}"#, #"{"reason":"bad metrics"}"#, #"{"branch":null,"reason":"r","expect":4}"#,
            #"{"branch":"staging","reason":"r"}"#, #"{"to":"3","reason":"r"}"#,
        ]
        #expect(Self.expectAgreement(RollbackRequest.self, rollbacks, allowedKeys: rollbackKeys) == 3)
    }

    /// Bodies the fast path leaves alone still get the Foundation path's precise message.
    @Test func refusedBodiesKeepTheirMessages() throws {
        func message(_ body: String) -> String? {
            do {
                _ = try RequestDecoding.decode(RegisterRequest.self, from: Data(body.utf8), allowedKeys: RegisterRequest.allowedKeys)
                return nil
            } catch { return error.message }
        }
        #expect(message(#"{"artifact_uri":"x","parent":1.5}"#) == #"the request body: field "parent" must be a whole number"#)
        #expect(message(#"{"artifact_uri":"x","params":{"lr":0.01}}"#)?.contains(#""params.lr""#) == true)
        #expect(message(#"{"artifact_uri":"x","artifact":"y"}"#)?.contains(#"unknown field "artifact""#) == true)
        #expect(message("{") == "the request body is not valid JSON")
        #expect(try RequestDecoding.decode(RegisterRequest.self, from: Data(#"{"artifact_uri":"\u00e9"}"#.utf8)).artifactURI == "é")
    }
}
