#if canImport(Glibc)
import Glibc
#endif
import SpillwayCore
import SpillwaySystem

/// What `register` checks before it makes anything, so that a refusal leaves nothing behind.
extension Supervisor {
    /// Checks `--root`: an existing directory, not a symlink, not `/`, outside Spillway's own
    /// directories and every managed root (``ContainerRoot``).
    ///
    /// - Throws: ``ControlError/badRequest(_:)`` with a one-line message naming the root.
    func checkRoot(_ root: String) throws {
        var st = stat()
        guard lstat(root, &st) == 0 else {
            throw ControlError.badRequest("--root '\(root)' is not an existing directory (\(String(cString: strerror(errno)))); give the container's root filesystem as the host sees it")
        }
        if (st.st_mode & S_IFMT) == S_IFLNK {
            throw ControlError.badRequest("--root '\(root)' is a symlink; give the directory itself (the path without symlinks at its end)")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw ControlError.badRequest("--root '\(root)' is not an existing directory; give the container's root filesystem as the host sees it")
        }
        let reserved = [
            ContainerRoot.Reserved(what: "sub disk", path: Self.canonical(subDisk.path.string)),
            ContainerRoot.Reserved(what: "run directory", path: Self.canonical(configuration.runDir)),
            ContainerRoot.Reserved(what: "state directory", path: Self.canonical(configuration.stateDir)),
        ]
        let managed = containers.values.map { (id: $0.record.id, root: Self.canonical($0.record.root)) }.sorted { $0.id < $1.id }
        do {
            try ContainerRoot.validate(given: root, canonical: Self.canonical(root), reserved: reserved, managed: managed)
        } catch {
            throw ControlError.badRequest(error.message)
        }
    }

    /// `path` with every symlink, `.` and `..` resolved; as given when it cannot be resolved.
    static func canonical(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
