/// Which half of the union a name lives in: the spill area on the sub disk, or the
/// container's tree on the main disk. Lookups try them in this order.
public enum BranchKind: Int, Sendable, CaseIterable {
    case spill = 0
    case main = 1

    /// The other half.
    public var other: BranchKind { self == .spill ? .main : .spill }
}
