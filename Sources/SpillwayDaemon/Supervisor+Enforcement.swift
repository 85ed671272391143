import SpillwayCore
import SpillwaySystem

/// Partition caps the kernel does not enforce (a directory partition): the slot carries the
/// cap and each poll's measurement of the area, and the preload library and the FUSE union
/// refuse to grow spill-area files past the room left (`SPILLWAY_SLOT_FLAG_LIBRARY_CAP`).
extension Supervisor {
    /// Whether the library and the FUSE union enforce the caps on this sub disk.
    nonisolated var libraryEnforcesCaps: Bool { partitionChoice.enforcement == .library }

    /// Puts the cap `limit` (`nil`: none) in `slot` as the backend needs it: informational
    /// when the kernel enforces it, else with the flag that makes writers enforce it.
    nonisolated func setSpillCap(_ slot: inout SlotSnapshot, limit: UInt64?) {
        slot.spillLimit = limit
        slot.libraryEnforcesSpillLimit = libraryEnforcesCaps && limit != nil
    }

    /// Publishes what the area holds now (`used` bytes, just measured) to its writers, with a
    /// new epoch, when the library enforces its cap.
    func publishSpillMeasurement(_ managed: ManagedContainer, used: UInt64) {
        guard libraryEnforcesCaps, let limit = managed.partition?.limit else { return }
        do {
            try updateSlot(managed) { slot in
                setSpillCap(&slot, limit: limit)
                slot.spillUsed = used
                slot.spillEpoch &+= 1
            }
        } catch {
            managed.problem = "cannot update its slot: \(error)"
        }
    }
}
