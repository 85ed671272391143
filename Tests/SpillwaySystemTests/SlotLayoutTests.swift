import CSpillway
import SpillwayCore
import SpillwayTestSupport
import Testing

/// The slot layout seen from Swift must be the layout the C compiler gives the preload library.
@Suite("Slot layout, C and Swift")
struct SlotLayoutTests {
    /// "name value" lines printed by CShim/tests/slot_layout.c, compiled by cc.
    func cLayout() throws -> [String: UInt64] {
        let output = try Command.check([Paths.testProgram("slot-layout")])
        var values: [String: UInt64] = [:]
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, let value = UInt64(parts[1]) { values[String(parts[0])] = value }
        }
        return values
    }

    @Test func swiftSeesTheSameSizesAndOffsetsAsC() throws {
        let c = try cLayout()
        #expect(c["size"] == 256)
        // The library-enforced cap's measurement sits in what was reserved (zero in older slots).
        #expect(c["offset.spill_used"] == 128)
        #expect(c["offset.spill_epoch"] == 136)
        #expect(c["offset.reserved"] == 144)
        #expect(UInt64(MemoryLayout<spillway_slot>.size) == c["size"])
        let swiftOffsets: [String: Int?] = [
            "magic": MemoryLayout<spillway_slot>.offset(of: \.magic),
            "version": MemoryLayout<spillway_slot>.offset(of: \.version),
            "header_size": MemoryLayout<spillway_slot>.offset(of: \.header_size),
            "state": MemoryLayout<spillway_slot>.offset(of: \.state),
            "flags": MemoryLayout<spillway_slot>.offset(of: \.flags),
            "generation": MemoryLayout<spillway_slot>.offset(of: \.generation),
            "spill_limit": MemoryLayout<spillway_slot>.offset(of: \.spill_limit),
            "main_limit": MemoryLayout<spillway_slot>.offset(of: \.main_limit),
            "updated_ns": MemoryLayout<spillway_slot>.offset(of: \.updated_ns),
            "move_epoch": MemoryLayout<spillway_slot>.offset(of: \.move_epoch),
            "container_id": MemoryLayout<spillway_slot>.offset(of: \.container_id),
            "spill_used": MemoryLayout<spillway_slot>.offset(of: \.spill_used),
            "spill_epoch": MemoryLayout<spillway_slot>.offset(of: \.spill_epoch),
            "reserved": MemoryLayout<spillway_slot>.offset(of: \.reserved),
        ]
        for (field, offset) in swiftOffsets {
            #expect(offset.map(UInt64.init) == c["offset.\(field)"], "offset of \(field)")
        }
        #expect(UInt64(SPILLWAY_SLOT_FILE_SIZE) == c["file_size"])
        #expect(UInt64(SPILLWAY_SLOT_VERSION) == c["version"])
        #expect(SPILLWAY_SLOT_MAGIC == c["magic"])
    }

    @Test func magicSpellsSpillway() {
        let bytes = withUnsafeBytes(of: SPILLWAY_SLOT_MAGIC.littleEndian) { Array($0) }
        #expect(String(decoding: bytes, as: UTF8.self) == "SPILLWAY")
    }

    @Test func swiftStatesAreTheHeadersStates() throws {
        let c = try cLayout()
        #expect(UInt64(SlotState.normal.rawValue) == c["state.normal"])
        #expect(UInt64(SlotState.spilling.rawValue) == c["state.spilling"])
        #expect(UInt64(SlotState.draining.rawValue) == c["state.draining"])
        #expect(SlotState.normal.rawValue == SPILLWAY_STATE_NORMAL.rawValue)
        #expect(SlotState.spilling.rawValue == SPILLWAY_STATE_SPILLING.rawValue)
        #expect(SlotState.draining.rawValue == SPILLWAY_STATE_DRAINING.rawValue)
        #expect(UInt32(SlotState.allCases.count) == SPILLWAY_STATE_COUNT)
    }
}
