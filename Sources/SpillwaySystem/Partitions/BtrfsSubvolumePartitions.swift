#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import SpillwayCore
import SystemPackage

/// Spill areas as btrfs subvolumes with qgroup limits, on a btrfs sub disk with quotas enabled.
///
/// Create is BTRFS_IOC_SUBVOL_CREATE (the kernel gives the new subvolume qgroup 0/ID) then
/// BTRFS_IOC_QGROUP_LIMIT; resize is BTRFS_IOC_QGROUP_LIMIT, online and instant; remove is
/// BTRFS_IOC_SNAP_DESTROY. Usage is the qgroup's, as ``BtrfsQgroupUsage`` reads it. A full area
/// gives `EDQUOT`.
///
/// A subvolume a container makes inside its area has a qgroup of its own and escapes the area's
/// limit, as with Docker's btrfs driver; removal deletes such nested subvolumes too.
public final class BtrfsSubvolumePartitions: PartitionBackend {
    public let subDisk: SubDisk
    public var kind: PartitionKind { .btrfsSubvolume }
    public var fullErrno: Errno { .diskQuotaExceeded }
    public var kernelEnforcesLimit: Bool { true }

    /// A backend on `subDisk`.
    ///
    /// - Throws: ``InvalidFileError`` when the sub disk is not btrfs or has quotas disabled
    ///   (with the `btrfs quota enable` command to run).
    public init(subDisk: SubDisk) throws {
        guard subDisk.filesystem == .btrfs else {
            throw InvalidFileError(path: subDisk.path.string, problem: "is on \(subDisk.filesystem), not btrfs; use loop-image or directory partitions")
        }
        guard try Btrfs.quotaStatus(subDisk.root, path: subDisk.path.string) != nil else {
            throw InvalidFileError(path: subDisk.path.string,
                                   problem: "is on a btrfs filesystem with quotas disabled; run `btrfs quota enable \(Btrfs.mountPoint(of: subDisk.root))`")
        }
        self.subDisk = subDisk
    }

    public func create(containerID id: String, limit: UInt64?) throws -> Partition {
        try SpillAreaName.validate(id)
        let display = subDisk.areaPath(id).string
        if try Descriptors.status(of: id, in: subDisk.root, display: display) != nil {
            throw InvalidFileError(path: display, problem: "already exists; remove that container's partition first")
        }
        try Btrfs.createSubvolume(named: id, in: subDisk.root, display: display)
        do {
            let fd = try openSubvolume(id)
            defer { try? fd.close() }
            try SubDisk.secure(fd, display: display)
            if let limit {
                let subvolume = try Btrfs.subvolumeID(of: fd, path: display)
                try Btrfs.setQgroupLimit(fd, qgroup: subvolume, bytes: limit, path: display)
            }
        } catch {
            try? Btrfs.destroySubvolume(named: id, in: subDisk.root, display: display)
            throw error
        }
        return Partition(containerID: id, kind: kind, path: subDisk.areaPath(id), limit: limit, isReady: true)
    }

    public func resize(containerID id: String, limit: UInt64?) throws -> Partition {
        try SpillAreaName.validate(id)
        let display = subDisk.areaPath(id).string
        let fd = try openSubvolume(id)
        defer { try? fd.close() }
        let subvolume = try Btrfs.subvolumeID(of: fd, path: display)
        try Btrfs.setQgroupLimit(fd, qgroup: subvolume, bytes: limit, path: display)
        return Partition(containerID: id, kind: kind, path: subDisk.areaPath(id), limit: limit, isReady: true)
    }

    public func usage(containerID id: String) throws -> UsageReading {
        try usageBackend(containerID: id).read()
    }

    public func usageBackend(containerID id: String) throws -> any UsageBackend {
        try SpillAreaName.validate(id)
        let fd = try openSubvolume(id)
        defer { try? fd.close() }
        return try BtrfsQgroupUsage(measuring: fd, path: subDisk.areaPath(id))
    }

    public func remove(containerID id: String) throws {
        try SpillAreaName.validate(id)
        let display = subDisk.areaPath(id).string
        guard let fd = try subDisk.openArea(id) else { return }
        defer { try? fd.close() }
        guard try Self.isSubvolumeRoot(fd, display: display) else {
            throw InvalidFileError(path: display, problem: "is a plain directory, not a btrfs subvolume; it was not made by this backend")
        }
        let subvolume = try Btrfs.subvolumeID(of: fd, path: display)
        do {
            try Btrfs.destroySubvolume(named: id, in: subDisk.root, display: display)
        } catch let error as SystemError where error.errno == .directoryNotEmpty {
            // It holds a nested subvolume: empty it through descriptors, then delete it.
            try DirectoryTree.removeContents(of: fd, display: display)
            try Btrfs.destroySubvolume(named: id, in: subDisk.root, display: display)
        }
        // The qgroup goes once the cleaner has dropped the subvolume (newer kernels remove it
        // themselves); until then the kernel refuses with EBUSY, which is harmless.
        try? Btrfs.destroyQgroup(subDisk.root, qgroup: subvolume, path: display)
    }

    public func list() throws -> [Partition] {
        var partitions: [Partition] = []
        for name in try SubDisk.entryNames(subDisk.root, display: subDisk.path.string).sorted() where SpillAreaName.isValid(name) {
            let display = subDisk.areaPath(name).string
            guard let st = try Descriptors.status(of: name, in: subDisk.root, display: display), Descriptors.isDirectory(st),
                  UInt64(st.st_ino) == Btrfs.subvolumeRootInode,
                  let fd = try subDisk.openArea(name)
            else { continue }
            defer { try? fd.close() }
            let limit = try BtrfsQgroupUsage(measuring: fd, path: subDisk.areaPath(name)).read().limit
            partitions.append(Partition(containerID: name, kind: kind, path: subDisk.areaPath(name), limit: limit, isReady: true))
        }
        return partitions
    }

    public func activate(containerID id: String) throws -> Partition {
        try SpillAreaName.validate(id)
        let usage = try usageBackend(containerID: id).read()
        return Partition(containerID: id, kind: kind, path: subDisk.areaPath(id), limit: usage.limit, isReady: true)
    }

    /// Opens the area and checks that it is a subvolume's root.
    private func openSubvolume(_ id: String) throws -> FileDescriptor {
        let display = subDisk.areaPath(id).string
        let fd = try subDisk.requireArea(id)
        do {
            guard try Self.isSubvolumeRoot(fd, display: display) else {
                throw InvalidFileError(path: display, problem: "is a plain directory, not a btrfs subvolume; it was not made by this backend")
            }
        } catch {
            try? fd.close()
            throw error
        }
        return fd
    }

    /// A subvolume's root directory has inode number 256.
    static func isSubvolumeRoot(_ fd: FileDescriptor, display: String) throws -> Bool {
        let st = try Descriptors.status(fd, path: display)
        return Descriptors.isDirectory(st) && UInt64(st.st_ino) == Btrfs.subvolumeRootInode
    }
}
