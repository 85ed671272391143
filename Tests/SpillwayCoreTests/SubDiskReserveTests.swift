import Foundation
import SpillwayCore
import Testing

@Suite("Sub-disk reserve and partition_min_containers")
struct SubDiskReserveTests {
    static let parsed: [(String, SubDiskReserve, String)] = [
        ("5%", .fraction(0.05), "5%"),
        (" 2.5 % ", .fraction(0.025), "2.5%"),
        ("0%", .fraction(0), "0%"),
        ("100%", .fraction(1), "100%"),
        ("10G", .bytes(10 * GiB), "10 GiB"),
        ("0", .bytes(0), "0 B"),
        ("512M", .bytes(512 * MiB), "512 MiB"),
    ]

    @Test(arguments: parsed)
    func parses(text: String, reserve: SubDiskReserve, description: String) throws {
        #expect(try SubDiskReserve(parsing: text) == reserve)
        #expect(reserve.description == description)
    }

    static let invalid: [(String, String)] = [
        ("%", "sub_disk_reserve '%' is not a percentage; write e.g. 5% or a size like 10G"),
        ("1.2.3%", "sub_disk_reserve '1.2.3%' is not a percentage; write e.g. 5% or a size like 10G"),
        ("-5%", "sub_disk_reserve '-5%' is not a percentage; write e.g. 5% or a size like 10G"),
        ("100.1%", "sub_disk_reserve '100.1%' is more than 100%; write a percentage from 0% to 100% or a size like 10G"),
        ("5 percent", "sub_disk_reserve '5 percent' has an unknown unit 'percent'; write a whole or decimal number with an optional unit B, K, M, G, T or P (binary), e.g. 512M or 1.5G"),
    ]

    @Test(arguments: invalid)
    func rejects(text: String, message: String) {
        #expect(throws: InputError(message)) { try SubDiskReserve(parsing: text) }
    }

    static let reserved: [(SubDiskReserve, UInt64, UInt64)] = [
        (.fraction(0.05), 100 * GiB, 5 * GiB),
        (.fraction(0.05), 1001, 51),  // rounded up: never reserves less than asked
        (.fraction(0), 100 * GiB, 0),
        (.fraction(1), 100 * GiB, 100 * GiB),
        (.fraction(0.5), 0, 0),
        (.bytes(20 * GiB), 10 * GiB, 20 * GiB),
        (.bytes(0), 10 * GiB, 0),
        (.fraction(2), 10, 10),
    ]

    @Test(arguments: reserved)
    func reservesBytes(reserve: SubDiskReserve, capacity: UInt64, bytes: UInt64) {
        #expect(reserve.bytes(ofCapacity: capacity) == bytes)
    }

    @Test func codableFormsAreTheConfigForms() throws {
        let values: [SubDiskReserve] = [.fraction(0.05), .bytes(1234)]
        let json = try PolicyEventCodingTests.json(values)
        #expect(json == #"["5%","1234"]"#)
        #expect(try JSONDecoder().decode([SubDiskReserve].self, from: Data(json.utf8)) == values)

        let counts: [PartitionMinContainers] = [.auto, .count(7)]
        let countJSON = try PolicyEventCodingTests.json(counts)
        #expect(countJSON == #"["auto",7]"#)
        #expect(try JSONDecoder().decode([PartitionMinContainers].self, from: Data(countJSON.utf8)) == counts)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([PartitionMinContainers].self, from: Data(#"[0]"#.utf8)) }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([PartitionMinContainers].self, from: Data(#"["many"]"#.utf8)) }
    }
}
