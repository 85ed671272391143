#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Replaces the current process with another program, as `exec` does.
public enum ProcessReplacement {
    /// Finds `name` on `PATH` (or takes it as a path when it has a `/`), as `execvp` would.
    public static func resolve(_ name: String, path: String? = nil) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        let fallback = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        let search = path ?? getenv("PATH").map { String(cString: $0) } ?? fallback
        for directory in search.split(separator: ":", omittingEmptySubsequences: false) {
            let candidate = (directory.isEmpty ? "." : String(directory)) + "/" + name
            var st = stat()
            if stat(candidate, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, access(candidate, X_OK) == 0 {
                return candidate
            }
        }
        return nil
    }

    /// Runs `program` with `arguments` (argv[0] included) in place of this process.
    ///
    /// The corresponding C function is `execv`. Returns only by throwing.
    public static func exec(_ program: String, arguments: [String]) throws -> Never {
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        argv.append(nil)
        execv(program, &argv)
        throw SystemError("run", path: program, syscall: "execv", errno: Errno(rawValue: errno))
    }
}
