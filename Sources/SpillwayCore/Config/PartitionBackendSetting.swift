/// How per-container partitions are made on the sub disk (`partition_backend`).
public enum PartitionBackendSetting: String, CaseIterable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// `btrfs` when the sub disk is btrfs, otherwise `loop`.
    case auto
    /// A btrfs subvolume per container with a qgroup limit, resized online. Needs a btrfs
    /// sub disk with quotas enabled.
    case btrfs
    /// A loop-mounted image file per container, on any host filesystem; grown online.
    case loop
    /// A plain directory per container with a cap the supervisor enforces itself (the
    /// fallback: no kernel-enforced limit).
    case directory

    /// The backend's name, as in the config file.
    public var description: String { rawValue }
}
