#if canImport(Glibc)
import Glibc
#endif
import CFuse3
import SpillwayCore
import CSpillwaySyscalls

/// One half of the union: a directory held open for the life of the mount. Every name under it
/// is reached relative to that descriptor with openat2(2) `RESOLVE_BENEATH |
/// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV` and `O_NOFOLLOW` (the kernel
/// resolves the union's own symbolic links before it asks us, so a symlink inside a branch path
/// is never ours to follow), or by an `*at` call on one name in a directory opened that way.
///
/// Every method returns 0 or a descriptor on success and `-errno` on failure, the libfuse
/// idiom, so the operations can pass results straight back.
struct Branch: Sendable {
    let kind: BranchKind
    /// The held directory.
    let fd: Int32

    static let resolve = UInt64(SPILLWAY_RESOLVE_BENEATH | SPILLWAY_RESOLVE_NO_SYMLINKS
        | SPILLWAY_RESOLVE_NO_MAGICLINKS | SPILLWAY_RESOLVE_NO_XDEV)

    /// The open(2) flags openat2 accepts; it refuses unknown bits (EINVAL) where open ignores
    /// them, and the kernel hands FUSE some of its own (`__FMODE_EXEC` for exec).
    static let openFlags: Int32 = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | O_NONBLOCK | O_DSYNC
        | O_SYNC | 0o40000 /* O_DIRECT */ | 0o100000 /* O_LARGEFILE */ | O_DIRECTORY | O_NOFOLLOW | 0o1000000 /* O_NOATIME */
        | O_CLOEXEC | SPILLWAY_O_PATH

    /// openat2(2) of `relative` ("" for the branch's top) with `flags | O_NOFOLLOW | O_CLOEXEC`.
    ///
    /// The corresponding C function is `openat2`.
    @inline(__always)
    func open(_ relative: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        Self.open(at: fd, relative, flags, mode)
    }

    func open(_ relative: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        relative.withCString { open($0, flags, mode) }
    }

    /// The same openat2(2) beneath `dir`, a directory of a branch (its top or one opened from
    /// it, such as ``parent(of:readable:)``): `relative` may be one name or a path, "" for
    /// `dir` itself.
    ///
    /// The corresponding C function is `openat2`.
    @inline(__always)
    static func open(at dir: Int32, _ relative: UnsafePointer<CChar>, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        let name = relative[0] == 0 ? dotPointer : relative
        let wanted = (flags & openFlags) | O_NOFOLLOW | O_CLOEXEC
        // openat2 refuses mode bits beyond 07777 (EINVAL) where openat ignores them, and FUSE's
        // create hands over the file type with the permissions.
        let fd = spillway_openat2(dir, name, UInt64(UInt32(bitPattern: wanted)), UInt64(mode & 0o7777), resolve)
        return fd >= 0 ? fd : -errno
    }

    static func open(at dir: Int32, _ relative: String, _ flags: Int32, _ mode: mode_t = 0) -> Int32 {
        relative.withCString { open(at: dir, $0, flags, mode) }
    }

    /// Opens `relative` for I/O with `flags` only if it is a regular file: it is looked up
    /// `O_PATH` first, checked with fstat, and that very inode opened again through its
    /// descriptor. A FIFO or device node the container put at the name meanwhile (through its
    /// spill area) is never opened, so the server, root on the host, never blocks on a FIFO or
    /// runs a device's open for the container. Returns a descriptor, `-EISDIR` for a
    /// directory, `-ELOOP` for a symlink, `-ENXIO` for anything else, or `-errno`.
    func openRegular(_ relative: String, _ flags: Int32) -> Int32 {
        let held = open(relative, SPILLWAY_O_PATH)
        if held < 0 { return held }
        defer { close(held) }
        var st = stat()
        if fstat(held, &st) != 0 { return -errno }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFDIR: return -EISDIR
        case S_IFLNK: return -ELOOP
        default: return -ENXIO
        }
        return Self.reopen(held, flags)
    }

    /// A new open file description, with `flags`, of the very file `fd` refers to: open(2) of
    /// the descriptor's magic link in the server's own procfs, with no lookup in the
    /// container's tree (`O_NOFOLLOW` would refuse the magic link itself; `O_CREAT`, `O_EXCL`
    /// and `O_DIRECTORY` have no meaning here). Returns a descriptor or `-errno`.
    static func reopen(_ fd: Int32, _ flags: Int32) -> Int32 {
        let wanted = (flags & openFlags & ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_DIRECTORY)) | O_CLOEXEC
        let fresh = HeldNode.withProcPath(fd) { Glibc.open($0, wanted) }
        return fresh >= 0 ? fresh : -errno
    }

    /// The status of `relative` itself (a final symlink is not followed): 0 or `-errno`.
    @inline(__always)
    func status(_ relative: UnsafePointer<CChar>, _ st: inout stat) -> Int32 {
        if relative[0] == 0 { return fstat(fd, &st) == 0 ? 0 : -errno }
        let opened = open(relative, SPILLWAY_O_PATH)
        if opened < 0 { return opened }
        let rc = fstat(opened, &st) == 0 ? 0 : -errno
        close(opened)
        return rc
    }

    func status(_ relative: String, _ st: inout stat) -> Int32 {
        relative.withCString { status($0, &st) }
    }

    /// Whether `relative` exists here (any kind), and its status.
    func lookup(_ relative: String) -> stat? {
        var st = stat()
        return status(relative, &st) == 0 ? st : nil
    }

    /// The directory holding `path`'s last name, opened `O_PATH` (or `O_RDONLY` with
    /// `readable`), or `-errno`.
    func parent(of path: UnionPath, readable: Bool = false) -> Int32 {
        open(path.parent, (readable ? O_RDONLY : SPILLWAY_O_PATH) | O_DIRECTORY)
    }

    /// fsync(2) of the directory `relative` (an `O_PATH` descriptor cannot be synced).
    func syncDirectory(_ relative: String) {
        let dir = open(relative, O_RDONLY | O_DIRECTORY)
        if dir >= 0 {
            fsync(dir)
            close(dir)
        }
    }
}

/// "." for openat2 of a branch's top (an empty path would need AT_EMPTY_PATH).
nonisolated(unsafe) let dotPointer: UnsafePointer<CChar> = {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: 2)
    p[0] = 0x2E
    p[1] = 0
    return UnsafePointer(p)
}()
