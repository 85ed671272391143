/// One reading of a container's disk usage, as a usage backend takes it once per poll.
public struct UsageSample: Hashable, Sendable, Codable {
    /// Bytes the container uses on the main disk (btrfs qgroup `referenced`, XFS project
    /// usage, or the used bytes of a filesystem of its own).
    public var usedBytes: UInt64
    /// The container's main-disk quota in bytes: `nil` when the backend could not read it,
    /// `0` when no limit is set. Either way no usage rate can be computed.
    public var limitBytes: UInt64?
    /// Bytes stored in the container's spill area on the sub disk.
    public var spilledBytes: UInt64
    /// When the reading was taken.
    public var time: Timestamp

    /// A sample of `usedBytes` out of `limitBytes`, with `spilledBytes` in the spill area, at `time`.
    public init(usedBytes: UInt64, limitBytes: UInt64?, spilledBytes: UInt64 = 0, time: Timestamp) {
        self.usedBytes = usedBytes
        self.limitBytes = limitBytes
        self.spilledBytes = spilledBytes
        self.time = time
    }

    /// `usedBytes / limitBytes` (above 1 when the container is over its quota), or `nil`
    /// when the limit is unknown or zero.
    public var usageRate: Double? {
        UsageSample.rate(usedBytes, of: limitBytes)
    }

    /// `bytes / limit`, or `nil` when `limit` is unknown or zero.
    static func rate(_ bytes: UInt64, of limit: UInt64?) -> Double? {
        guard let limit, limit > 0 else { return nil }
        return Double(bytes) / Double(limit)
    }

    enum CodingKeys: String, CodingKey {
        case usedBytes = "used_bytes"
        case limitBytes = "limit_bytes"
        case spilledBytes = "spilled_bytes"
        case time
    }
}
