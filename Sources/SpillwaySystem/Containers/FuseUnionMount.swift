#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// The FUSE union of one container (`spillway fuse mount`, SpillwayFuse) as the supervisor and
/// the runtime wrapper handle it: mounted at a directory of the daemon's run directory, which
/// the container then gets as its root filesystem, and served by a process of its own that
/// outlives a restart of the daemon.
public enum FuseUnionMount {
    /// The filesystem type mountinfo shows for a union (`fsname=spillway,subtype=spillway`).
    public static let filesystemType = "fuse.spillway"

    /// Whether a Spillway union is mounted at `mountPoint` (the topmost mount there).
    public static func isMounted(at mountPoint: String) -> Bool {
        guard let table = try? MountTable.current() else { return false }
        return table.entry(mountPoint: mountPoint)?.filesystemType == filesystemType
    }

    /// Mounts the union of `tree` and `spill`, following `slot`, at `mountPoint` (made if
    /// missing), unless one is mounted there already. The serving process detaches itself
    /// (`spillway fuse mount` returns once the mount is up).
    ///
    /// - Parameter executable: the `spillway` program (the daemon passes its own).
    /// - Returns: whether it mounted one (false: one was mounted there already).
    /// - Throws: ``SystemError`` naming the mount point when the directory cannot be made or
    ///   the union cannot be mounted (with what `spillway fuse mount` said).
    @discardableResult
    public static func mount(executable: String, tree: String, spill: String, slot: String, at mountPoint: String) throws -> Bool {
        if isMounted(at: mountPoint) { return false }
        if mkdir(mountPoint, 0o755) != 0, errno != EEXIST {
            throw SystemError("create the mount point", path: mountPoint, syscall: "mkdir", errno: Errno(rawValue: errno))
        }
        try ProgramRunner.run(
            [executable, "fuse", "mount", "--tree", tree, "--spill", spill, "--slot", slot, mountPoint],
            action: "mount the FUSE union at", target: mountPoint, package: "fuse3")
        guard isMounted(at: mountPoint) else {
            throw SystemError("mount the FUSE union at", path: mountPoint, syscall: "mount", errno: .ioError,
                              hint: "spillway fuse mount returned, but nothing of type \(filesystemType) is mounted there")
        }
        return true
    }

    /// Unmounts the union at `mountPoint` if one is there (detached: programs that still use it
    /// keep it until they let go, and its server then exits) and removes the directory.
    ///
    /// - Returns: whether a union was unmounted.
    /// - Throws: ``SystemError`` when the unmount fails.
    @discardableResult
    public static func unmount(at mountPoint: String) throws -> Bool {
        guard isMounted(at: mountPoint) else {
            _ = rmdir(mountPoint)
            return false
        }
        guard umount2(mountPoint, Int32(MNT_DETACH)) == 0 else {
            throw SystemError("unmount the FUSE union at", path: mountPoint, syscall: "umount2", errno: Errno(rawValue: errno))
        }
        _ = rmdir(mountPoint)
        return true
    }

    /// The path of the running program, for starting `spillway fuse mount` from the daemon.
    public static func currentExecutable() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return "spillway" }
        buffer[length] = 0
        return String(cString: buffer)
    }
}
