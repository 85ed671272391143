import SpillwayCore
import SystemPackage

/// How a sub disk is divided into per-container spill areas.
public enum PartitionKind: String, Sendable, CaseIterable, Codable {
    /// A btrfs subvolume per container with a qgroup limit (the default on a btrfs sub disk
    /// with quotas enabled); the kernel enforces the cap with `EDQUOT`.
    case btrfsSubvolume = "btrfs-subvolume"
    /// A sparse ext4 image per container, loop-mounted (any sub disk filesystem); the kernel
    /// enforces the cap with `ENOSPC`.
    case loopImage = "loop-image"
    /// A plain directory per container whose cap Spillway's preload library and FUSE union
    /// enforce from the supervisor's measurement (``PartitionEnforcement/library``).
    case directory

    /// The kind a resolved `partition_backend` names (`auto` reads as ``directory``; resolve
    /// it with ``PartitionBackendChoice`` first).
    public init(_ setting: PartitionBackendSetting) {
        switch setting {
        case .btrfs: self = .btrfsSubvolume
        case .loop: self = .loopImage
        case .directory, .auto: self = .directory
        }
    }
}

/// One container's spill area as a backend sees it on the sub disk.
public struct Partition: Sendable, Equatable, CustomStringConvertible {
    /// The container id, which is also the area's directory name under the sub disk.
    public var containerID: String
    /// How the area is made.
    public var kind: PartitionKind
    /// The spill area's root directory: mode 0700, owned by root.
    public var path: FilePath
    /// The cap in bytes, or `nil` when uncapped (sharing the sub disk).
    public var limit: UInt64?
    /// Whether the area can be used now (a loop image is attached and mounted).
    public var isReady: Bool

    /// A partition with the given fields.
    public init(containerID: String, kind: PartitionKind, path: FilePath, limit: UInt64?, isReady: Bool) {
        self.containerID = containerID
        self.kind = kind
        self.path = path
        self.limit = limit
        self.isReady = isReady
    }

    /// One line for logs: id, kind, path, limit, readiness.
    public var description: String {
        "\(containerID): \(kind.rawValue) at \(path.string), limit \(limit.map { "\($0) B" } ?? "none")\(isReady ? "" : " (not ready)")"
    }
}

/// Makes, resizes, measures and removes spill areas on one sub disk: one directory per
/// container id directly under the sub disk (see ``SpillAreaName``).
///
/// Every area is created mode 0700 and owned by the daemon's user (root). Calls for one
/// container must not run concurrently; calls for different containers may.
/// A failed ``create(containerID:limit:)`` leaves nothing behind; ``remove(containerID:)`` of an
/// area that does not exist does nothing, so both can be retried after a crash, and ``list()``
/// finds what exists after a restart.
public protocol PartitionBackend: AnyObject, Sendable {
    /// Which kind of partition this backend makes.
    var kind: PartitionKind { get }
    /// The sub disk it works on.
    var subDisk: SubDisk { get }
    /// The errno a write into a full area gets from the kernel, or for ``PartitionKind/directory``
    /// the errno the preload library and the FUSE union report once the cap is reached (`ENOSPC`).
    var fullErrno: Errno { get }
    /// Whether the kernel enforces the cap; `false` for ``PartitionKind/directory``, where the
    /// daemon publishes the cap and each poll's measurement in the slot
    /// (`SPILLWAY_SLOT_FLAG_LIBRARY_CAP`) and the library and the FUSE union refuse writes past it.
    var kernelEnforcesLimit: Bool { get }

    /// Creates the spill area for `containerID`, capped at `limit` bytes or uncapped.
    ///
    /// - Throws: ``InputError`` for a bad id or size; ``InvalidFileError`` when the area already
    ///   exists; ``SystemError`` when a call fails (nothing is left behind).
    func create(containerID: String, limit: UInt64?) throws -> Partition

    /// Changes the cap of an existing area online, keeping its data; `nil` removes the cap.
    ///
    /// - Throws: ``InvalidFileError`` when there is no such area; ``SystemError`` when the kernel
    ///   refuses (a loop image cannot shrink online).
    func resize(containerID: String, limit: UInt64?) throws -> Partition

    /// How much the area holds now, and its cap.
    ///
    /// - Throws: ``InvalidFileError`` when there is no such area; ``SystemError``.
    func usage(containerID: String) throws -> UsageReading

    /// A backend that measures the area on every poll with what it holds open.
    ///
    /// - Throws: as ``usage(containerID:)``.
    func usageBackend(containerID: String) throws -> any UsageBackend

    /// Removes the area with everything in it (for a loop image: unmounts and detaches it).
    ///
    /// - Throws: ``SystemError`` when it is still in use or cannot be removed.
    func remove(containerID: String) throws

    /// The areas that exist on the sub disk (for recovery after a restart).
    ///
    /// - Throws: ``SystemError`` when the sub disk cannot be read.
    func list() throws -> [Partition]

    /// Makes an existing area usable again after a host restart (a loop image is attached and
    /// mounted again); does nothing to an area that is ready.
    ///
    /// - Throws: ``InvalidFileError`` when there is no such area; ``SystemError``.
    func activate(containerID: String) throws -> Partition
}
