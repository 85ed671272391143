/// How the sub disk is divided among the managed containers' spill areas: what
/// `spillway plan` shows, and what the supervisor applies (claims 1 and 9).
///
/// Made by ``PartitionPlanner/plan(_:)``. Its `Codable` form is the `spillway plan --json`
/// object, with snake_case keys; the entries are under `containers`, sorted by id.
public struct PartitionPlan: Hashable, Sendable, Codable {
    /// Shared (no caps) or partitioned (one capped partition per container).
    public var mode: PlanMode
    /// The sub disk's capacity.
    public var capacityBytes: UInt64
    /// The reserve as configured, in bytes (may exceed the capacity).
    public var reserveBytes: UInt64
    /// What the spill areas may use: capacity minus reserve, rounded down to 1 MiB.
    public var usableBytes: UInt64
    /// The container count at which the plan is partitioned, and its derivation.
    public var threshold: PlanThreshold
    /// One entry per container, sorted by id.
    public var entries: [PlanEntry]
    /// The sum of the planned partitions (0 in shared mode).
    public var plannedBytes: UInt64
    /// The sum of the bytes already in the spill areas.
    public var storedBytes: UInt64
    /// The sum of the entries' shortfalls: how much the others were scaled down to honour
    /// what some containers already store.
    public var shortfallBytes: UInt64
    /// How far the plan exceeds the usable space (partitioned: planned minus usable; shared:
    /// stored minus usable). Non-zero only when what is already stored does not fit.
    public var overcommitBytes: UInt64
    /// Human-readable lines explaining the plan, for `spillway plan`.
    public var reasons: [String]

    /// A plan with every field given (``PartitionPlanner/plan(_:)`` makes them).
    public init(
        mode: PlanMode, capacityBytes: UInt64, reserveBytes: UInt64, usableBytes: UInt64, threshold: PlanThreshold,
        entries: [PlanEntry], plannedBytes: UInt64, storedBytes: UInt64, shortfallBytes: UInt64,
        overcommitBytes: UInt64, reasons: [String]
    ) {
        self.mode = mode
        self.capacityBytes = capacityBytes
        self.reserveBytes = reserveBytes
        self.usableBytes = usableBytes
        self.threshold = threshold
        self.entries = entries
        self.plannedBytes = plannedBytes
        self.storedBytes = storedBytes
        self.shortfallBytes = shortfallBytes
        self.overcommitBytes = overcommitBytes
        self.reasons = reasons
    }

    /// The entry of container `id`, if it is in the plan.
    public func entry(for id: String) -> PlanEntry? {
        entries.first { $0.id == id }
    }

    /// The planned partition size of container `id`: `nil` when it is not in the plan or
    /// the plan is shared.
    public func partitionBytes(for id: String) -> UInt64? {
        entry(for: id)?.partitionBytes
    }

    enum CodingKeys: String, CodingKey {
        case mode
        case capacityBytes = "capacity_bytes"
        case reserveBytes = "reserve_bytes"
        case usableBytes = "usable_bytes"
        case threshold
        case entries = "containers"
        case plannedBytes = "planned_bytes"
        case storedBytes = "stored_bytes"
        case shortfallBytes = "shortfall_bytes"
        case overcommitBytes = "overcommit_bytes"
        case reasons
    }
}
