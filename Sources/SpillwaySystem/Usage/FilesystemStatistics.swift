#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import SystemPackage

/// The filesystems Spillway tells apart, by statfs(2) `f_type`.
public enum FilesystemKind: Equatable, Sendable, CustomStringConvertible {
    case btrfs
    case xfs
    case ext4
    case overlay
    case tmpfs
    case other(UInt64)

    /// The kind for an `f_type` magic number.
    public init(magic: UInt64) {
        switch UInt32(truncatingIfNeeded: magic) {
        case SPILLWAY_BTRFS_SUPER_MAGIC: self = .btrfs
        case SPILLWAY_XFS_SUPER_MAGIC: self = .xfs
        case SPILLWAY_EXT4_SUPER_MAGIC: self = .ext4
        case SPILLWAY_OVERLAYFS_SUPER_MAGIC: self = .overlay
        case SPILLWAY_TMPFS_MAGIC: self = .tmpfs
        default: self = .other(magic)
        }
    }

    /// The filesystem's name, for messages.
    public var description: String {
        switch self {
        case .btrfs: "btrfs"
        case .xfs: "xfs"
        case .ext4: "ext2/3/4"
        case .overlay: "overlay"
        case .tmpfs: "tmpfs"
        case .other(let magic): "filesystem 0x\(String(magic, radix: 16))"
        }
    }
}

/// What statfs(2) says about the filesystem that holds a descriptor.
public struct FilesystemStatistics: Sendable, Equatable {
    /// `f_type`, the filesystem's magic number.
    public var magic: UInt64
    /// `f_frsize`, the unit of the block counts.
    public var fragmentSize: UInt64
    /// `f_bsize`, the filesystem's block size.
    public var blockSize: UInt64
    /// `f_blocks`: the size in units of ``fragmentSize``.
    public var blocks: UInt64
    /// `f_bfree`: free units.
    public var freeBlocks: UInt64
    /// `f_bavail`: free units an unprivileged writer may use.
    public var availableBlocks: UInt64
    /// `f_flags`, the mount's flags (`ST_NOSUID`, `ST_NODEV`, …).
    public var flags: UInt64

    /// The filesystem's kind, from ``magic``.
    public var kind: FilesystemKind { FilesystemKind(magic: magic) }
    /// The filesystem's size: `f_blocks * f_frsize`.
    public var totalBytes: UInt64 { blocks.multipliedReportingOverflow(by: fragmentSize).partialValue }
    /// Bytes in use: `(f_blocks - f_bfree) * f_frsize`.
    public var usedBytes: UInt64 { (blocks &- min(freeBlocks, blocks)).multipliedReportingOverflow(by: fragmentSize).partialValue }
    /// Bytes an unprivileged writer can ever hold: used plus `f_bavail * f_frsize`. On ext4 this
    /// is the size less every reserve (``totalBytes`` counts the reserves in).
    public var writableBytes: UInt64 {
        usedBytes &+ availableBlocks.multipliedReportingOverflow(by: fragmentSize).partialValue
    }
    /// Whether the mount has `nosuid`.
    public var isNosuid: Bool { flags & UInt64(SPILLWAY_ST_NOSUID) != 0 }
    /// Whether the mount has `nodev`.
    public var isNodev: Bool { flags & UInt64(SPILLWAY_ST_NODEV) != 0 }
    /// Whether the mount is read-only.
    public var isReadOnly: Bool { flags & UInt64(SPILLWAY_ST_RDONLY) != 0 }

    /// Statistics with the given fields.
    public init(magic: UInt64, fragmentSize: UInt64, blockSize: UInt64, blocks: UInt64, freeBlocks: UInt64,
                availableBlocks: UInt64, flags: UInt64) {
        self.magic = magic
        self.fragmentSize = fragmentSize
        self.blockSize = blockSize
        self.blocks = blocks
        self.freeBlocks = freeBlocks
        self.availableBlocks = availableBlocks
        self.flags = flags
    }

    /// The statistics of the filesystem holding `fd`.
    ///
    /// The corresponding C function is `fstatfs`.
    /// - Parameter path: how `fd` is named in an error.
    /// - Throws: ``SystemError``.
    public static func of(_ fd: FileDescriptor, path: String) throws -> FilesystemStatistics {
        var raw = spillway_statfs()
        guard spillway_fstatfs(fd.rawValue, &raw) == 0 else {
            throw SystemError("read filesystem statistics of", path: path, syscall: "fstatfs", errno: Errno(rawValue: errno))
        }
        return FilesystemStatistics(
            magic: raw.type, fragmentSize: raw.fragment_size, blockSize: raw.block_size, blocks: raw.blocks,
            freeBlocks: raw.free_blocks, availableBlocks: raw.available_blocks, flags: raw.flags)
    }
}
