/// One managed container as the partition planner sees it.
public struct PlanContainer: Hashable, Sendable, Codable {
    /// The container's id (unique within one planning call).
    public var id: String
    /// Its main-disk quota in bytes; `0` when unknown or unlimited (it is then weighted as the
    /// average known quota, see ``PartitionPlanner``).
    public var quotaBytes: UInt64
    /// Bytes already stored in its spill area: the plan never gives it less.
    public var storedBytes: UInt64
    /// The size of the partition it has now, if it has one (shown in the plan, and used by
    /// ``PartitionPlan/actionsFromCurrentPartitions()``).
    public var currentPartitionBytes: UInt64?

    /// A container with quota `quotaBytes`, `storedBytes` in its spill area and, if it has
    /// one, a partition of `currentPartitionBytes`.
    public init(id: String, quotaBytes: UInt64, storedBytes: UInt64 = 0, currentPartitionBytes: UInt64? = nil) {
        self.id = id
        self.quotaBytes = quotaBytes
        self.storedBytes = storedBytes
        self.currentPartitionBytes = currentPartitionBytes
    }

    enum CodingKeys: String, CodingKey {
        case id
        case quotaBytes = "quota_bytes"
        case storedBytes = "stored_bytes"
        case currentPartitionBytes = "current_partition_bytes"
    }
}
