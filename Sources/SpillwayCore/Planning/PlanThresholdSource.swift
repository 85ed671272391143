/// Where a plan's threshold count came from.
public enum PlanThresholdSource: String, CaseIterable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// Derived from the usable capacity by ``PartitionPlanner/autoThreshold(usableBytes:shareBytes:)``
    /// (`partition_min_containers = "auto"`).
    case auto
    /// Set in the configuration (`partition_min_containers = N`).
    case configured

    /// The source's name, as in JSON.
    public var description: String { rawValue }
}
