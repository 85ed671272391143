#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import SpillwayCore
import SystemPackage

/// The program a container will start, found in its root filesystem from the host before the
/// container exists (the runtime wrapper's `create`), to tell whether a preload library can
/// reach it; and the programs it may start later (named on its command line or in its
/// entrypoint script, or on the image's `PATH`).
///
/// The root filesystem is the container's: every lookup is openat2(2) with `RESOLVE_IN_ROOT`
/// (symbolic links inside it resolve as they will for the container, never outside it),
/// `RESOLVE_NO_MAGICLINKS` and `RESOLVE_NO_XDEV`, and only a regular file is read.
public enum ContainerProgram {
    private static let resolve = UInt64(SPILLWAY_RESOLVE_IN_ROOT | SPILLWAY_RESOLVE_NO_MAGICLINKS | SPILLWAY_RESOLVE_NO_XDEV)

    /// At most this many directory entries are looked at by ``firstOnPath(root:searchPath:where:)``.
    public static let scanLimit = 20_000

    /// The kind of `program` as the container would run it: a name with `/` is taken as is
    /// (relative to `workingDirectory`), any other is looked for in each entry of `searchPath`,
    /// as execvp does.
    ///
    /// - Returns: nil when no regular file of that name can be found and read as ELF.
    public static func kind(of program: String, root: String, searchPath: String, workingDirectory: String = "/") -> ProgramKind? {
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { return nil }
        defer { close(rootFD) }
        for candidate in candidates(program, searchPath: searchPath, workingDirectory: workingDirectory) {
            if let kind = regularFileKind(rootFD, candidate, resolve: resolve) { return kind }
        }
        return nil
    }

    /// The text of `program` (found as ``kind(of:root:searchPath:workingDirectory:)`` finds it)
    /// when it is a `#!` script: its first 64 KiB, for the programs it names.
    public static func scriptText(of program: String, root: String, searchPath: String, workingDirectory: String = "/") -> String? {
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { return nil }
        defer { close(rootFD) }
        for candidate in candidates(program, searchPath: searchPath, workingDirectory: workingDirectory) {
            guard let fd = openRegular(rootFD, candidate, resolve: resolve) else { continue }
            defer { close(fd) }
            var bytes = [UInt8](repeating: 0, count: 65_536)
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            guard got >= 2, bytes[0] == UInt8(ascii: "#"), bytes[1] == UInt8(ascii: "!") else { return nil }
            return String(decoding: bytes.prefix(got), as: UTF8.self)
        }
        return nil
    }

    /// The first absolute path named in `texts` (the container's command line, its entrypoint
    /// script) that is an executable regular file in the container whose kind satisfies
    /// `wanted`: `sh -c '/opt/app/server'` starts a program that may be on no `PATH`. At most
    /// 256 distinct names are looked at.
    public static func firstNamed(in texts: [String], root: String, where wanted: (ProgramKind) -> Bool) -> (path: String, kind: ProgramKind)? {
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { return nil }
        defer { close(rootFD) }
        var seen = Set<String>()
        for text in texts {
            // A name is a run of the characters paths are usually made of, beginning with `/`.
            let words = text.split(whereSeparator: { !($0.isLetter || $0.isNumber || "/._-+@".contains($0)) })
            for word in words where word.hasPrefix("/") && word.utf8.count < 4096 {
                guard seen.count < 256 else { return nil }
                guard seen.insert(String(word)).inserted else { continue }
                if let kind = regularFileKind(rootFD, String(word), resolve: resolve, executableOnly: true), wanted(kind) {
                    return (String(word), kind)
                }
            }
        }
        return nil
    }

    /// Where execvp would look for `program`.
    private static func candidates(_ program: String, searchPath: String, workingDirectory: String) -> [String] {
        if program.contains("/") { return [program.hasPrefix("/") ? program : workingDirectory + "/" + program] }
        return directories(searchPath, workingDirectory: workingDirectory).map { $0 + "/" + program }
    }

    /// The first executable regular file directly in a directory of `searchPath` (each
    /// directory once, however many names lead to it) whose kind satisfies `wanted`, with its
    /// path inside the container; nil when there is none among the first ``scanLimit`` entries.
    public static func firstOnPath(root: String, searchPath: String, workingDirectory: String = "/",
                                   where wanted: (ProgramKind) -> Bool) -> (path: String, kind: ProgramKind)? {
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard rootFD >= 0 else { return nil }
        defer { close(rootFD) }
        var seen = Set<[UInt64]>()
        var budget = scanLimit
        for directory in directories(searchPath, workingDirectory: workingDirectory) {
            let dirFD = spillway_openat2(rootFD, directory, UInt64(O_RDONLY | O_DIRECTORY | O_CLOEXEC), 0, resolve)
            guard dirFD >= 0 else { continue }
            var st = stat()
            guard fstat(dirFD, &st) == 0, seen.insert([UInt64(st.st_dev), UInt64(st.st_ino)]).inserted,
                  let stream = fdopendir(dirFD) else {
                close(dirFD)
                continue
            }
            defer { closedir(stream) }
            // Each entry beneath the directory just opened, never following a link (a link
            // leads to a file that another directory of the PATH usually holds itself).
            let beneath = UInt64(SPILLWAY_RESOLVE_BENEATH | SPILLWAY_RESOLVE_NO_SYMLINKS | SPILLWAY_RESOLVE_NO_MAGICLINKS | SPILLWAY_RESOLVE_NO_XDEV)
            while budget > 0, let entry = readdir(stream) {
                budget -= 1
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                guard name != ".", name != "..", entry.pointee.d_type == UInt8(DT_REG) || entry.pointee.d_type == UInt8(DT_UNKNOWN) else { continue }
                if let kind = regularFileKind(dirfd(stream), name, resolve: beneath, executableOnly: true), wanted(kind) {
                    return ((directory == "/" ? "" : directory) + "/" + name, kind)
                }
            }
            if budget == 0 { break }
        }
        return nil
    }

    /// The entries of a `PATH` as absolute directories (an empty entry is the working directory).
    private static func directories(_ searchPath: String, workingDirectory: String) -> [String] {
        searchPath.split(separator: ":", omittingEmptySubsequences: false).map { entry in
            let directory = entry.isEmpty ? workingDirectory : String(entry)
            return directory.hasPrefix("/") ? directory : workingDirectory + "/" + directory
        }
    }

    /// The regular file `path` reached from `dirFD` with `resolve`, opened for reading: looked
    /// at with `O_PATH` first (a FIFO or device node planted there is never opened), then opened
    /// through that very file (`/proc/self/fd/N`); nil if it is anything else.
    private static func openRegular(_ dirFD: Int32, _ path: String, resolve: UInt64, executableOnly: Bool = false) -> Int32? {
        let fd = spillway_openat2(dirFD, path, UInt64(SPILLWAY_O_PATH | O_CLOEXEC), 0, resolve)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, !executableOnly || (st.st_mode & 0o111) != 0 else { return nil }
        let readable = open("/proc/self/fd/\(fd)", O_RDONLY | O_CLOEXEC)
        return readable >= 0 ? readable : nil
    }

    /// The kind of the regular file ``openRegular(_:_:resolve:executableOnly:)`` opens.
    private static func regularFileKind(_ dirFD: Int32, _ path: String, resolve: UInt64, executableOnly: Bool = false) -> ProgramKind? {
        guard let fd = openRegular(dirFD, path, resolve: resolve, executableOnly: executableOnly) else { return nil }
        defer { close(fd) }
        return try? ElfInspector.inspect(descriptor: fd, shownAs: path)
    }
}
