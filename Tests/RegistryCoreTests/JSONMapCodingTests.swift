import Foundation
import Testing

@testable import RegistryCore

/// The JSON written for stored maps must be valid JSON that reads back exactly.
@Suite struct JSONMapCodingTests {
    static let strings: [String: String] = [
        "plain": "value", "quote": "say \"hi\"", "backslash": #"C:\models\v1"#, "newline": "a\nb\tc\r",
        "control": "bell\u{07}", "unicode": "zoë ✓ 模型", "slash": "s3://bucket/key", "": "empty key", "empty": "",
    ]
    static let numbers: [String: Double] = [
        "accuracy": 0.93, "tiny": 1e-7, "huge": 1e20, "negative": -0.5, "whole": 3, "zero": 0, "max": Double.greatestFiniteMagnitude,
    ]

    @Test func stringMapsRoundTripThroughFoundationAndBack() throws {
        let text = JSONCoding.text(Self.strings)
        let viaFoundation = try JSONDecoder().decode([String: String].self, from: Data(text.utf8))
        #expect(viaFoundation == Self.strings)
        #expect(try JSONCoding.decode([String: String].self, from: text) == Self.strings)
        #expect(!text.contains(#"\/"#))
    }

    @Test func numberMapsRoundTripExactly() throws {
        let text = JSONCoding.text(Self.numbers)
        #expect(try JSONDecoder().decode([String: Double].self, from: Data(text.utf8)) == Self.numbers)
        #expect(try JSONCoding.decode([String: Double].self, from: text) == Self.numbers)
        #expect(text.contains(#""whole":3"#))
    }

    @Test func keysAreSortedLikeTheEncoder() {
        #expect(JSONCoding.text(["b": "2", "a": "1", "c": "3"]) == #"{"a":"1","b":"2","c":"3"}"#)
        #expect(JSONCoding.text(["z": JSONValue.number(1), "a": .array([.null, .bool(true), .string("x")])]) == #"{"a":[null,true,"x"],"z":1}"#)
    }

    @Test func mapsReadWithAnySpacingAndRefuseOtherShapes() throws {
        #expect(try JSONCoding.decode([String: String].self, from: #" { "a" : "1" , "b":"x\"y" } "#) == ["a": "1", "b": "x\"y"])
        #expect(throws: (any Error).self) { try JSONCoding.decode([String: Double].self, from: #"{"a": "not a number"}"#) }
        #expect(throws: (any Error).self) { try JSONCoding.decode([String: String].self, from: #"{"a": "1"} trailing"#) }
    }
}
