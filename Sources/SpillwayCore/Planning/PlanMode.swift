/// How the sub disk is divided among spill areas (claim 9).
public enum PlanMode: String, CaseIterable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// Fewer containers than the threshold count: the spill areas share the sub disk with
    /// no per-container caps.
    case shared
    /// At least the threshold count: each spill area is a partition whose size is
    /// proportional to its container's main-disk quota.
    case partitioned

    /// The mode's name, as in `spillway plan` and JSON.
    public var description: String { rawValue }
}
