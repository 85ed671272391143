import SpillwayCore
import Testing

@Suite("Sizes as operators write them")
struct ByteSizeTests {
    static let valid: [(String, UInt64)] = [
        ("0", 0), ("512", 512), ("512B", 512), ("64K", 65536), ("64k", 65536), ("64KiB", 65536),
        ("10M", 10_485_760), ("10MB", 10_485_760), (" 10 M ", 10_485_760), ("1.5G", 1_610_612_736),
        ("2GiB", 2_147_483_648), ("1T", 1_099_511_627_776), ("0.5K", 512), (".5M", 524_288),
        ("1P", 1_125_899_906_842_624),
    ]

    @Test(arguments: valid)
    func parses(text: String, bytes: UInt64) throws {
        #expect(try ByteSize(parsing: text).bytes == bytes)
    }

    static let invalid: [(String, String)] = [
        ("-5G", "negative"), ("1e99", "unknown unit 'e99'"), ("12XB", "unknown unit 'xb'"), ("", "empty"),
        ("1.5", "fraction of a byte"), ("G", "not a number"), ("1..2M", "not a number"), (".", "not a number"),
        ("99999999999999999999", "too large"), ("20000P", "too large"),
    ]

    @Test(arguments: invalid)
    func rejects(text: String, problem: String) {
        #expect {
            try ByteSize(parsing: text, what: "--to")
        } throws: { error in
            let message = (error as? InputError)?.message ?? ""
            return message.hasPrefix("--to") && message.contains(problem)
        }
    }

    static let described: [(UInt64, String)] = [(100, "100 B"), (1536, "1.5 KiB"), (10_485_760, "10 MiB"), (1_610_612_736, "1.5 GiB")]

    @Test(arguments: described)
    func describes(bytes: UInt64, text: String) {
        #expect(ByteSize(bytes: bytes).description == text)
    }
}
