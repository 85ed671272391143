/// Where the union puts things, decided from the slot's state and where names exist: no I/O,
/// so the choices can be tested alone (mergerfs keeps its policies apart from the calls that act
/// on them the same way). The rules are the spec's section 5 and docs/SHIM.md.
public enum UnionPolicy {
    /// The branch a new name goes to: the spill area while `spilling`; otherwise the main disk,
    /// unless its parent directory exists only in the spill area.
    public static func branchForNewName(state: SlotState, parentOnMain: Bool, parentInSpill: Bool) -> BranchKind {
        if state == .spilling { return .spill }
        if !parentOnMain && parentInSpill { return .spill }
        return .main
    }

    /// Whether a file living in `branch` must move to the spill area before it is written.
    public static func mustMoveBeforeWriting(state: SlotState, branch: BranchKind) -> Bool {
        state == .spilling && branch == .main
    }

    /// Whether a failed call on the main disk is one the spill area can rescue.
    public static func isOutOfSpace(_ errno: Int32) -> Bool {
        errno == 122 /* EDQUOT */ || errno == 28 /* ENOSPC */
    }

    /// Whether a name in a listing is one of the movers' own temporaries, which the union hides.
    public static func isHidden(_ name: UnsafePointer<CChar>) -> Bool {
        // ".spillway-move." and ".spillway-intent."
        guard name[0] == 0x2E, name[1] == 0x73, name[2] == 0x70, name[3] == 0x69 else { return false }
        return hasPrefix(name, ".spillway-move.") || hasPrefix(name, ".spillway-intent.")
    }

    private static func hasPrefix(_ name: UnsafePointer<CChar>, _ prefix: StaticString) -> Bool {
        let p = prefix.utf8Start
        for i in 0..<prefix.utf8CodeUnitCount where UInt8(bitPattern: name[i]) != p[i] { return false }
        return true
    }
}
