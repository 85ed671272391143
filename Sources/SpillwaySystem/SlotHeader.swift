import CSpillway
import SpillwayCore

/// The bytes of a slot's header (`struct spillway_slot`), read from or written to the file
/// with `pread`/`pwrite`, never through a mapping.
enum SlotHeader {
    /// What `bytes` (one header) holds; nil while a writer is mid-update (odd generation).
    static func inspect(_ bytes: [UInt8]) -> SlotInspection? {
        var slot = spillway_slot()
        withUnsafeMutableBytes(of: &slot) { raw in
            raw.copyBytes(from: bytes.prefix(raw.count))
        }
        guard slot.magic == SPILLWAY_SLOT_MAGIC else { return .invalid(.badMagic(slot.magic)) }
        guard slot.version == SPILLWAY_SLOT_VERSION else { return .invalid(.badVersion(slot.version)) }
        guard Int(slot.header_size) >= MemoryLayout<spillway_slot>.size else { return .invalid(.badHeaderSize(slot.header_size)) }
        guard slot.generation & 1 == 0 else { return nil }
        var view = spillway_slot_view()
        guard spillway_slot_read(&slot, &view, 1) != 0 else { return nil }
        guard let snapshot = SlotView(raw: view).snapshot else { return .invalid(.unknownState(view.state)) }
        return .valid(snapshot)
    }

    /// The header bytes for `snapshot`, with its generation and time as given.
    static func encode(_ snapshot: SlotSnapshot) -> [UInt8] {
        var slot = spillway_slot()
        spillway_slot_format(&slot)
        var view = SlotView(snapshot).raw
        spillway_slot_write(&slot, &view)
        slot.generation = snapshot.generation
        slot.updated_ns = snapshot.updatedNanoseconds
        return withUnsafeBytes(of: &slot) { Array($0) }
    }

    /// The eight bytes of a generation value, as stored.
    static func generationBytes(_ generation: UInt64) -> [UInt8] {
        withUnsafeBytes(of: generation.littleEndian) { Array($0) }
    }
}

/// Converts between the C view of a slot and ``SlotSnapshot``.
struct SlotView {
    var raw: spillway_slot_view

    init(raw: spillway_slot_view) {
        self.raw = raw
    }

    init(_ snapshot: SlotSnapshot) {
        var raw = spillway_slot_view()
        raw.state = snapshot.state.rawValue
        raw.spill_limit = snapshot.spillLimit ?? 0
        raw.main_limit = snapshot.mainLimit ?? 0
        raw.updated_ns = snapshot.updatedNanoseconds == 0 ? SlotFile.nowNanoseconds() : snapshot.updatedNanoseconds
        raw.move_epoch = snapshot.moveEpoch
        raw.flags = snapshot.libraryEnforcesSpillLimit ? SPILLWAY_SLOT_FLAG_LIBRARY_CAP : 0
        raw.spill_used = snapshot.spillUsed
        raw.spill_epoch = snapshot.spillEpoch
        withUnsafeMutableBytes(of: &raw.container_id) { bytes in
            bytes.initializeMemory(as: UInt8.self, repeating: 0)
            let utf8 = Array(snapshot.containerID.utf8.prefix(bytes.count - 1))
            bytes.copyBytes(from: utf8)
        }
        self.raw = raw
    }

    /// The snapshot, or `nil` if the state is not one this build knows.
    var snapshot: SlotSnapshot? {
        guard let state = SlotState(rawValue: raw.state) else { return nil }
        let id = withUnsafeBytes(of: raw.container_id) { bytes in
            String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        var snapshot = SlotSnapshot(
            generation: raw.generation, state: state,
            spillLimit: raw.spill_limit == 0 ? nil : raw.spill_limit,
            mainLimit: raw.main_limit == 0 ? nil : raw.main_limit,
            updatedNanoseconds: raw.updated_ns, moveEpoch: raw.move_epoch, containerID: id)
        snapshot.libraryEnforcesSpillLimit = raw.flags & SPILLWAY_SLOT_FLAG_LIBRARY_CAP != 0
        snapshot.spillUsed = raw.spill_used
        snapshot.spillEpoch = raw.spill_epoch
        return snapshot
    }
}
