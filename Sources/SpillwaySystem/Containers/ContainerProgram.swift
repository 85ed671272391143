#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import SpillwayCore
import SystemPackage

/// The program a container will start, found in its root filesystem from the host before the
/// container exists (the runtime wrapper's `create`), to tell whether a preload library can
/// reach it.
///
/// The root filesystem is the container's: every lookup is openat2(2) with `RESOLVE_IN_ROOT`
/// (symbolic links inside it resolve as they will for the container, never outside it),
/// `RESOLVE_NO_MAGICLINKS` and `RESOLVE_NO_XDEV`, and only a regular file is read.
public enum ContainerProgram {
    /// The kind of `program` as the container would run it: a name with `/` is taken as is
    /// (relative to `workingDirectory`), any other is looked for in each entry of `searchPath`,
    /// as execvp does.
    ///
    /// - Returns: nil when no regular file of that name can be found and read as ELF.
    public static func kind(of program: String, root: String, searchPath: String, workingDirectory: String = "/") -> ProgramKind? {
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { return nil }
        defer { close(rootFD) }
        let candidates: [String]
        if program.contains("/") {
            candidates = [program.hasPrefix("/") ? program : workingDirectory + "/" + program]
        } else {
            candidates = searchPath.split(separator: ":", omittingEmptySubsequences: false).map { entry in
                let directory = entry.isEmpty ? workingDirectory : String(entry)
                return (directory.hasPrefix("/") ? directory : workingDirectory + "/" + directory) + "/" + program
            }
        }
        let resolve = UInt64(SPILLWAY_RESOLVE_IN_ROOT | SPILLWAY_RESOLVE_NO_MAGICLINKS | SPILLWAY_RESOLVE_NO_XDEV)
        for candidate in candidates {
            // O_PATH first: a FIFO or device node planted under the program's name is never opened.
            let fd = spillway_openat2(rootFD, candidate, UInt64(SPILLWAY_O_PATH | O_CLOEXEC), 0, resolve)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var st = stat()
            guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            // libelf reads through a path; this one names exactly the file found above.
            return try? ElfInspector.inspect(FilePath("/proc/self/fd/\(fd)"))
        }
        return nil
    }
}
