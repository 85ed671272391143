#if canImport(Glibc)
import Glibc
#endif
import CFuse3
import CSpillwaySyscalls

/// One name of a branch, held as an `O_PATH` descriptor opened with ``Branch``'s openat2(2)
/// rules (a final symlink is the symlink itself, a FIFO or device node is not opened for I/O),
/// and its status. Every change of metadata the union makes on a container's tree goes
/// through such a descriptor and never through the name again: a name the container swaps
/// meanwhile (for a symlink to a host path, say) can only make the change land on what was
/// opened (docs/SECURITY.md).
///
/// Every method returns 0 on success and `-errno` on failure, the libfuse idiom.
struct HeldNode {
    let fd: Int32
    let status: stat

    /// Opens `relative` beneath the directory `dir` (a branch's top or a directory opened from
    /// it) as an `O_PATH` descriptor, runs `body` with it and closes it.
    ///
    /// - Returns: what `body` returns, or `-errno` when the name cannot be opened.
    static func with(_ dir: Int32, _ relative: String, _ body: (HeldNode) -> Int32) -> Int32 {
        let fd = Branch.open(at: dir, relative, SPILLWAY_O_PATH)
        if fd < 0 { return fd }
        defer { close(fd) }
        var st = stat()
        if fstat(fd, &st) != 0 { return -errno }
        return body(HeldNode(fd: fd, status: st))
    }

    var isSymlink: Bool { (status.st_mode & S_IFMT) == S_IFLNK }

    /// The permission bits; a symlink has none to change (`EOPNOTSUPP`, as chmod of a symlink
    /// itself gives on Linux).
    ///
    /// The corresponding C function is `fchmodat2` with `AT_EMPTY_PATH`.
    func chmod(_ mode: mode_t) -> Int32 {
        if isSymlink { return -EOPNOTSUPP }
        return spillway_fchmod_opath(fd, UInt32(mode)) == 0 ? 0 : -errno
    }

    /// The owner (`uid_t.max` or `gid_t.max` leaves that one as it is); a symlink's own.
    ///
    /// The corresponding C function is `fchownat` with `AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW`.
    func chown(_ uid: uid_t, _ gid: gid_t) -> Int32 {
        spillway_fchown_opath(fd, uid, gid) == 0 ? 0 : -errno
    }

    /// Access and modification times (`nil`: both now; `UTIME_NOW` and `UTIME_OMIT` as
    /// utimensat(2)); a symlink's own.
    ///
    /// The corresponding C function is `utimensat` with `AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW`.
    func setTimes(_ times: UnsafePointer<timespec>?) -> Int32 {
        let now = timespec(tv_sec: 0, tv_nsec: Self.utimeNow)
        let access = times?[0] ?? now, modification = times?[1] ?? now
        return spillway_futimens_opath(fd, Int64(access.tv_sec), Int64(access.tv_nsec),
                                       Int64(modification.tv_sec), Int64(modification.tv_nsec)) == 0 ? 0 : -errno
    }

    /// `UTIME_NOW` of utimensat(2).
    static let utimeNow = (1 << 30) - 1

    /// Sets the extended attribute `name`.
    func setxattr(_ name: UnsafePointer<CChar>, _ value: UnsafePointer<CChar>?, _ size: Int, _ flags: Int32) -> Int32 {
        Self.withProcPath(fd) { CFuse3.setxattr($0, name, value, size, flags) } == 0 ? 0 : -errno
    }

    /// Removes the extended attribute `name`.
    func removexattr(_ name: UnsafePointer<CChar>) -> Int32 {
        Self.withProcPath(fd) { CFuse3.removexattr($0, name) } == 0 ? 0 : -errno
    }

    /// Runs `body` with `/proc/self/fd/N` for the `O_PATH` descriptor `fd`: the xattr calls take
    /// no `O_PATH` descriptor (fsetxattr and setxattrat(2) with `AT_EMPTY_PATH` refuse one,
    /// `EBADF`), so they are given the descriptor's magic link in the server's own procfs. The
    /// kernel jumps from it to the descriptor's inode, with no lookup in the container's tree,
    /// and does not follow that inode if it is a symlink.
    static func withProcPath<R>(_ fd: Int32, _ body: (UnsafePointer<CChar>) -> R) -> R {
        "/proc/self/fd/\(fd)".withCString(body)
    }
}
