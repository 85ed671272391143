/// A size in bytes as an operator writes it: `512`, `64K`, `10M`, `1.5G`, `2GiB`, `1T`.
///
/// Units are binary (K = 1024) whether or not an `i` is written, as `--storage-opt size`
/// and `btrfs qgroup limit` read them; `B` alone means bytes.
public struct ByteSize: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var bytes: UInt64

    public init(bytes: UInt64) {
        self.bytes = bytes
    }

    private static let units: [(names: [String], shift: UInt64)] = [
        (["", "b"], 0),
        (["k", "kb", "kib"], 10),
        (["m", "mb", "mib"], 20),
        (["g", "gb", "gib"], 30),
        (["t", "tb", "tib"], 40),
        (["p", "pb", "pib"], 50),
    ]

    /// Parses `text`.
    ///
    /// - Parameter what: how the input is named in an error, e.g. `--to` or `spill_limit`.
    /// - Throws: ``InputError`` for a negative, fractional-byte, overflowing, or unit-less-garbage
    ///   size (`-5G`, `1e99`, `12XB`), naming the input and the accepted forms.
    public init(parsing text: String, what: String = "size") throws(InputError) {
        let trimmed = text.trimmingSpaces()
        let allowed = "a whole or decimal number with an optional unit B, K, M, G, T or P (binary), e.g. 512M or 1.5G"
        guard !trimmed.isEmpty else {
            throw InputError("\(what) is empty; write \(allowed)")
        }
        if trimmed.hasPrefix("-") {
            throw InputError("\(what) '\(text)' is negative; write \(allowed)")
        }
        let numberEnd = trimmed.firstIndex(where: { !($0.isASCII && ($0.isNumber || $0 == ".")) }) ?? trimmed.endIndex
        let number = String(trimmed[..<numberEnd])
        let unit = String(trimmed[numberEnd...]).trimmingSpaces().lowercased()
        guard let shift = Self.units.first(where: { $0.names.contains(unit) })?.shift else {
            throw InputError("\(what) '\(text)' has an unknown unit '\(unit)'; write \(allowed)")
        }
        let parts = number.split(separator: ".", omittingEmptySubsequences: false)
        guard !number.isEmpty, parts.count <= 2, parts.allSatisfy({ $0.allSatisfy(\.isNumber) }),
              !(parts.first?.isEmpty ?? true) || (parts.count == 2 && !parts[1].isEmpty)
        else {
            throw InputError("\(what) '\(text)' is not a number; write \(allowed)")
        }
        let multiplier = UInt64(1) << shift
        let overflow = InputError("\(what) '\(text)' is too large; the largest size is \(UInt64.max) bytes")
        guard let whole = UInt64(parts[0].isEmpty ? "0" : String(parts[0])) else { throw overflow }
        let (wholeBytes, o1) = whole.multipliedReportingOverflow(by: multiplier)
        if o1 { throw overflow }
        var total = wholeBytes
        if parts.count == 2 {
            // Up to 18 fractional digits fit in a UInt64 numerator exactly.
            let digits = parts[1].prefix(18)
            guard let numerator = UInt64(digits) else { throw overflow }
            var denominator: UInt64 = 1
            for _ in 0..<digits.count { denominator *= 10 }
            let fraction = numerator.multipliedFullWidth(by: multiplier)
            let (quotient, remainder) = denominator.dividingFullWidth(fraction)
            if remainder != 0, shift == 0 {
                throw InputError("\(what) '\(text)' is a fraction of a byte; write a whole number of bytes")
            }
            let (sum, o2) = total.addingReportingOverflow(quotient)
            if o2 { throw overflow }
            total = sum
        }
        self.bytes = total
    }

    public static func < (lhs: ByteSize, rhs: ByteSize) -> Bool { lhs.bytes < rhs.bytes }

    /// A short human form: `1.5 GiB`, `512 MiB`, `100 B`.
    public var description: String {
        let names = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes)
        var index = 0
        while value >= 1024, index < names.count - 1 {
            value /= 1024
            index += 1
        }
        if index == 0 { return "\(bytes) B" }
        let tenths = (value * 10).rounded() / 10
        let text = tenths == tenths.rounded() ? String(Int(tenths)) : String(tenths)
        return "\(text) \(names[index])"
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first.isWhitespace { slice = slice.dropFirst() }
        while let last = slice.last, last.isWhitespace { slice = slice.dropLast() }
        return String(slice)
    }
}
