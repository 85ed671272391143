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

    /// Whether a name in a listing is one of the movers' own temporaries or a file the union
    /// keeps for a descriptor after its last name went (``isOpenUnlinked(_:)``); the union hides
    /// both.
    public static func isHidden(_ name: UnsafePointer<CChar>) -> Bool {
        guard name[0] == 0x2E else { return false }
        // ".spillway-move." and ".spillway-intent."
        if name[1] == 0x73, name[2] == 0x70, name[3] == 0x69 {
            return hasPrefix(name, ".spillway-move.") || hasPrefix(name, ".spillway-intent.")
        }
        return name[1] == 0x66 && isOpenUnlinked(name)
    }

    /// The prefix of libfuse's names for files unlinked, or replaced by a rename, while open.
    public static let openUnlinkedPrefix = ".fuse_hidden"

    /// Whether `name` is exactly libfuse's name for a file unlinked while open: `.fuse_hidden`
    /// and 16 lowercase hex digits (its node id and a counter, unique in the mount). The union
    /// keeps such files at the top of their branch (docs/FUSE.md, "Files unlinked while open").
    public static func isOpenUnlinked(_ name: UnsafePointer<CChar>) -> Bool {
        guard hasPrefix(name, ".fuse_hidden") else { return false }
        for i in 12..<28 {
            let c = UInt8(bitPattern: name[i])
            if !((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)) { return false }
        }
        return name[28] == 0
    }

    public static func isOpenUnlinked(_ name: String) -> Bool {
        name.withCString { isOpenUnlinked($0) }
    }

    private static func hasPrefix(_ name: UnsafePointer<CChar>, _ prefix: StaticString) -> Bool {
        let p = prefix.utf8Start
        for i in 0..<prefix.utf8CodeUnitCount where UInt8(bitPattern: name[i]) != p[i] { return false }
        return true
    }
}
