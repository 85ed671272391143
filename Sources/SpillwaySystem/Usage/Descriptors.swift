#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import SystemPackage

/// Opening and inspecting files through descriptors, the way every backend does it: directories
/// with `O_NOFOLLOW`, names under a held directory with openat2(2) so that nothing resolves
/// outside it, and an fstat(2) check of what was opened.
enum Descriptors {
    /// openat2's `resolve` flags for a name under a container-controlled directory.
    static let beneath = UInt64(SPILLWAY_RESOLVE_BENEATH | SPILLWAY_RESOLVE_NO_SYMLINKS
        | SPILLWAY_RESOLVE_NO_MAGICLINKS | SPILLWAY_RESOLVE_NO_XDEV)

    /// Opens the directory at `path` (a host path the operator gave), not following a final symlink.
    ///
    /// - Throws: ``SystemError`` naming `path` (`ENOTDIR` when it is not a directory).
    static func openDirectory(_ path: FilePath, action: String) throws -> FileDescriptor {
        let fd = open(path.string, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            let err = Errno(rawValue: errno)
            throw SystemError(action, path: path.string, syscall: "open", errno: err,
                              hint: err == .tooManySymbolicLinkLevels ? "it is a symbolic link; give the real directory" : nil)
        }
        return FileDescriptor(rawValue: fd)
    }

    /// Opens `name` under `directory` with openat2(2), resolving beneath it with no symlinks,
    /// magic links or mount crossings (unless `crossMounts`), and `O_NOFOLLOW | O_CLOEXEC`.
    ///
    /// The corresponding C function is `openat2`.
    /// - Parameters:
    ///   - display: the full path, for errors.
    /// - Throws: ``SystemError``.
    static func openBeneath(
        _ directory: FileDescriptor, _ name: String, flags: Int32, mode: mode_t = 0, crossMounts: Bool = false,
        action: String, display: String
    ) throws -> FileDescriptor {
        var resolve = beneath
        if crossMounts { resolve &= ~UInt64(SPILLWAY_RESOLVE_NO_XDEV) }
        let fd = spillway_openat2(directory.rawValue, name, UInt64(flags | O_NOFOLLOW | O_CLOEXEC), UInt64(mode), resolve)
        guard fd >= 0 else {
            let err = Errno(rawValue: errno)
            let hint: String? = switch err {
            case .tooManySymbolicLinkLevels: "it is a symbolic link, which Spillway never follows here"
            case .improperLink: "it is on another mount, which Spillway never crosses here"
            case .noSuchFileOrDirectory: nil
            default: nil
            }
            throw SystemError(action, path: display, syscall: "openat2", errno: err, hint: hint)
        }
        return FileDescriptor(rawValue: fd)
    }

    /// fstat(2) of `fd`.
    ///
    /// - Throws: ``SystemError`` naming `path`.
    static func status(_ fd: FileDescriptor, path: String) throws -> stat {
        var st = stat()
        guard fstat(fd.rawValue, &st) == 0 else {
            throw SystemError("inspect", path: path, syscall: "fstat", errno: Errno(rawValue: errno))
        }
        return st
    }

    /// fstatat(2) of `name` in `directory` without following a symlink; `nil` when it does not exist.
    ///
    /// - Throws: ``SystemError`` for errors other than `ENOENT`.
    static func status(of name: String, in directory: FileDescriptor, display: String) throws -> stat? {
        var st = stat()
        if fstatat(directory.rawValue, name, &st, AT_SYMLINK_NOFOLLOW) == 0 { return st }
        if errno == ENOENT { return nil }
        throw SystemError("inspect", path: display, syscall: "fstatat", errno: Errno(rawValue: errno))
    }

    /// Whether `fd` is the root of a mount: statx(2)'s `STATX_ATTR_MOUNT_ROOT`, or, on kernels that
    /// do not report it, a different device or the same inode as its parent.
    static func isMountRoot(_ fd: FileDescriptor, path: String) throws -> Bool {
        var root: Int32 = -1
        var mountID: UInt64 = 0
        if spillway_mount_facts(fd.rawValue, &root, &mountID) == 0, root >= 0 { return root == 1 }
        let own = try status(fd, path: path)
        var parent = stat()
        guard fstatat(fd.rawValue, "..", &parent, 0) == 0 else {
            throw SystemError("inspect the parent of", path: path, syscall: "fstatat", errno: Errno(rawValue: errno))
        }
        return own.st_dev != parent.st_dev || own.st_ino == parent.st_ino
    }

    /// The mount id of `fd` (as in /proc/self/mountinfo), or `nil` when the kernel does not say.
    static func mountID(_ fd: FileDescriptor) -> UInt64? {
        var root: Int32 = -1
        var mountID: UInt64 = 0
        guard spillway_mount_facts(fd.rawValue, &root, &mountID) == 0, mountID != 0 else { return nil }
        return mountID
    }

    /// Whether `st` describes a directory.
    static func isDirectory(_ st: stat) -> Bool { (st.st_mode & S_IFMT) == S_IFDIR }
    /// Whether `st` describes a regular file.
    static func isRegular(_ st: stat) -> Bool { (st.st_mode & S_IFMT) == S_IFREG }

    /// Reads a whole small file (sysfs, procfs) from offset 0 with pread(2).
    static func readSmallFile(_ fd: FileDescriptor, path: String, limit: Int = 1 << 20) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while bytes.count < limit {
            let got = chunk.withUnsafeMutableBytes { pread(fd.rawValue, $0.baseAddress, $0.count, off_t(bytes.count)) }
            if got < 0 {
                if errno == EINTR { continue }
                throw SystemError("read", path: path, syscall: "pread", errno: Errno(rawValue: errno))
            }
            if got == 0 { break }
            bytes.append(contentsOf: chunk[0..<got])
        }
        return bytes
    }

    /// Opens and reads a whole small file at an absolute host path (procfs, sysfs).
    static func readSmallFile(at path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            throw SystemError("open", path: path, syscall: "open", errno: Errno(rawValue: errno))
        }
        let descriptor = FileDescriptor(rawValue: fd)
        defer { try? descriptor.close() }
        return try readSmallFile(descriptor, path: path)
    }
}
