/// Space on the sub disk kept free of spill areas (`sub_disk_reserve`): a fixed size or a
/// fraction of the capacity.
///
/// Written as a size (`"10G"`, `"512M"`, `"0"`) or a percentage (`"5%"`, `"2.5%"`). Its
/// `Codable` form is that string.
public enum SubDiskReserve: Hashable, Sendable, Codable, CustomStringConvertible {
    /// A fixed number of bytes.
    case bytes(UInt64)
    /// A fraction of the capacity, from 0 to 1 (rounded up to whole bytes).
    case fraction(Double)

    /// The default reserve: 5 % of the sub disk.
    public static let defaultReserve = SubDiskReserve.fraction(0.05)

    /// The bytes reserved on a sub disk of `capacityBytes`; may exceed the capacity (a fixed
    /// reserve on a small disk), in which case nothing is usable.
    public func bytes(ofCapacity capacityBytes: UInt64) -> UInt64 {
        switch self {
        case .bytes(let bytes):
            return bytes
        case .fraction(let fraction):
            guard fraction > 0 else { return 0 }
            guard fraction < 1 else { return capacityBytes }
            // Exact for capacities up to 2^53 bytes (8 PiB); rounding up never reserves less.
            let reserved = (Double(capacityBytes) * fraction).rounded(.up)
            return reserved >= Double(capacityBytes) ? capacityBytes : UInt64(reserved)
        }
    }

    /// Parses `text`: a percentage from 0 % to 100 % or a size (see ``ByteSize``).
    ///
    /// - Parameter what: how the input is named in an error.
    /// - Throws: ``InputError`` naming the input, the value and the accepted forms.
    public init(parsing text: String, what: String = "sub_disk_reserve") throws(InputError) {
        let trimmed = text.trimmingSpaces()
        guard trimmed.hasSuffix("%") else {
            self = .bytes(try ByteSize(parsing: text, what: what).bytes)
            return
        }
        let number = String(trimmed.dropLast()).trimmingSpaces()
        let digitsAndPoint = number.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard !number.isEmpty, digitsAndPoint, number.filter({ $0 == "." }).count <= 1, number != ".",
              let percent = Double(number)
        else {
            throw InputError("\(what) '\(text)' is not a percentage; write e.g. 5% or a size like 10G")
        }
        guard percent <= 100 else {
            throw InputError("\(what) '\(text)' is more than 100%; write a percentage from 0% to 100% or a size like 10G")
        }
        self = .fraction(percent / 100)
    }

    /// The form it is written in: `5%`, `10 GiB`.
    public var description: String {
        switch self {
        case .bytes(let bytes): ByteSize(bytes: bytes).description
        case .fraction(let fraction): "\(Self.trimmedNumber(fraction * 100))%"
        }
    }

    /// The config-file form: `5%`, or a byte count for a fixed size.
    var configText: String {
        switch self {
        case .bytes(let bytes): String(bytes)
        case .fraction: description
        }
    }

    /// `5`, `2.5`, `0.125`: at most 6 decimals, no trailing zeros.
    static func trimmedNumber(_ value: Double) -> String {
        let scaled = (value * 1_000_000).rounded() / 1_000_000
        if scaled == scaled.rounded(), abs(scaled) < 1e15 { return String(Int64(scaled)) }
        return String(scaled)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            self = try SubDiskReserve(parsing: text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(configText)
    }
}
