#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import SystemPackage

/// XFS project-quota records (`struct fs_disk_quota`) and their units: pure conversions, and the
/// quotactl(2) calls that read and set them.
///
/// XFS counts quota in 512-byte *basic blocks* whatever its block size: `d_bcount` is the usage,
/// `d_blk_hardlimit` the limit (0: none). A write that would pass a project's hard limit fails with
/// `ENOSPC` (not `EDQUOT`, which XFS keeps for user and group quotas).
public enum XfsQuota {
    /// The unit of `d_bcount` and the block limits.
    public static let basicBlockSize = UInt64(SPILLWAY_XFS_BASIC_BLOCK_SIZE)

    /// Bytes in `blocks` basic blocks, saturating.
    public static func bytes(basicBlocks blocks: UInt64) -> UInt64 {
        let (value, overflow) = blocks.multipliedReportingOverflow(by: basicBlockSize)
        return overflow ? .max : value
    }

    /// The basic blocks that hold `bytes`, rounded up (a limit never ends up below what was asked).
    public static func basicBlocks(bytes: UInt64) -> UInt64 {
        bytes / basicBlockSize + (bytes % basicBlockSize == 0 ? 0 : 1)
    }

    /// The usage and limit in a project's quota record.
    public static func sample(from record: spillway_fs_disk_quota) -> UsageReading {
        UsageReading(used: bytes(basicBlocks: record.d_bcount), pending: 0,
                    limit: record.d_blk_hardlimit == 0 ? nil : bytes(basicBlocks: record.d_blk_hardlimit))
    }

    /// The Q_XSETQLIM record that sets project `projectID`'s hard block limit to `bytes`
    /// (`nil`: none) and leaves every other limit alone (`d_fieldmask` = `FS_DQ_BHARD`).
    public static func limitRecord(projectID: UInt32, bytes: UInt64?) -> spillway_fs_disk_quota {
        var record = spillway_fs_disk_quota()
        record.d_version = Int8(SPILLWAY_FS_DQUOT_VERSION)
        record.d_flags = Int8(SPILLWAY_FS_PROJ_QUOTA)
        record.d_fieldmask = UInt16(SPILLWAY_FS_DQ_BHARD)
        record.d_id = projectID
        record.d_blk_hardlimit = bytes.map(basicBlocks(bytes:)) ?? 0
        return record
    }

    /// The hint for an errno from an XFS quota call.
    static func hint(for err: Errno) -> String? {
        switch err {
        case .noFunction, .notSupported:
            "this kernel has no XFS quota support (CONFIG_XFS_QUOTA) or the filesystem is not mounted with -o prjquota"
        case .noSuchProcess:
            "project quotas are not enabled; mount the filesystem with -o prjquota (pquota)"
        case .noSuchFileOrDirectory:
            "the project has no quota record yet; set a limit first"
        default:
            nil
        }
    }

    /// Project `projectID`'s quota record on the filesystem holding `fd`, with quotactl_fd(2),
    /// or quotactl(2) on `device` where quotactl_fd is missing (before Linux 5.14).
    ///
    /// The corresponding C call is `quotactl_fd(fd, QCMD(Q_XGETQUOTA, PRJQUOTA), projectID, &record)`.
    /// - Throws: ``SystemError`` naming `path`, with a hint when quotas are unavailable.
    public static func record(_ fd: FileDescriptor, device: () -> String?, projectID: UInt32, path: String) throws -> spillway_fs_disk_quota {
        var record = spillway_fs_disk_quota()
        try call(fd, device: device, command: spillway_qcmd_project_getquota(), projectID: projectID, record: &record,
                 action: "read the XFS project quota of", path: path)
        return record
    }

    /// Sets project `projectID`'s hard block limit to `bytes` (`nil`: none).
    ///
    /// The corresponding C call is `quotactl_fd(fd, QCMD(Q_XSETQLIM, PRJQUOTA), projectID, &record)`.
    /// - Throws: ``SystemError``.
    public static func setLimit(_ fd: FileDescriptor, device: () -> String?, projectID: UInt32, bytes: UInt64?, path: String) throws {
        var record = limitRecord(projectID: projectID, bytes: bytes)
        try call(fd, device: device, command: spillway_qcmd_project_setlimit(), projectID: projectID, record: &record,
                 action: "set the XFS project quota of", path: path)
    }

    private static func call(_ fd: FileDescriptor, device: () -> String?, command: UInt32, projectID: UInt32,
                             record: inout spillway_fs_disk_quota, action: String, path: String) throws {
        if spillway_quotactl_fd(fd.rawValue, command, projectID, &record) == 0 { return }
        var err = Errno(rawValue: errno)
        var syscall = "quotactl_fd"
        // ENOSYS is either "no quotactl_fd" (old kernel) or "no quota support"; the device
        // call tells them apart.
        if err == .noFunction, let device = device() {
            if spillway_quotactl_device(device, command, projectID, &record) == 0 { return }
            err = Errno(rawValue: errno)
            syscall = "quotactl"
        }
        throw SystemError(action, path: path, syscall: syscall, errno: err, hint: hint(for: err))
    }
}
