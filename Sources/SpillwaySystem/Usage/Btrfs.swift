#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import SystemPackage

/// btrfs ioctls, each on a descriptor the caller holds, with errors that name the path.
public enum Btrfs {
    /// The inode number of every subvolume's root directory (`BTRFS_FIRST_FREE_OBJECTID`).
    public static let subvolumeRootInode: UInt64 = SPILLWAY_BTRFS_FIRST_FREE_OBJECTID

    /// The qgroup id `level/id` as the kernel packs it: level in the top 16 bits.
    public static func qgroupID(level: UInt16 = 0, id: UInt64) -> UInt64 { UInt64(level) << 48 | (id & 0xFFFF_FFFF_FFFF) }

    /// The id of the subvolume that holds `fd`.
    ///
    /// The corresponding C call is `ioctl(fd, BTRFS_IOC_INO_LOOKUP, {treeid 0, objectid 256})`.
    /// - Throws: ``SystemError`` (`ENOTTY` when `fd` is not on btrfs).
    public static func subvolumeID(of fd: FileDescriptor, path: String) throws -> UInt64 {
        var id: UInt64 = 0
        guard spillway_btrfs_subvolume_id(fd.rawValue, &id) == 0 else {
            throw SystemError("find the btrfs subvolume of", path: path, syscall: "ioctl(BTRFS_IOC_INO_LOOKUP)", errno: Errno(rawValue: errno))
        }
        return id
    }

    /// The fsid of the filesystem holding `fd`, as /sys/fs/btrfs names it: `9412164e-34ef-…`.
    ///
    /// The corresponding C call is `ioctl(fd, BTRFS_IOC_FS_INFO)`.
    /// - Throws: ``SystemError``.
    public static func fsid(of fd: FileDescriptor, path: String) throws -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        guard spillway_btrfs_fsid(fd.rawValue, &bytes) == 0 else {
            throw SystemError("read the btrfs fsid of", path: path, syscall: "ioctl(BTRFS_IOC_FS_INFO)", errno: Errno(rawValue: errno))
        }
        return uuidString(bytes)
    }

    /// Formats 16 bytes as a lower-case UUID with dashes (8-4-4-4-12).
    static func uuidString(_ bytes: [UInt8]) -> String {
        let hex = bytes.map { byte -> String in
            let digits = String(byte, radix: 16)
            return digits.count == 1 ? "0" + digits : digits
        }
        let groups = [0..<4, 4..<6, 6..<8, 8..<10, 10..<16].map { hex[$0].joined() }
        return groups.joined(separator: "-")
    }

    /// Commits the filesystem's running transaction, so qgroup `referenced` counts every write
    /// made so far. Costly (it writes metadata); not for every poll.
    ///
    /// The corresponding C call is `ioctl(fd, BTRFS_IOC_SYNC)`.
    /// - Throws: ``SystemError``.
    public static func commit(_ fd: FileDescriptor, path: String) throws {
        guard spillway_btrfs_sync(fd.rawValue) == 0 else {
            throw SystemError("commit the btrfs transaction of", path: path, syscall: "ioctl(BTRFS_IOC_SYNC)", errno: Errno(rawValue: errno))
        }
    }

    /// Creates an empty subvolume `name` in `directory`.
    ///
    /// The corresponding C call is `ioctl(directory, BTRFS_IOC_SUBVOL_CREATE)`.
    /// - Parameter display: the new subvolume's full path, for errors.
    /// - Throws: ``SystemError`` (`EEXIST` when the name is taken).
    public static func createSubvolume(named name: String, in directory: FileDescriptor, display: String) throws {
        guard spillway_btrfs_subvolume_create(directory.rawValue, name) == 0 else {
            let err = Errno(rawValue: errno)
            throw SystemError("create btrfs subvolume", path: display, syscall: "ioctl(BTRFS_IOC_SUBVOL_CREATE)", errno: err,
                              hint: err == .fileExists ? "a file of that name already exists" : nil)
        }
    }

    /// Deletes subvolume `name` in `directory` with everything in it.
    ///
    /// The corresponding C call is `ioctl(directory, BTRFS_IOC_SNAP_DESTROY)`.
    /// - Throws: ``SystemError`` (`ENOTEMPTY` when it holds another subvolume).
    public static func destroySubvolume(named name: String, in directory: FileDescriptor, display: String) throws {
        guard spillway_btrfs_subvolume_destroy(directory.rawValue, name) == 0 else {
            throw SystemError("delete btrfs subvolume", path: display, syscall: "ioctl(BTRFS_IOC_SNAP_DESTROY)", errno: Errno(rawValue: errno))
        }
    }

    /// Sets qgroup `qgroup`'s referenced limit (`max_referenced`) to `bytes`, or removes it.
    ///
    /// The corresponding C call is `ioctl(fd, BTRFS_IOC_QGROUP_LIMIT)`; the new limit applies to
    /// the next write at once.
    /// - Parameter fd: any file on the filesystem.
    /// - Throws: ``SystemError``; with a hint to enable quotas when the kernel says they are off.
    public static func setQgroupLimit(_ fd: FileDescriptor, qgroup: UInt64, bytes: UInt64?, path: String) throws {
        // The kernel reads UInt64.max as "no limit".
        let value = bytes ?? .max
        guard spillway_btrfs_qgroup_limit(fd.rawValue, qgroup, value) == 0 else {
            let err = Errno(rawValue: errno)
            let hint: String? = switch err {
            case .socketNotConnected: "quotas are disabled on this filesystem; run `btrfs quota enable` on its mount point"
            case .noSuchFileOrDirectory: "qgroup 0/\(qgroup) does not exist"
            default: nil
            }
            throw SystemError("set the btrfs qgroup limit of", path: path, syscall: "ioctl(BTRFS_IOC_QGROUP_LIMIT)", errno: err, hint: hint)
        }
    }

    /// Removes qgroup `qgroup` (best done after its subvolume is gone and cleaned).
    ///
    /// The corresponding C call is `ioctl(fd, BTRFS_IOC_QGROUP_CREATE, {create 0})`.
    /// - Throws: ``SystemError`` (`EBUSY` while the deleted subvolume is still being cleaned).
    public static func destroyQgroup(_ fd: FileDescriptor, qgroup: UInt64, path: String) throws {
        guard spillway_btrfs_qgroup_destroy(fd.rawValue, qgroup) == 0 else {
            throw SystemError("remove the btrfs qgroup of", path: path, syscall: "ioctl(BTRFS_IOC_QGROUP_CREATE)", errno: Errno(rawValue: errno))
        }
    }

    /// The sysfs directory of a mounted btrfs filesystem.
    public static func sysfsDirectory(fsid: String) -> String { "/sys/fs/btrfs/\(fsid)" }

    /// Whether quotas are enabled on the filesystem holding `fd`, and how sound their numbers are.
    ///
    /// Reads /sys/fs/btrfs/FSID/qgroups where the kernel has it, else the quota tree's status item.
    /// - Returns: `nil` when quotas are disabled.
    /// - Throws: ``SystemError`` when neither can be read.
    public static func quotaStatus(_ fd: FileDescriptor, path: String) throws -> BtrfsQuotaStatus? {
        let fsid = try fsid(of: fd, path: path)
        let directory = sysfsDirectory(fsid: fsid)
        var st = stat()
        if stat(directory + "/qgroups", &st) == 0 {
            let inconsistent = (try? Descriptors.readSmallFile(at: directory + "/qgroups/inconsistent"))
                .flatMap { SysfsNumber.parse($0) } ?? 0
            return BtrfsQuotaStatus(inconsistent: inconsistent != 0, rescanning: false)
        }
        // No qgroups directory: quotas are off, or the kernel predates it (before 5.9).
        return try BtrfsQuotaTree.status(fd, path: path)
    }

    /// The mount point of the filesystem holding `fd`, for messages; "its mount point" if unknown.
    static func mountPoint(of fd: FileDescriptor) -> String {
        guard let id = Descriptors.mountID(fd), let table = try? MountTable.current(),
              let entry = table.entry(mountID: id) else { return "its mount point" }
        return entry.mountPoint
    }
}

/// The state of a btrfs filesystem's quotas.
public struct BtrfsQuotaStatus: Sendable, Equatable {
    /// The kernel says its numbers may be wrong until a rescan (`btrfs quota rescan`).
    public var inconsistent: Bool
    /// A rescan is running; numbers are still being counted.
    public var rescanning: Bool

    /// A status with the given flags.
    public init(inconsistent: Bool, rescanning: Bool) {
        self.inconsistent = inconsistent
        self.rescanning = rescanning
    }
}

/// Parsing of the decimal numbers sysfs attributes hold.
enum SysfsNumber {
    /// The unsigned decimal at the start of `bytes` (up to a newline), or `nil`.
    static func parse(_ bytes: [UInt8]) -> UInt64? {
        bytes.withUnsafeBufferPointer { parse($0) }
    }

    /// The same, on a buffer (not generic, so the poll path stays fast in debug builds too).
    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        for byte in bytes {
            if byte == 10 || byte == 0 { break }
            guard byte >= 48, byte <= 57 else { return nil }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times.addingReportingOverflow(UInt64(byte &- 48))
            if o1 || o2 { return nil }
            value = sum
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}
