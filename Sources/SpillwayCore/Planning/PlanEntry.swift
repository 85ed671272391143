/// One container's line in a ``PartitionPlan``.
public struct PlanEntry: Hashable, Sendable, Codable {
    /// The container's id.
    public var id: String
    /// Its main-disk quota (`0` when unknown).
    public var quotaBytes: UInt64
    /// The weight it was planned with: its quota, or the average known quota when its own
    /// is unknown, or 1 when no quota is known (equal shares).
    public var weight: UInt64
    /// Bytes already in its spill area.
    public var storedBytes: UInt64
    /// Its partition now, if any (from the input).
    public var currentPartitionBytes: UInt64?
    /// Its share of the usable space by quota alone, before anyone's stored bytes are
    /// honoured; `nil` in shared mode.
    public var fairShareBytes: UInt64?
    /// The planned partition size, a multiple of 1 MiB and never below ``storedBytes``;
    /// `nil` in shared mode (no cap).
    public var partitionBytes: UInt64?
    /// How far its fair share falls short of what it already stores: the plan gives it what
    /// it stores instead and takes this much from the others. `0` when its share suffices.
    public var shortfallBytes: UInt64

    /// An entry with every field given.
    public init(
        id: String, quotaBytes: UInt64, weight: UInt64, storedBytes: UInt64, currentPartitionBytes: UInt64?,
        fairShareBytes: UInt64?, partitionBytes: UInt64?, shortfallBytes: UInt64
    ) {
        self.id = id
        self.quotaBytes = quotaBytes
        self.weight = weight
        self.storedBytes = storedBytes
        self.currentPartitionBytes = currentPartitionBytes
        self.fairShareBytes = fairShareBytes
        self.partitionBytes = partitionBytes
        self.shortfallBytes = shortfallBytes
    }

    enum CodingKeys: String, CodingKey {
        case id
        case quotaBytes = "quota_bytes"
        case weight
        case storedBytes = "stored_bytes"
        case currentPartitionBytes = "current_partition_bytes"
        case fairShareBytes = "fair_share_bytes"
        case partitionBytes = "partition_bytes"
        case shortfallBytes = "shortfall_bytes"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        quotaBytes = try container.decode(UInt64.self, forKey: .quotaBytes)
        weight = try container.decode(UInt64.self, forKey: .weight)
        storedBytes = try container.decode(UInt64.self, forKey: .storedBytes)
        currentPartitionBytes = try container.decodeIfPresent(UInt64.self, forKey: .currentPartitionBytes)
        fairShareBytes = try container.decodeIfPresent(UInt64.self, forKey: .fairShareBytes)
        partitionBytes = try container.decodeIfPresent(UInt64.self, forKey: .partitionBytes)
        shortfallBytes = try container.decode(UInt64.self, forKey: .shortfallBytes)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(quotaBytes, forKey: .quotaBytes)
        try container.encode(weight, forKey: .weight)
        try container.encode(storedBytes, forKey: .storedBytes)
        // Absent values are written as null so every entry has the same keys.
        try container.encode(currentPartitionBytes, forKey: .currentPartitionBytes)
        try container.encode(fairShareBytes, forKey: .fairShareBytes)
        try container.encode(partitionBytes, forKey: .partitionBytes)
        try container.encode(shortfallBytes, forKey: .shortfallBytes)
    }
}
