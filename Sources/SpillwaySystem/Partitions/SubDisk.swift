#if canImport(Glibc)
import Glibc
#endif
import SpillwayCore
import SystemPackage

/// The sub disk: the directory where the sub-disk filesystem is mounted (`sub_disk`), held open.
///
/// Spill areas are directories directly under it, one per container id; Spillway keeps its own
/// bookkeeping (loop images, directory caps) in a hidden `.spillway` directory beside them,
/// mode 0700, which no container id can name.
public final class SubDisk: Sendable {
    /// The name of Spillway's own directory on the sub disk.
    public static let metadataDirectoryName = ".spillway"

    /// The path as given.
    public let path: FilePath
    /// The sub disk's root directory, held open; every area is reached relative to it.
    let root: FileDescriptor
    /// The filesystem's statistics when it was opened.
    public let statistics: FilesystemStatistics
    /// Whether ``path`` is the root of a mount.
    public let isMountRoot: Bool

    /// The filesystem's kind.
    public var filesystem: FilesystemKind { statistics.kind }

    /// Opens the sub disk at `path` and checks how it is mounted.
    ///
    /// - Parameter requireSafeMount: refuse a filesystem mounted without `nosuid` or `nodev`
    ///   (spill areas hold container files; a set-uid file or device node in one must do nothing).
    /// - Throws: ``InvalidFileError`` when `requireSafeMount` and the mount lacks `nosuid,nodev`,
    ///   or it is read-only; ``SystemError`` when it cannot be opened.
    public init(path: FilePath, requireSafeMount: Bool = true) throws {
        let fd = try Descriptors.openDirectory(path, action: "open sub disk")
        do {
            statistics = try FilesystemStatistics.of(fd, path: path.string)
            isMountRoot = try Descriptors.isMountRoot(fd, path: path.string)
        } catch {
            try? fd.close()
            throw error
        }
        self.path = path
        self.root = fd
        if statistics.isReadOnly {
            throw InvalidFileError(path: path.string, problem: "is mounted read-only; spill areas need a writable sub disk")
        }
        if requireSafeMount, !(statistics.isNosuid && statistics.isNodev) {
            let missing = [statistics.isNosuid ? nil : "nosuid", statistics.isNodev ? nil : "nodev"].compactMap { $0 }.joined(separator: ",")
            throw InvalidFileError(
                path: path.string,
                problem: "is on a filesystem mounted without \(missing); remount it with `mount -o remount,nosuid,nodev` on its mount point (spill areas must not honour set-uid files or device nodes)")
        }
    }

    deinit {
        try? root.close()
    }

    /// What an operator should fix about the sub disk; empty when nothing.
    ///
    /// Checks the mount's `nosuid`, `nodev` and read-only flags, and that the directory is owned by
    /// this user (root) and not writable by group or others.
    public func problems() -> [String] {
        var problems: [String] = []
        if !statistics.isNosuid { problems.append("mounted without nosuid: set-uid files in spill areas would run set-uid") }
        if !statistics.isNodev { problems.append("mounted without nodev: device nodes in spill areas would open devices") }
        if let st = try? Descriptors.status(root, path: path.string) {
            if st.st_uid != geteuid() { problems.append("owned by uid \(st.st_uid), not by the daemon's uid \(geteuid())") }
            if st.st_mode & 0o022 != 0 { problems.append("writable by group or others (mode \(String(st.st_mode & 0o7777, radix: 8)))") }
        }
        return problems
    }

    /// What this sub disk and host offer the partition backends: btrfs, its quotas, loop devices.
    public func facts() -> PartitionBackendChoice.SubDiskFacts {
        let isBtrfs = filesystem == .btrfs
        let quotas = isBtrfs && ((try? Btrfs.quotaStatus(root, path: path.string)) ?? nil) != nil
        let control = open("/dev/loop-control", O_RDWR | O_CLOEXEC)
        if control >= 0 { close(control) }
        return PartitionBackendChoice.SubDiskFacts(path: path.string, isBtrfs: isBtrfs, btrfsQuotasEnabled: quotas,
                                                   loopDevicesAvailable: control >= 0)
    }

    /// The kind of partition `partition_backend = "auto"` picks here (``PartitionBackendChoice``):
    /// a btrfs subvolume on btrfs with quotas, else a loop image when the host has loop devices,
    /// else a directory whose caps Spillway's library enforces.
    public func defaultPartitionKind() -> PartitionKind {
        let choice = (try? PartitionBackendChoice.choose(.auto, facts: facts()))?.backend ?? .directory
        return PartitionKind(choice)
    }

    /// The spill area path of `containerID`.
    public func areaPath(_ containerID: String) -> FilePath { path.appending(containerID) }

    /// Creates the spill area directory `containerID` (mode 0700) and opens it.
    ///
    /// - Throws: ``InvalidFileError`` when it already exists; ``SystemError``.
    func makeAreaDirectory(_ containerID: String) throws -> FileDescriptor {
        let display = areaPath(containerID).string
        guard mkdirat(root.rawValue, containerID, 0o700) == 0 else {
            if errno == EEXIST {
                throw InvalidFileError(path: display, problem: "already exists; remove that container's partition first")
            }
            throw SystemError("create spill area", path: display, syscall: "mkdirat", errno: Errno(rawValue: errno))
        }
        do {
            let fd = try Descriptors.openBeneath(root, containerID, flags: O_RDONLY | O_DIRECTORY, action: "open spill area", display: display)
            try Self.secure(fd, display: display)
            return fd
        } catch {
            _ = unlinkat(root.rawValue, containerID, AT_REMOVEDIR)
            throw error
        }
    }

    /// Opens the spill area `containerID`; `nil` when it does not exist.
    ///
    /// - Parameter crossMounts: open the root of a filesystem mounted there (a loop image).
    /// - Throws: ``InvalidFileError`` when it is not a directory; ``SystemError``.
    func openArea(_ containerID: String, crossMounts: Bool = false) throws -> FileDescriptor? {
        let display = areaPath(containerID).string
        let fd: FileDescriptor
        do {
            fd = try Descriptors.openBeneath(root, containerID, flags: O_RDONLY | O_DIRECTORY, crossMounts: crossMounts,
                                             action: "open spill area", display: display)
        } catch let error as SystemError where error.errno == .noSuchFileOrDirectory {
            return nil
        } catch let error as SystemError where error.errno == .notDirectory {
            throw InvalidFileError(path: display, problem: "is not a directory; Spillway did not make it, remove it by hand")
        }
        return fd
    }

    /// Opens the area or throws ``InvalidFileError`` saying there is none.
    func requireArea(_ containerID: String, crossMounts: Bool = false) throws -> FileDescriptor {
        guard let fd = try openArea(containerID, crossMounts: crossMounts) else {
            throw InvalidFileError(path: areaPath(containerID).string, problem: "does not exist; create the container's partition first")
        }
        return fd
    }

    /// Makes `fd` mode 0700 and owned by this process's user and group (root for the daemon).
    static func secure(_ fd: FileDescriptor, display: String) throws {
        guard fchown(fd.rawValue, geteuid(), getegid()) == 0 else {
            throw SystemError("set the owner of spill area", path: display, syscall: "fchown", errno: Errno(rawValue: errno))
        }
        guard fchmod(fd.rawValue, 0o700) == 0 else {
            throw SystemError("set the mode of spill area", path: display, syscall: "fchmod", errno: Errno(rawValue: errno))
        }
    }

    /// Opens (creating as needed, mode 0700) `.spillway/<name>` on the sub disk.
    ///
    /// - Throws: ``InvalidFileError`` when something else is in its place; ``SystemError``.
    func metadataDirectory(_ name: String) throws -> FileDescriptor {
        let top = try ensureDirectory(root, Self.metadataDirectoryName, display: path.appending(Self.metadataDirectoryName).string)
        defer { try? top.close() }
        return try ensureDirectory(top, name, display: path.appending(Self.metadataDirectoryName).appending(name).string)
    }

    /// The metadata directory `.spillway/<name>` if it exists.
    func existingMetadataDirectory(_ name: String) throws -> FileDescriptor? {
        let display = path.appending(Self.metadataDirectoryName).appending(name).string
        do {
            return try Descriptors.openBeneath(root, "\(Self.metadataDirectoryName)/\(name)", flags: O_RDONLY | O_DIRECTORY,
                                               action: "open", display: display)
        } catch let error as SystemError where error.errno == .noSuchFileOrDirectory {
            return nil
        }
    }

    private func ensureDirectory(_ parent: FileDescriptor, _ name: String, display: String) throws -> FileDescriptor {
        if mkdirat(parent.rawValue, name, 0o700) != 0, errno != EEXIST {
            throw SystemError("create", path: display, syscall: "mkdirat", errno: Errno(rawValue: errno))
        }
        let fd = try Descriptors.openBeneath(parent, name, flags: O_RDONLY | O_DIRECTORY, action: "open", display: display)
        let st = try Descriptors.status(fd, path: display)
        guard st.st_uid == geteuid(), st.st_mode & 0o077 == 0 else {
            try? fd.close()
            throw InvalidFileError(path: display, problem: "is not Spillway's (it must be owned by uid \(geteuid()) with mode 0700); remove it or fix its owner and mode")
        }
        return fd
    }

    /// The names of the directory entries of `fd` (without `.` and `..`).
    static func entryNames(_ fd: FileDescriptor, display: String) throws -> [String] {
        // A new open file description (not a dup), so its offset is this call's own.
        let copy = openat(fd.rawValue, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard copy >= 0 else {
            throw SystemError("read directory", path: display, syscall: "openat", errno: Errno(rawValue: errno))
        }
        guard let dir = fdopendir(copy) else {
            let err = Errno(rawValue: errno)
            close(copy)
            throw SystemError("read directory", path: display, syscall: "fdopendir", errno: err)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(dir) else {
                if errno != 0 { throw SystemError("read directory", path: display, syscall: "readdir", errno: Errno(rawValue: errno)) }
                break
            }
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
