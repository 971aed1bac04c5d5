import Foundation
import Testing

@testable import RegistryCore

/// The one JSON reader (`JSONParser` + `JSONValueDecoder`) against Foundation's
/// `JSONSerialization` + `JSONDecoder` as the oracle: the same documents accepted, to the same
/// values; the same ones refused, with a message that names the field. Two intended
/// differences, both RFC 8259: a key that appears twice is refused (Foundation's two halves
/// disagree on which value wins), and so is a comma before `}` (Foundation takes it).
@Suite struct JSONParserTests {
    /// What Foundation makes of `text` as a `T`, or nil when it refuses it.
    private static func foundation<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        let data = Data(text.utf8)
        guard (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) is [String: Any] else { return nil }
        return try? JSONDecoder().decode(type, from: data)
    }

    private static func ours<T: Decodable>(_ type: T.Type, _ text: String) -> T? {
        try? RequestDecoding.decode(type, from: Array(text.utf8))
    }

    /// Every body: accepted by both to the same value, or refused by both.
    private static func expectAgreement<T: Decodable & Equatable>(
        _ type: T.Type, _ bodies: [String], sourceLocation: SourceLocation = #_sourceLocation
    ) -> Int {
        var accepted = 0
        for body in bodies {
            let mine = ours(type, body)
            #expect(mine == foundation(type, body), "\(body)", sourceLocation: sourceLocation)
            if mine != nil { accepted += 1 }
        }
        return accepted
    }

    static let registerBodies = [
        #"{"artifact_uri":"s3://b/m/1"}"#,
        #"{"artifact_uri":"s3:\/\/b","params":{"lr":"0.01","a b":"é 模型"},"metrics":{"acc":0.93,"n":12,"tiny":1e-7,"neg":-2.5E+3,"z":-0},"tags":{}}"#,
        #" { "artifact_uri" : "x" , "digest" : null , "parent" : 3 , "description" : "line\nbreak \"quoted\" \\ back \b\f\r\t" } "#,
        #"{"artifact_uri":"x","parent":3.0}"#, #"{"artifact_uri":"x","parent":3e0}"#,
        #"{"artifact_uri":"x","digest":"sha256:aaaa","metrics":{"big":123456789012345678901234567890}}"#,
        #"{"artifact_uri":"\u00e9\u6a21\ud83d\ude80\u0041"}"#, #"{"artifact_uri":"\u0000"}"#,
        // Refused by both: wrong types, fractions, invalid JSON, trailing text, leading zeros,
        // raw control characters, lone surrogates, numbers beyond a Double, not an object.
        #"{"artifact_uri":"x","parent":1.5}"#, #"{"artifact_uri":"x","parent":"3"}"#, #"{"artifact_uri":3}"#,
        #"{"artifact_uri":"x","params":{"lr":0.01}}"#, #"{"artifact_uri":"x","metrics":{"acc":"0.9"}}"#,
        #"{"artifact_uri":"x"} x"#, #"{"artifact_uri":"x","parent":03}"#, #"{"artifact_uri":"x","parent":-}"#,
        #"{"artifact_uri":"x","parent":1.}"#, #"{"artifact_uri":"x","parent":.5}"#, #"{"artifact_uri":"x","parent":1e}"#,
        "{\"artifact_uri\":\"a\u{01}b\"}", #"{"artifact_uri":"\ud800"}"#, #"{"artifact_uri":"\udc00x"}"#, #"{"artifact_uri":"\x"}"#,
        #"{"artifact_uri":"x","metrics":{"inf":1e999}}"#, #"["artifact_uri"]"#, "", "{", "nul", #"{"artifact_uri":"x""#,
        #"{"params":{}}"#, #"{"artifact_uri":null}"#, #"{"artifact_uri":"x","tags":[]}"#, #"{'artifact_uri':'x'}"#,
    ]

    @Test func registrationBodiesDecodeAsFoundationDecodesThem() {
        #expect(Self.expectAgreement(RegisterRequest.self, Self.registerBodies) == 8)
    }

    @Test func promotionAndRollbackBodiesDecodeAsFoundationDecodesThem() {
        let promotes = [
            #"{"to":"release","version":2}"#, #"{"to":"master","version":2,"expect":0,"reason":"go","dry_run":true,"force":false}"#,
            #"{"to":"release","version":null,"reason":null}"#,
            #"{"to":"prod","version":2}"#, #"{"version":2}"#, #"{"to":"release","dry_run":"yes"}"#, #"{"to":"release","version":2.5}"#,
        ]
        #expect(Self.expectAgreement(PromoteRequest.self, promotes) == 3)
        let rollbacks = [
            #"{"branch":"release","to":3,"reason":"bench"}"#, #"{"reason":"bad metrics"}"#, #"{"branch":null,"reason":"r","expect":4}"#,
            #"{"branch":"staging","reason":"r"}"#, #"{"to":"3","reason":"r"}"#,
        ]
        #expect(Self.expectAgreement(RollbackRequest.self, rollbacks) == 3)
    }

    @Test func duplicateKeysAndTrailingCommasAreRefused() {
        for body in [#"{"artifact_uri":"x","artifact_uri":"y"}"#, #"{"artifact_uri":"x",}"#, #"{"artifact_uri":"x","tags":{"a":"1","a":"2"}}"#] {
            #expect(Self.ours(RegisterRequest.self, body) == nil, "\(body)")
        }
    }

    @Test func refusalsNameTheFieldOrThePlace() {
        func message(_ body: String) -> String? {
            do {
                _ = try RequestDecoding.decode(RegisterRequest.self, from: Array(body.utf8), allowedKeys: RegisterRequest.allowedKeys)
                return nil
            } catch { return error.message }
        }
        #expect(message(#"{"artifact_uri":"x","parent":1.5}"#) == #"the request body: field "parent" must be a whole number"#)
        #expect(message(#"{"artifact_uri":"x","params":{"lr":0.01}}"#) == #"the request body: field "params.lr" must be a string"#)
        #expect(message(#"{"artifact_uri":"x","metrics":{"acc":"0.9"}}"#) == #"the request body: field "metrics.acc" must be a number"#)
        #expect(message(#"{"artifact_uri":"x","tags":[]}"#) == #"the request body: field "tags" must be an object of strings"#)
        #expect(message(#"{"parent":2}"#) == #"the request body: field "artifact_uri" is required"#)
        #expect(message(#"{"artifact_uri":null}"#) == #"the request body: field "artifact_uri" must be a string"#)
        #expect(message(#"{"artifact_uri":"x","artifact":"y"}"#)?.contains(#"unknown field "artifact""#) == true)
        #expect(message("[1]") == "the request body must be a JSON object")
        #expect(message("{") == "the request body is not valid JSON: unexpected end of text at byte 1")
        #expect(message(#"{"artifact_uri":"x"} x"#) == "the request body is not valid JSON: unexpected text after the document at byte 21")
        #expect(message(#"{"artifact_uri":"x",}"#) == #"the request body is not valid JSON: expected a key in quotes at byte 20"#)
        #expect(message(#"{"artifact_uri":"x","artifact_uri":"y"}"#) == #"the request body is not valid JSON: the key "artifact_uri" appears twice at byte 20"#)
    }

    @Test func valuesOfEveryShapeReadBack() throws {
        let text = #"{"a":[1,-2.5,1e-7,true,false,null,"s",{"b":{}},[]],"c":"\"\\\/\u00e9"}"#
        let value = try JSONCoding.decode(JSONValue.self, from: text)
        #expect(value == .object([
            "a": .array([1, -2.5, 1e-7, true, false, .null, "s", .object(["b": .object([:])]), .array([])]),
            "c": "\"\\/é",
        ]))
        #expect(try JSONCoding.decode(JSONValue.self, from: JSONCoding.text(value)) == value)
        #expect(try JSONCoding.decode([Int].self, from: " [1, 2,3] ") == [1, 2, 3])
        #expect(throws: DecodingError.self) { try JSONCoding.decode([Int].self, from: "[1, 2.5]") }
        #expect(throws: DecodingError.self) { try JSONCoding.decode(UInt8.self, from: "256") }
    }

    @Test func nestingIsBounded() {
        let deep = String(repeating: "[", count: JSONParser.maximumDepth + 1) + String(repeating: "]", count: JSONParser.maximumDepth + 1)
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(Array(deep.utf8)) }
        let allowed = String(repeating: "[", count: JSONParser.maximumDepth) + String(repeating: "]", count: JSONParser.maximumDepth)
        #expect((try? JSONParser.parse(Array(allowed.utf8))) != nil)
    }
}
