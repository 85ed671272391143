/// Why a ``PartitionAction/remove(containerID:bytes:reason:)`` removes a partition.
public enum PartitionRemovalReason: String, CaseIterable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The container is no longer managed: its spill area goes with the partition.
    case containerLeft = "container_left"
    /// The plan went back to shared mode: the cap goes, the spill area and its files stay.
    case planShared = "plan_shared"

    /// The `reason` string, as in JSON.
    public var description: String { rawValue }
}
