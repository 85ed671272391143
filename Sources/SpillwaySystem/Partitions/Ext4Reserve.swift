#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// The usable size of a mounted ext4 filesystem, set online in both directions through its
/// reserved-cluster pool (`/sys/fs/ext4/<device>/reserved_clusters`).
///
/// ext4 keeps that many clusters free for its own metadata (extent splits while converting
/// unwritten extents): `ext4_has_free_clusters` lets only allocations flagged
/// `EXT4_MB_USE_RESERVED` into the pool, never a user's data, whatever its uid, groups or
/// capabilities (`CAP_SYS_RESOURCE` and the `resuid`/`resgid` unlock only the superblock's
/// `s_r_blocks_count`, which Spillway's images keep at 0). statfs's `f_bavail` drops by the pool
/// at once, and a write past it gets `ENOSPC`. The pool lives in memory only, so it is set
/// again after each mount. Sizes here assume no bigalloc: a cluster is one 4 KiB block.
enum Ext4Reserve {
    /// The cluster size of Spillway's ext4 images, in bytes.
    static let clusterSize: UInt64 = 4096

    /// The pool ext4 sets at mount for `imageBlocks` blocks: 2 %, at most 4096 clusters
    /// (`ext4_calculate_resv_clusters`). A cap never lowers the pool below it.
    static func mountDefault(imageBlocks: UInt64) -> UInt64 {
        min(imageBlocks / 50, 4096)
    }

    /// The pool that leaves `cap` bytes usable on a filesystem of `blocks` statfs blocks
    /// (`f_blocks`, the image less ext4's fixed overhead) in an image of `imageBlocks` blocks.
    static func clusters(forCap cap: UInt64, blocks: UInt64, imageBlocks: UInt64) -> UInt64 {
        let capBlocks = cap / clusterSize
        return max(blocks > capBlocks ? blocks - capBlocks : 0, mountDefault(imageBlocks: imageBlocks))
    }

    /// The bytes a pool of `clusters` leaves usable on a filesystem of `blocks` statfs blocks:
    /// what `used + available` from statfs adds up to.
    static func cap(clusters: UInt64, blocks: UInt64) -> UInt64 {
        (blocks > clusters ? blocks - clusters : 0) * clusterSize
    }

    private static func file(_ device: String) -> String {
        "/sys/fs/ext4/\(device.split(separator: "/").last.map(String.init) ?? device)/reserved_clusters"
    }

    /// Sets the pool of the ext4 filesystem mounted from `device` (e.g. `/dev/loop3`).
    ///
    /// The corresponding C function is `write` on the sysfs file.
    /// - Throws: ``SystemError`` naming `display`.
    static func set(_ clusters: UInt64, device: String, display: String) throws {
        let path = file(device)
        let fd = open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw SystemError("cap the ext4 filesystem of partition \(display) through", path: path, syscall: "open", errno: Errno(rawValue: errno),
                              hint: errno == ENOENT ? "the kernel has no ext4 sysfs entry for \(device); is it mounted?" : nil)
        }
        defer { close(fd) }
        let text = Array("\(clusters)\n".utf8)
        guard write(fd, text, text.count) == text.count else {
            throw SystemError("cap the ext4 filesystem of partition \(display) through", path: path, syscall: "write", errno: Errno(rawValue: errno),
                              hint: errno == EINVAL ? "ext4 refuses a pool of \(clusters) clusters: it must be below the filesystem's block count" : nil)
        }
    }
}
