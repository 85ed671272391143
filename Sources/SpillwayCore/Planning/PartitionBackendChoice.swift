/// Which partition backend the daemon uses on its sub disk, who enforces the caps there, and
/// why (`partition_backend`). Pure: the caller probes the sub disk (``SubDiskFacts``).
///
/// `auto` picks, in order: a btrfs subvolume per container when the sub disk is btrfs with
/// quotas enabled; else a loop-mounted ext4 image per container when the host has loop
/// devices (any sub disk filesystem); else — and only then — a plain directory, whose caps
/// Spillway's library and FUSE union enforce, which ``notice`` says plainly. `auto` never
/// picks the directory backend while a kernel-enforced one is possible.
public struct PartitionBackendChoice: Hashable, Sendable {
    /// What the sub disk and the host offer.
    public struct SubDiskFacts: Hashable, Sendable {
        /// The sub disk's path, for messages.
        public var path: String
        /// The sub disk is a btrfs filesystem.
        public var isBtrfs: Bool
        /// btrfs quotas (qgroups) are enabled on it.
        public var btrfsQuotasEnabled: Bool
        /// The host has loop devices the daemon can attach (`/dev/loop-control`).
        public var loopDevicesAvailable: Bool

        /// Facts with the given fields.
        public init(path: String, isBtrfs: Bool, btrfsQuotasEnabled: Bool, loopDevicesAvailable: Bool) {
            self.path = path
            self.isBtrfs = isBtrfs
            self.btrfsQuotasEnabled = btrfsQuotasEnabled
            self.loopDevicesAvailable = loopDevicesAvailable
        }
    }

    /// The backend: ``PartitionBackendSetting/btrfs``, ``PartitionBackendSetting/loop`` or
    /// ``PartitionBackendSetting/directory``, never `auto`.
    public var backend: PartitionBackendSetting
    /// Who enforces the caps.
    public var enforcement: PartitionEnforcement
    /// Why this backend, in one sentence.
    public var reason: String
    /// What an operator must know when the kernel does not enforce the caps; `nil` otherwise.
    /// The daemon logs it at start and shows it in `spillway status` and the metrics.
    public var notice: String?

    /// The backend for `setting` on a sub disk with `facts`.
    ///
    /// - Throws: ``InputError`` naming `partition_backend` when an explicit choice cannot work
    ///   on this sub disk (btrfs without a btrfs sub disk with quotas, loop without loop devices).
    public static func choose(_ setting: PartitionBackendSetting, facts: SubDiskFacts) throws(InputError) -> PartitionBackendChoice {
        switch setting {
        case .btrfs:
            guard facts.isBtrfs else {
                throw InputError("partition_backend = \"btrfs\" needs a btrfs sub disk, and \(facts.path) is not btrfs; use \"loop\" or \"auto\"")
            }
            guard facts.btrfsQuotasEnabled else {
                throw InputError("partition_backend = \"btrfs\" needs btrfs quotas on \(facts.path); run `btrfs quota enable \(facts.path)` or use \"loop\" or \"auto\"")
            }
            return PartitionBackendChoice(backend: .btrfs, enforcement: .kernel, reason: "partition_backend = \"btrfs\": a subvolume per container with a qgroup limit", notice: nil)
        case .loop:
            guard facts.loopDevicesAvailable else {
                throw InputError("partition_backend = \"loop\" needs loop devices, and /dev/loop-control cannot be opened; load the loop module (`modprobe loop`) or use \"auto\"")
            }
            return PartitionBackendChoice(backend: .loop, enforcement: .kernel, reason: "partition_backend = \"loop\": an ext4 image per container", notice: nil)
        case .directory:
            return PartitionBackendChoice(backend: .directory, enforcement: .library,
                                          reason: "partition_backend = \"directory\": a plain directory per container",
                                          notice: libraryNotice(facts))
        case .auto:
            if facts.isBtrfs && facts.btrfsQuotasEnabled {
                return PartitionBackendChoice(backend: .btrfs, enforcement: .kernel,
                                              reason: "auto: \(facts.path) is btrfs with quotas enabled, so a subvolume per container with a qgroup limit", notice: nil)
            }
            let why = facts.isBtrfs ? "is btrfs without quotas" : "is not btrfs"
            if facts.loopDevicesAvailable {
                return PartitionBackendChoice(backend: .loop, enforcement: .kernel,
                                              reason: "auto: \(facts.path) \(why), so an ext4 image per container on a loop device", notice: nil)
            }
            return PartitionBackendChoice(backend: .directory, enforcement: .library,
                                          reason: "auto: \(facts.path) \(why) and the host has no loop devices, so a plain directory per container",
                                          notice: libraryNotice(facts))
        }
    }

    /// The plain statement for a sub disk whose caps the kernel does not enforce.
    static func libraryNotice(_ facts: SubDiskFacts) -> String {
        "partition caps on \(facts.path) are enforced by Spillway's preload library and FUSE union, not by the kernel: a program making its own system calls can exceed its partition; for kernel-enforced caps enable btrfs quotas on the sub disk or use partition_backend = \"loop\""
    }
}
