/// A moment in UTC, in nanoseconds since the Unix epoch: when a usage sample was taken or
/// an event happened.
///
/// It encodes as an RFC 3339 string in UTC (`2025-11-21T23:44:05.250Z`), the form JSON lines,
/// webhooks and log readers expect, and decodes from any RFC 3339 date-time with `Z` or a
/// numeric offset. The range is that of `UInt64` nanoseconds: 1970-01-01 to 2554-07-21.
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    /// Nanoseconds since 1970-01-01T00:00:00Z.
    public var nanosecondsSinceEpoch: UInt64

    /// A timestamp `nanoseconds` after the Unix epoch.
    public init(nanosecondsSinceEpoch nanoseconds: UInt64) {
        self.nanosecondsSinceEpoch = nanoseconds
    }

    /// A timestamp a whole number of seconds after the Unix epoch (saturating at the end of the range).
    public init(secondsSinceEpoch seconds: UInt64) {
        let (product, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        self.nanosecondsSinceEpoch = overflow ? .max : product
    }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.nanosecondsSinceEpoch < rhs.nanosecondsSinceEpoch
    }

    /// The time from `earlier` to this timestamp, or zero when `earlier` is later (a clock that
    /// went backwards never yields a negative duration).
    public func duration(since earlier: Timestamp) -> Duration {
        guard nanosecondsSinceEpoch > earlier.nanosecondsSinceEpoch else { return .zero }
        let difference = nanosecondsSinceEpoch - earlier.nanosecondsSinceEpoch
        return .nanoseconds(Int64(clamping: difference))
    }

    /// This timestamp moved by `duration` (negative durations move it back), saturating at the
    /// ends of the range.
    public func advanced(by duration: Duration) -> Timestamp {
        let nanoseconds = duration.wholeNanoseconds
        if nanoseconds >= 0 {
            let (sum, overflow) = nanosecondsSinceEpoch.addingReportingOverflow(UInt64(nanoseconds))
            return Timestamp(nanosecondsSinceEpoch: overflow ? .max : sum)
        }
        let magnitude = nanoseconds.magnitude
        return Timestamp(nanosecondsSinceEpoch: nanosecondsSinceEpoch >= magnitude ? nanosecondsSinceEpoch - magnitude : 0)
    }

    /// The RFC 3339 form in UTC, with as many fractional digits as needed (0, 3, 6 or 9):
    /// `2025-11-21T23:44:05Z`, `2025-11-21T23:44:05.250Z`.
    public var description: String {
        let seconds = nanosecondsSinceEpoch / 1_000_000_000
        let fraction = nanosecondsSinceEpoch % 1_000_000_000
        let days = Int64(seconds / 86_400)
        let secondOfDay = Int(seconds % 86_400)
        let (year, month, day) = Self.civil(fromDays: days)
        var text = "\(Self.pad(Int(year), 4))-\(Self.pad(month, 2))-\(Self.pad(day, 2))"
        text += "T\(Self.pad(secondOfDay / 3600, 2)):\(Self.pad(secondOfDay / 60 % 60, 2)):\(Self.pad(secondOfDay % 60, 2))"
        if fraction != 0 {
            var digits = Self.pad(Int(fraction), 9)
            while digits.count > 3, digits.hasSuffix("000") { digits.removeLast(3) }
            text += "." + digits
        }
        return text + "Z"
    }

    /// Parses an RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    ///
    /// - Parameter what: how the input is named in an error.
    /// - Throws: ``InputError`` naming the input when it is not such a date-time, names an
    ///   impossible date, or lies outside 1970-01-01 … 2554-07-21.
    public init(parsing text: String, what: String = "time") throws(InputError) {
        let bytes = Array(text.utf8)
        let invalid = InputError("\(what) '\(text)' is not an RFC 3339 date-time; write e.g. 2025-11-21T23:44:05Z")
        func number(_ range: Range<Int>) throws(InputError) -> Int {
            guard range.upperBound <= bytes.count else { throw invalid }
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= 0x30, byte <= 0x39 else { throw invalid }
                value = value * 10 + Int(byte - 0x30)
            }
            return value
        }
        func expect(_ index: Int, _ characters: String) throws(InputError) {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { throw invalid }
        }
        let year = try number(0..<4)
        try expect(4, "-")
        let month = try number(5..<7)
        try expect(7, "-")
        let day = try number(8..<10)
        try expect(10, "Tt ")
        let hour = try number(11..<13)
        try expect(13, ":")
        let minute = try number(14..<16)
        try expect(16, ":")
        let second = try number(17..<19)
        var index = 19
        var fraction: UInt64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 { index += 1 }
            guard index > start else { throw invalid }
            var scale: UInt64 = 100_000_000
            for position in start..<index where scale > 0 {
                fraction += UInt64(bytes[position] - 0x30) * scale
                scale /= 10
            }
        }
        var offsetSeconds = 0
        try expect(index, "Zz+-")
        if bytes[index] == UInt8(ascii: "Z") || bytes[index] == UInt8(ascii: "z") {
            index += 1
        } else {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            let offsetHours = try number(index + 1..<index + 3)
            try expect(index + 3, ":")
            let offsetMinutes = try number(index + 4..<index + 6)
            guard offsetHours < 24, offsetMinutes < 60 else { throw invalid }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
            index += 6
        }
        guard index == bytes.count, (1...12).contains(month), hour < 24, minute < 60, second < 60,
              day >= 1, day <= Self.daysInMonth(year: year, month: month)
        else { throw invalid }
        let days = Self.days(fromCivilYear: Int64(year), month: month, day: day)
        let local = days * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        let utc = local - Int64(offsetSeconds)
        let (nanoseconds, overflow) = UInt64(clamping: utc).multipliedReportingOverflow(by: 1_000_000_000)
        let (total, overflow2) = nanoseconds.addingReportingOverflow(fraction)
        guard utc >= 0, !overflow, !overflow2 else {
            throw InputError("\(what) '\(text)' is out of range; use a time between 1970-01-01 and 2554-07-21")
        }
        self.nanosecondsSinceEpoch = total
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try Timestamp(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    // Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian calendar).
    static func days(fromCivilYear year: Int64, month: Int, day: Int) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int64, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1)
        let month = Int(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9)
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

extension Duration {
    /// The duration in whole nanoseconds, saturating at the ends of `Int64`.
    var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds < 0 ? .min : .max }
        return sum
    }
}
