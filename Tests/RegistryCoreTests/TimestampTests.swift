import Foundation
import Testing

@testable import RegistryCore

/// RFC 3339 times: any accepted on input, UTC with milliseconds on output.
@Suite struct TimestampTests {
    @Test func aUTCTimeRoundTrips() throws {
        let time = try #require(Timestamp(rfc3339: "2026-11-22T16:48:55.123Z"))
        #expect(time.millisecondsSinceEpoch == 1_795_366_135_123)
        #expect(time.description == "2026-11-22T16:48:55.123Z")
        #expect(Timestamp(rfc3339: time.description) == time)
    }

    @Test(arguments: [
        ("2026-11-22T18:48:55.123+02:00", "2026-11-22T16:48:55.123Z"),
        ("2026-11-22T11:18:55.123-05:30", "2026-11-22T16:48:55.123Z"),
        ("2026-11-22T16:48:55.123+00:00", "2026-11-22T16:48:55.123Z"),
        ("2026-11-23T01:00:00+02:00", "2026-11-22T23:00:00.000Z"),
        ("2027-01-01T00:30:00+01:00", "2026-12-31T23:30:00.000Z"),
        ("2026-11-22t16:48:55z", "2026-11-22T16:48:55.000Z"),
        ("2026-11-22 16:48:55Z", "2026-11-22T16:48:55.000Z"),
    ])
    func offsetsAreConvertedToUTC(input: String, utc: String) {
        #expect(Timestamp(rfc3339: input)?.description == utc)
    }

    @Test(arguments: [
        ("2026-11-22T16:48:55Z", 0),
        ("2026-11-22T16:48:55.1Z", 100),
        ("2026-11-22T16:48:55.12Z", 120),
        ("2026-11-22T16:48:55.123Z", 123),
        ("2026-11-22T16:48:55.123456Z", 123),
        ("2026-11-22T16:48:55.999999999Z", 999),
    ])
    func fractionalDigitsGiveMilliseconds(input: String, milliseconds: Int64) throws {
        let time = try #require(Timestamp(rfc3339: input))
        #expect(time.millisecondsSinceEpoch == 1_795_366_135_000 + milliseconds)
    }

    @Test(arguments: ["2024-02-29T12:00:00.000Z", "2000-02-29T00:00:00.000Z", "2400-02-29T23:59:59.999Z", "2024-12-31T23:59:59.999Z"])
    func leapDaysAreValid(text: String) throws {
        let time = try #require(Timestamp(rfc3339: text))
        #expect(time.description == text)
    }

    @Test func theDayAfterALeapDayIsMarchFirst() throws {
        let leap = try #require(Timestamp(rfc3339: "2024-02-29T00:00:00Z"))
        let next = Timestamp(millisecondsSinceEpoch: leap.millisecondsSinceEpoch + 86_400_000)
        #expect(next.description == "2024-03-01T00:00:00.000Z")
        let march = try #require(Timestamp(rfc3339: "2024-03-01T00:00:00Z"))
        let february = try #require(Timestamp(rfc3339: "2024-02-28T00:00:00Z"))
        #expect(march.millisecondsSinceEpoch - february.millisecondsSinceEpoch == 2 * 86_400_000)
    }

    @Test(arguments: [
        "2026-02-29T00:00:00Z",  // not a leap year
        "1900-02-29T00:00:00Z",  // divisible by 100, not by 400
        "2026-02-30T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-00-10T00:00:00Z",
        "2026-11-00T00:00:00Z",
        "2026-11-22T16:48:55",  // no zone
        "2026-11-22T16:48:55.123",
        "2026-11-22",
        "2026-11-22T24:00:00Z",
        "2026-11-22T16:60:00Z",
        "2026-11-22T16:48:55.Z",
        "2026-11-22T16:48:55+0200",
        "2026-11-22T16:48:55+24:00",
        "2026-11-22T16:48:55Z ",
        " 2026-11-22T16:48:55Z",
        "26-11-22T16:48:55Z",
        "2026/11/22T16:48:55Z",
        "yesterday",
        "",
    ])
    func invalidTimesAreRejected(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func timesAroundTheEpochFormatCorrectly() {
        #expect(Timestamp(millisecondsSinceEpoch: 0).description == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp(millisecondsSinceEpoch: -1).description == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp(rfc3339: "1969-12-31T23:59:59.999Z")?.millisecondsSinceEpoch == -1)
    }

    @Test func timesAreJSONStrings() throws {
        let time = try #require(Timestamp(rfc3339: "2026-11-22T16:48:55.123Z"))
        let json = String(decoding: try JSONEncoder().encode([time]), as: UTF8.self)
        #expect(json == #"["2026-11-22T16:48:55.123Z"]"#)
        #expect(try JSONDecoder().decode([Timestamp].self, from: Data(#"["2026-11-22T18:48:55.123+02:00"]"#.utf8)) == [time])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([Timestamp].self, from: Data(#"["2026-02-30T00:00:00Z"]"#.utf8)) }
    }

    /// The byte writer the JSON answers use writes exactly `description`, across leap days,
    /// the epoch, the ends of years 0 and 9999 and beyond them (where it falls back).
    @Test func theByteWriterWritesTheDescription() {
        var random = SystemRandomNumberGenerator()
        let edges: [Int64] = [
            0, -1, 1, 999, 1000, 86_399_999, 86_400_000, -86_400_000, 951_782_400_000, 1_795_000_000_123,
            -62_167_219_200_000, -62_167_219_200_001, 253_402_300_799_999, 253_402_300_800_000,
        ]
        let randomTimes = (0..<2000).map { _ in Int64.random(in: -70_000_000_000_000...260_000_000_000_000, using: &random) }
        for ms in edges + randomTimes {
            let time = Timestamp(millisecondsSinceEpoch: ms)
            var bytes: [UInt8] = []
            time.appendRFC3339(to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == time.description, "\(ms)")
        }
    }
}
