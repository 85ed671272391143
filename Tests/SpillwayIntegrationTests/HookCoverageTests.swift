import Foundation
import SpillwayTestSupport
import Testing

/// Every path-taking entry point of issue 3 (item 1) that the C library exports must be hooked:
/// a name the library misses is a door around the union. The lists of exported names come from
/// `nm -D` of the real C libraries and of the preload libraries.
@Suite("Preload library: hook coverage against libc's exports")
struct HookCoverageTests {
    /// The path-taking calls named in issue 3, item 1, with the 64-bit, fortified and
    /// compatibility names libc gives them.
    static let pathCalls: [String] = [
        // open family and stdio openers
        "open", "open64", "openat", "openat64", "creat", "creat64",
        "__open_2", "__open64_2", "__openat_2", "__openat64_2",
        "fopen", "fopen64", "freopen", "freopen64",
        // stat family and access checks
        "stat", "lstat", "fstatat", "stat64", "lstat64", "fstatat64", "statx",
        "__xstat", "__lxstat", "__fxstatat", "__xstat64", "__lxstat64", "__fxstatat64",
        "access", "faccessat",
        // links
        "readlink", "readlinkat", "__readlink_chk", "__readlinkat_chk",
        "link", "linkat", "symlink", "symlinkat",
        // directories
        "opendir", "fdopendir", "readdir", "readdir64", "readdir_r", "readdir64_r",
        "scandir", "scandir64", "scandirat", "scandirat64", "rewinddir", "seekdir", "telldir", "closedir",
        "getdents64",
        // making and removing names
        "mkdir", "mkdirat", "mknod", "mknodat", "__xmknod", "__xmknodat", "mkfifo", "mkfifoat",
        "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2",
        // attributes
        "truncate", "truncate64", "chmod", "fchmodat", "lchmod", "chown", "lchown", "fchownat",
        "utime", "utimes", "lutimes", "utimensat", "futimesat",
        "getxattr", "lgetxattr", "setxattr", "lsetxattr", "listxattr", "llistxattr", "removexattr", "lremovexattr",
        // names of places
        "realpath", "__realpath_chk", "canonicalize_file_name", "chdir",
        "getcwd", "__getcwd_chk", "get_current_dir_name",
        // running programs
        "execve", "execveat", "execv", "execvp", "execvpe", "execl", "execle", "execlp", "fexecve",
        "posix_spawn", "posix_spawnp",
    ]

    /// Path-taking calls beyond issue 3's list that libc implements with its own internal calls
    /// (so only a hook of their own reaches them).
    static let internalPathUsers: [String] = [
        "euidaccess", "eaccess", "statfs", "statfs64", "statvfs", "statvfs64", "pathconf", "inotify_add_watch",
        "mkstemp", "mkstemp64", "mkostemp", "mkostemp64", "mkstemps", "mkstemps64", "mkostemps", "mkostemps64",
        "mkdtemp", "glob", "glob64",
    ]

    /// The calls that take or give back a Unix socket's name (issue 16, point 5): a socket is
    /// a name in the union like any other. (recvmmsg is not among them, docs/SHIM.md.)
    static let socketNameCalls: [String] = [
        "bind", "connect", "__connect", "sendto", "sendmsg", "sendmmsg",
        "getsockname", "getpeername", "accept", "accept4", "recvfrom", "__recvfrom_chk", "recvmsg",
    ]

    /// glibc's stdio entry points that can flush a stream (issue 17, point 1): glibc flushes with
    /// its internal write, so each must be hooked for the flush to go through the library's
    /// write() (musl's streams carry their own write function instead, docs/SHIM.md).
    static let glibcStdioFlushers: [String] = [
        "fwrite", "fwrite_unlocked", "fputs", "fputs_unlocked", "puts", "fputc", "fputc_unlocked", "putc",
        "putc_unlocked", "putchar", "putchar_unlocked", "putw", "__overflow",
        "printf", "fprintf", "vprintf", "vfprintf", "dprintf", "vdprintf",
        "__printf_chk", "__fprintf_chk", "__vprintf_chk", "__vfprintf_chk", "__dprintf_chk", "__vdprintf_chk",
        "fflush", "fflush_unlocked", "fclose", "fcloseall", "pclose", "freopen",
        "fseek", "fseeko", "fseeko64", "fsetpos", "fsetpos64", "rewind", "setvbuf", "setbuf", "setbuffer", "setlinebuf",
        "_IO_fwrite", "_IO_fputs", "_IO_puts", "_IO_putc", "_IO_fprintf", "_IO_printf", "_IO_vfprintf", "_IO_fflush", "_IO_fclose",
        "fputwc", "putwc", "fputwc_unlocked", "putwc_unlocked", "fputws", "fputws_unlocked", "__woverflow", "putwchar",
        "putwchar_unlocked", "fwprintf", "wprintf", "vfwprintf", "vwprintf", "__fwprintf_chk", "__wprintf_chk",
        "__vfwprintf_chk", "__vwprintf_chk",
    ]

    @Test func glibcStdioFlushersAreHooked() throws {
        let libc = try Self.exports(Self.glibc)
        let ours = try Self.exports(Paths.glibcLibrary)
        let missing = Self.glibcStdioFlushers.filter { libc.contains($0) && !ours.contains($0) }
        #expect(missing.isEmpty, "glibc flushes streams in these calls but libspillway.so does not hook them: \(missing)")
    }

    /// musl's glob has no GLOB_ALTDIRFUNC to redirect it through (docs/SHIM.md).
    static let muslUnhookable: Set<String> = ["glob"]

    /// Names a musl-linked program can never reference: musl's headers map the LFS64 names
    /// (getdents64 included, to getdents) to the plain ones by macro, and musl 1.2.4 drops them
    /// from linking; the `__x*`, `__*_chk` and `__open*_2` names are glibc's ABI, exported by musl
    /// only for glibc-built binaries.
    static func muslCanReference(_ name: String) -> Bool {
        !name.hasPrefix("__") && !name.contains("64")
    }

    /// Default (linkable) dynamic symbols defined by `library`: `name@@VERSION` or unversioned;
    /// compatibility-only `name@VERSION` symbols do not count, no new program can link them.
    static func exports(_ library: String) throws -> Set<String> {
        let listing = try Command.check(["nm", "-D", "--defined-only", library])
        var names = Set<String>()
        for line in listing.split(separator: "\n") {
            guard let symbol = line.split(separator: " ").last else { continue }
            if let at = symbol.firstIndex(of: "@") {
                if symbol[at...].hasPrefix("@@") { names.insert(String(symbol[..<at])) }
            } else {
                names.insert(String(symbol))
            }
        }
        return names
    }

    static let glibc = "/lib/x86_64-linux-gnu/libc.so.6"
    /// musl's libc: where the brief's path has it, or where Debian's musl package puts it.
    static var musl: String? {
        ["/usr/lib/musl/lib/libc.so", "/usr/lib/x86_64-linux-musl/libc.so", "/lib/ld-musl-x86_64.so.1"]
            .first { FileManager.default.fileExists(atPath: $0) }
    }

    @Test func glibcPathCallsAreHooked() throws {
        let libc = try Self.exports(Self.glibc)
        let ours = try Self.exports(Paths.glibcLibrary)
        let exported = (Self.pathCalls + Self.internalPathUsers + Self.socketNameCalls).filter { libc.contains($0) }
        #expect(exported.count > 80, "glibc exports only \(exported.count) of the path calls: is \(Self.glibc) glibc?")
        let missing = exported.filter { !ours.contains($0) }
        #expect(missing.isEmpty, "glibc exports these path calls but libspillway.so does not hook them: \(missing)")
    }

    @Test func muslPathCallsAreHooked() throws {
        let libcPath = try #require(Self.musl, "musl's libc.so is not installed")
        let libc = try Self.exports(libcPath)
        let ours = try Self.exports(Paths.muslLibrary)
        let exported = (Self.pathCalls + Self.internalPathUsers + Self.socketNameCalls)
            .filter { libc.contains($0) && Self.muslCanReference($0) && !Self.muslUnhookable.contains($0) }
        #expect(exported.count > 60, "musl exports only \(exported.count) of the path calls")
        let missing = exported.filter { !ours.contains($0) }
        #expect(missing.isEmpty, "musl exports these path calls but libspillway-musl.so does not hook them: \(missing)")
        // musl's getdents64 is a macro for getdents, which is what musl programs call.
        if libc.contains("getdents") { #expect(ours.contains("getdents")) }
    }

    /// The hooks are real interpositions: a program calling them through the preload library
    /// still gets libc's answers while the library is unconfigured.
    @Test func hooksPassThroughWhenUnconfigured() throws {
        let out = try Command.check(["sh", "-c", "mkdir -p /tmp/spillway-cov.$$/d && cd /tmp/spillway-cov.$$ && ln -s d l && ls -1 && readlink l && rmdir d && rm l && cd / && rmdir /tmp/spillway-cov.$$ && echo done"],
                                    environment: ["LD_PRELOAD": Paths.glibcLibrary])
        #expect(out == "d\nl\nd\ndone\n")
    }
}
