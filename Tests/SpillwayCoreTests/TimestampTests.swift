import SpillwayCore
import Testing

@Suite("Timestamps in RFC 3339")
struct TimestampTests {
    static let formatted: [(UInt64, String)] = [
        (0, "1970-01-01T00:00:00Z"),
        (1_763_768_645_000_000_000, "2025-11-21T23:44:05Z"),
        (1_763_768_645_250_000_000, "2025-11-21T23:44:05.250Z"),
        (1_763_768_645_000_250_000, "2025-11-21T23:44:05.000250Z"),
        (1_763_768_645_000_000_001, "2025-11-21T23:44:05.000000001Z"),
        (951_782_400_000_000_000, "2000-02-29T00:00:00Z"),
        (951_868_799_000_000_000, "2000-02-29T23:59:59Z"),
        (18_446_744_073_000_000_000, "2554-07-21T23:34:33Z"),
    ]

    @Test(arguments: formatted)
    func formatsAndParsesBack(nanoseconds: UInt64, text: String) throws {
        let timestamp = Timestamp(nanosecondsSinceEpoch: nanoseconds)
        #expect(timestamp.description == text)
        #expect(try Timestamp(parsing: text) == timestamp)
    }

    static let otherForms: [(String, UInt64)] = [
        ("2025-11-21T23:44:05+00:00", 1_763_768_645_000_000_000),
        ("2025-11-22T01:44:05+02:00", 1_763_768_645_000_000_000),
        ("2025-11-21T20:14:05-03:30", 1_763_768_645_000_000_000),
        ("2025-11-21t23:44:05z", 1_763_768_645_000_000_000),
        ("2025-11-21 23:44:05Z", 1_763_768_645_000_000_000),
        ("2025-11-21T23:44:05.1234567891Z", 1_763_768_645_123_456_789),
    ]

    @Test(arguments: otherForms)
    func parsesOffsetsAndLongFractions(text: String, nanoseconds: UInt64) throws {
        #expect(try Timestamp(parsing: text).nanosecondsSinceEpoch == nanoseconds)
    }

    static let invalid: [(String, String)] = [
        ("", "is not an RFC 3339 date-time"),
        ("2025-11-21", "is not an RFC 3339 date-time"),
        ("2025-11-21T23:44:05", "is not an RFC 3339 date-time"),
        ("2025-13-01T00:00:00Z", "is not an RFC 3339 date-time"),
        ("2025-02-29T00:00:00Z", "is not an RFC 3339 date-time"),
        ("2025-11-21T24:00:00Z", "is not an RFC 3339 date-time"),
        ("2025-11-21T23:44:05.Z", "is not an RFC 3339 date-time"),
        ("2025-11-21T23:44:05Zjunk", "is not an RFC 3339 date-time"),
        ("1969-12-31T23:59:59Z", "is out of range"),
        ("2600-01-01T00:00:00Z", "is out of range"),
    ]

    @Test(arguments: invalid)
    func rejects(text: String, problem: String) {
        #expect {
            try Timestamp(parsing: text, what: "--since")
        } throws: { error in
            let message = (error as? InputError)?.message ?? ""
            return message.hasPrefix("--since '\(text)' ") && message.contains(problem)
        }
    }

    @Test func durationsNeverGoNegative() {
        let early = Timestamp(secondsSinceEpoch: 10)
        let late = Timestamp(secondsSinceEpoch: 25)
        #expect(late.duration(since: early) == .seconds(15))
        #expect(early.duration(since: late) == .zero)
        #expect(early.advanced(by: .seconds(15)) == late)
        #expect(late.advanced(by: .seconds(-15)) == early)
        #expect(early.advanced(by: .seconds(-20)) == Timestamp(nanosecondsSinceEpoch: 0))
        #expect(Timestamp(secondsSinceEpoch: .max) == Timestamp(nanosecondsSinceEpoch: .max))
    }
}
