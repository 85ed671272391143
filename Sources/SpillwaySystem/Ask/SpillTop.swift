#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// The spill area's top directory as the container sees it: the top of its tree, merged with
/// its root directory. It gets the owner and mode of the container's root directory as the host
/// sees them (so a remapped root, uid 100000 under `--userns-remap`, owns it, and a non-root user
/// can create there exactly what it can create in `/`). Set through descriptors of both
/// directories, opened without following a symlink at their ends (both are host paths the
/// daemon chose).
public enum SpillTop {
    /// Gives `spill` the owner and mode of `root`.
    ///
    /// - Throws: ``SystemError`` naming the directory that could not be read or changed.
    public static func shape(_ spill: FilePath, like root: FilePath) throws {
        let model = try HeldDirectory.openRoot(root).status()
        let top = try HeldDirectory.openRoot(spill)
        let st = try top.status()
        if st.st_uid != model.st_uid || st.st_gid != model.st_gid {
            guard fchown(top.fd.rawValue, model.st_uid, model.st_gid) == 0 else {
                throw SystemError("set the owner of spill area", path: spill.string, syscall: "fchown", errno: Errno(rawValue: errno))
            }
        }
        guard fchmod(top.fd.rawValue, model.st_mode & 0o7777) == 0 else {
            throw SystemError("set the mode of spill area", path: spill.string, syscall: "fchmod", errno: Errno(rawValue: errno))
        }
    }
}
