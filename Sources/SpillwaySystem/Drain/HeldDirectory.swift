#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import SystemPackage

/// A directory inside a tree the container controls, held open; every name under it is resolved
/// by the kernel relative to the descriptor with openat2(2) `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
/// | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV`, or by an `*at` call on one plain name with
/// `AT_SYMLINK_NOFOLLOW`, so nothing the container does to its tree (symlinks, renames, mounts)
/// can lead the supervisor outside it. Closed when the last reference goes.
// @unchecked: the descriptor and the display name never change after init; `released` is set
// once, by the one owner that hands the descriptor to a directory stream.
public final class HeldDirectory: @unchecked Sendable {
    public let fd: FileDescriptor
    /// Where it is, for messages only (never used to reach it).
    public let display: String

    static let resolve = UInt64(SPILLWAY_RESOLVE_BENEATH | SPILLWAY_RESOLVE_NO_SYMLINKS
        | SPILLWAY_RESOLVE_NO_MAGICLINKS | SPILLWAY_RESOLVE_NO_XDEV)

    init(fd: FileDescriptor, display: String) {
        self.fd = fd
        self.display = display
    }

    deinit { if !released { try? fd.close() } }

    /// Opens the root of a tree: a host path the operator registered (its final component is not
    /// followed if it is a symlink).
    ///
    /// - Throws: ``SystemError`` naming `path`.
    public static func openRoot(_ path: FilePath) throws -> HeldDirectory {
        HeldDirectory(fd: try Descriptors.openDirectory(path, action: "open tree root"), display: path.string)
    }

    func path(_ name: String) -> String { display + "/" + name }

    /// openat2(2) of `relative` (one name or a relative path) beneath this directory.
    ///
    /// The corresponding C function is `openat2`.
    func openat2(_ relative: String, flags: Int32, mode: mode_t = 0) throws(SystemError) -> FileDescriptor {
        let raw = spillway_openat2(fd.rawValue, relative, UInt64(flags | O_NOFOLLOW | O_CLOEXEC), UInt64(mode), Self.resolve)
        guard raw >= 0 else {
            var err = Errno(rawValue: errno)
            // O_NOFOLLOW on a symlink where a directory is asked for says ENOTDIR: tell it apart
            // from a plain file in the way, since a symlink is never followed, whatever comes.
            if err == .notDirectory, symlinkOnTheWay(relative) { err = .tooManySymbolicLinkLevels }
            let hint: String? = switch err {
            case .tooManySymbolicLinkLevels: "a symbolic link is in the way, which Spillway never follows in a container's tree"
            case .improperLink: "it is on another mount, which Spillway never crosses in a container's tree"
            default: nil
            }
            throw SystemError("open", path: path(relative), syscall: "openat2", errno: err, hint: hint)
        }
        return FileDescriptor(rawValue: raw)
    }

    /// Whether a component of `relative` is a symbolic link (each looked at with an `*at` call on
    /// one name, `AT_SYMLINK_NOFOLLOW`, in its parent opened beneath this directory).
    private func symlinkOnTheWay(_ relative: String) -> Bool {
        let parts = relative.split(separator: "/").map(String.init)
        var parent = fd.rawValue
        var opened: [Int32] = []
        defer { opened.forEach { _ = close($0) } }
        for (index, part) in parts.enumerated() {
            var st = stat()
            guard fstatat(parent, part, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return false }
            if st.st_mode & S_IFMT == S_IFLNK { return true }
            guard index < parts.count - 1, st.st_mode & S_IFMT == S_IFDIR else { return false }
            let next = spillway_openat2(parent, part, UInt64(SPILLWAY_O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), 0, Self.resolve)
            guard next >= 0 else { return false }
            opened.append(next)
            parent = next
        }
        return false
    }

    /// The directory at `relative` beneath this one.
    public func directory(_ relative: String) throws(SystemError) -> HeldDirectory {
        if relative.isEmpty { return try duplicate() }
        return HeldDirectory(fd: try openat2(relative, flags: O_RDONLY | O_DIRECTORY), display: path(relative))
    }

    /// A second descriptor of this directory (for a directory stream, which takes ownership).
    func duplicate() throws(SystemError) -> HeldDirectory {
        let raw = fcntl(fd.rawValue, F_DUPFD_CLOEXEC, 0)
        guard raw >= 0 else { throw SystemError("duplicate", path: display, syscall: "fcntl", errno: Errno(rawValue: errno)) }
        return HeldDirectory(fd: FileDescriptor(rawValue: raw), display: display)
    }

    /// An `O_PATH` descriptor of `name` itself (a symlink is not followed, a FIFO or device is not
    /// opened for I/O).
    func pathDescriptor(_ name: String) throws(SystemError) -> FileDescriptor {
        try openat2(name, flags: SPILLWAY_O_PATH)
    }

    /// fstatat(2) of `name` without following it; `nil` when it does not exist.
    public func status(_ name: String) throws(SystemError) -> stat? {
        var st = stat()
        if fstatat(fd.rawValue, name, &st, AT_SYMLINK_NOFOLLOW) == 0 { return st }
        if errno == ENOENT { return nil }
        throw SystemError("inspect", path: path(name), syscall: "fstatat", errno: Errno(rawValue: errno))
    }

    /// fstat(2) of the directory itself.
    public func status() throws(SystemError) -> stat {
        var st = stat()
        guard fstat(fd.rawValue, &st) == 0 else {
            throw SystemError("inspect", path: display, syscall: "fstat", errno: Errno(rawValue: errno))
        }
        return st
    }

    /// mkdirat(2); false when `name` exists already.
    func makeDirectory(_ name: String, mode: mode_t) throws(SystemError) -> Bool {
        if mkdirat(fd.rawValue, name, mode) == 0 { return true }
        if errno == EEXIST { return false }
        throw SystemError("create directory", path: path(name), syscall: "mkdirat", errno: Errno(rawValue: errno))
    }

    /// A new regular file `name`, created `O_EXCL | O_NOFOLLOW`, open for reading and writing.
    func createExclusive(_ name: String) throws(SystemError) -> FileDescriptor {
        try openat2(name, flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o600)
    }

    /// renameat2(2) of `name` here to `newName` in `target`, never replacing (`RENAME_NOREPLACE`).
    func renameNoReplace(_ name: String, to target: HeldDirectory, _ newName: String) throws(SystemError) {
        guard spillway_renameat2(fd.rawValue, name, target.fd.rawValue, newName, UInt32(RENAME_NOREPLACE)) == 0 else {
            throw SystemError("rename \(path(name)) to", path: target.path(newName), syscall: "renameat2", errno: Errno(rawValue: errno))
        }
    }

    /// linkat(2) of `name` here (one plain name, never followed) as `newName` in `target`, never
    /// replacing: a second name of the same inode.
    func link(_ name: String, to target: HeldDirectory, _ newName: String) throws(SystemError) {
        guard !name.contains("/"), !newName.contains("/"), linkat(fd.rawValue, name, target.fd.rawValue, newName, 0) == 0 else {
            throw SystemError("link \(path(name)) as", path: target.path(newName), syscall: "linkat", errno: Errno(rawValue: name.contains("/") || newName.contains("/") ? EINVAL : errno))
        }
    }

    /// unlinkat(2); false when `name` was already gone.
    @discardableResult
    func remove(_ name: String, directory: Bool = false) throws(SystemError) -> Bool {
        if unlinkat(fd.rawValue, name, directory ? AT_REMOVEDIR : 0) == 0 { return true }
        if errno == ENOENT { return false }
        throw SystemError("remove", path: path(name), syscall: "unlinkat", errno: Errno(rawValue: errno))
    }

    /// Removes `name` only if it is still the inode `inode` (checked just before; the kernel has no
    /// "unlink if" call, so a container racing its own names can at worst lose its own file).
    /// Returns whether it was removed.
    @discardableResult
    func remove(_ name: String, ifInode inode: UInt64, directory: Bool = false) throws(SystemError) -> Bool {
        guard let st = try status(name), UInt64(st.st_ino) == inode else { return false }
        return try remove(name, directory: directory)
    }

    /// fsync(2) of the directory.
    func sync() throws(SystemError) {
        while fsync(fd.rawValue) != 0 {
            if errno == EINTR { continue }
            throw SystemError("sync directory", path: display, syscall: "fsync", errno: Errno(rawValue: errno))
        }
    }

    /// syncfs(2) of the filesystem holding this directory.
    func syncFilesystem() throws(SystemError) {
        guard spillway_syncfs(fd.rawValue) == 0 else {
            throw SystemError("sync the filesystem of", path: display, syscall: "syncfs", errno: Errno(rawValue: errno))
        }
    }

    /// Whether the directory has no entries but `.` and `..`.
    public func isEmpty() throws(SystemError) -> Bool {
        try entries().isEmpty
    }

    /// The names in the directory (not `.` and `..`), with their `d_type`.
    func entries() throws(SystemError) -> [(name: String, type: UInt8)] {
        let copy = try duplicate()
        guard let stream = fdopendir(copy.fd.rawValue) else {
            throw SystemError("list", path: display, syscall: "fdopendir", errno: Errno(rawValue: errno))
        }
        copy.released = true  // the stream owns the duplicate now
        defer { closedir(stream) }
        rewinddir(stream)  // a duplicate shares the offset an earlier listing left at the end
        var names: [(String, UInt8)] = []
        while true {
            errno = 0
            guard let entry = readdir(stream) else {
                if errno != 0 { throw SystemError("list", path: display, syscall: "readdir", errno: Errno(rawValue: errno)) }
                break
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name == "." || name == ".." { continue }
            names.append((name, entry.pointee.d_type))
        }
        return names
    }

    /// Set when a directory stream took the descriptor over.
    private var released = false
}
