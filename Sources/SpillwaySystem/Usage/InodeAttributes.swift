#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import SystemPackage

/// An inode's extended attributes as FS_IOC_FSGETXATTR reports them (`struct fsxattr`):
/// its XFS-style flags and project id. XFS, ext4 and btrfs all answer it.
public struct InodeAttributes: Sendable, Equatable {
    /// `fsx_xflags` (`FS_XFLAG_*`).
    public var flags: UInt32
    /// `fsx_projid`, the project id whose quota the inode is charged to (0: none).
    public var projectID: UInt32
    /// `fsx_extsize`, kept so that setting attributes round-trips.
    public var extentSizeHint: UInt32
    /// `fsx_cowextsize`, kept so that setting attributes round-trips.
    public var copyOnWriteExtentSizeHint: UInt32

    /// Whether new files and directories inside inherit the project id (`FS_XFLAG_PROJINHERIT`).
    public var inheritsProjectID: Bool {
        get { flags & SPILLWAY_FS_XFLAG_PROJINHERIT != 0 }
        set { flags = newValue ? flags | SPILLWAY_FS_XFLAG_PROJINHERIT : flags & ~SPILLWAY_FS_XFLAG_PROJINHERIT }
    }

    /// Attributes with the given fields.
    public init(flags: UInt32 = 0, projectID: UInt32 = 0, extentSizeHint: UInt32 = 0, copyOnWriteExtentSizeHint: UInt32 = 0) {
        self.flags = flags
        self.projectID = projectID
        self.extentSizeHint = extentSizeHint
        self.copyOnWriteExtentSizeHint = copyOnWriteExtentSizeHint
    }

    /// From the C structure.
    public init(_ raw: spillway_fsxattr) {
        self.init(flags: raw.fsx_xflags, projectID: raw.fsx_projid, extentSizeHint: raw.fsx_extsize,
                  copyOnWriteExtentSizeHint: raw.fsx_cowextsize)
    }

    /// As the C structure, for FS_IOC_FSSETXATTR.
    public var raw: spillway_fsxattr {
        var raw = spillway_fsxattr()
        raw.fsx_xflags = flags
        raw.fsx_projid = projectID
        raw.fsx_extsize = extentSizeHint
        raw.fsx_cowextsize = copyOnWriteExtentSizeHint
        return raw
    }

    /// The attributes of the inode `fd` refers to.
    ///
    /// The corresponding C call is `ioctl(fd, FS_IOC_FSGETXATTR)`.
    /// - Throws: ``SystemError`` (`ENOTTY` on filesystems that do not support it).
    public static func of(_ fd: FileDescriptor, path: String) throws -> InodeAttributes {
        var raw = spillway_fsxattr()
        guard spillway_fs_get_attributes(fd.rawValue, &raw) == 0 else {
            throw SystemError("read the inode attributes of", path: path, syscall: "ioctl(FS_IOC_FSGETXATTR)", errno: Errno(rawValue: errno))
        }
        return InodeAttributes(raw)
    }

    /// Sets the attributes of the inode `fd` refers to.
    ///
    /// The corresponding C call is `ioctl(fd, FS_IOC_FSSETXATTR)`.
    /// - Throws: ``SystemError`` (`EINVAL` or `EOPNOTSUPP` where the filesystem cannot hold them).
    public func apply(to fd: FileDescriptor, path: String) throws {
        var raw = self.raw
        guard spillway_fs_set_attributes(fd.rawValue, &raw) == 0 else {
            throw SystemError("set the inode attributes of", path: path, syscall: "ioctl(FS_IOC_FSSETXATTR)", errno: Errno(rawValue: errno))
        }
    }
}
