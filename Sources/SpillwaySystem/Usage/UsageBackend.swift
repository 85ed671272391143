import SystemPackage

/// What limits a container's writable layer, and so how its usage is read.
public enum UsageBackendKind: String, Sendable, CaseIterable, Codable {
    /// The qgroup of the btrfs subvolume that holds the container's root (Docker's btrfs driver).
    case btrfsQgroup = "btrfs-qgroup"
    /// The XFS project quota of the container's upper directory (overlay2 on XFS with `pquota`).
    case xfsProjectQuota = "xfs-project-quota"
    /// A filesystem of the container's own (a loop or LVM device per container): statfs.
    case filesystem
    /// A plain directory whose cap the supervisor enforces; usage by walking the tree.
    case directory
}

/// Reads one container's usage and limit; the daemon calls ``read()`` on every poll.
///
/// A backend is made once per container (see ``UsageDetector``) and holds what it needs open,
/// so a poll does no path lookups: a btrfs backend holds its qgroup's sysfs files, an XFS backend
/// the upper directory, a filesystem backend the mount's root. Dropping the backend closes them.
public protocol UsageBackend: AnyObject, Sendable {
    /// How this backend measures.
    var kind: UsageBackendKind { get }
    /// The directory it measures, as it was given.
    var path: FilePath { get }
    /// The error a write gets from this filesystem when the limit is reached: `EDQUOT` for btrfs
    /// qgroups, `ENOSPC` for XFS project quotas and for a full filesystem.
    var fullErrno: Errno { get }
    /// Whether ``setLimit(_:)`` can change the limit online.
    var canSetLimit: Bool { get }
    /// A short description of the source, for status output: "btrfs qgroup 0/257 on <fsid>".
    var source: String { get }

    /// Reads usage and limit now.
    ///
    /// - Throws: ``SystemError`` naming ``path`` when the source is gone or unreadable.
    func read() throws -> UsageReading

    /// Sets the limit to `bytes`, or removes it when `nil`.
    ///
    /// - Throws: ``SystemError`` when the kernel refuses, or with `EOPNOTSUPP` when
    ///   ``canSetLimit`` is false.
    func setLimit(_ bytes: UInt64?) throws
}
