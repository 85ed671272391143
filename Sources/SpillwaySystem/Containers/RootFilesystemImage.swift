#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A small container root filesystem made from this host's own programs and the shared
/// libraries `ldd` says they need, packed as a tar file for `docker import`. It needs no
/// network and takes a second; `spillway demo` and the container tests use it.
public enum RootFilesystemImage {
    /// Programs every such image holds (the tools the demo and tests run inside containers).
    public static let defaultPrograms = [
        "sh", "dd", "sha256sum", "cat", "ls", "sleep", "sync", "stat", "mkdir", "rm", "head", "tail",
        "df", "du", "env", "cp", "mv", "wc", "seq", "test", "touch", "true", "false", "find", "grep", "sort", "uniq",
    ]

    /// Builds the tree in a new directory under `scratch`, packs it into `tarball`, and
    /// removes the tree.
    ///
    /// - Parameters:
    ///   - programs: names found on PATH, or absolute paths; each lands in `/bin`.
    ///   - extraFiles: host files copied to the same path in the image (e.g. a musl loader).
    /// - Throws: ``ImageError`` naming the program or file that could not be copied.
    public static func build(
        tarball: String, scratch: String, programs: [String] = defaultPrograms, extraFiles: [String] = []
    ) throws {
        let tree = scratch + "/rootfs-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fm = FileManager.default
        defer { try? fm.removeItem(atPath: tree) }
        for directory in ["bin", "tmp", "etc", "data", "proc", "sys", "dev"] {
            try fm.createDirectory(atPath: tree + "/" + directory, withIntermediateDirectories: true)
        }
        chmod(tree + "/tmp", 0o1777)
        try "root:x:0:0:root:/:/bin/sh\n".write(toFile: tree + "/etc/passwd", atomically: false, encoding: .utf8)
        try "root:x:0:\n".write(toFile: tree + "/etc/group", atomically: false, encoding: .utf8)
        var libraries = Set<String>()
        for program in programs {
            guard let path = program.hasPrefix("/") ? program : ProcessReplacement.resolve(program) else {
                throw ImageError(message: "the program '\(program)' is not on PATH; install it (tools/install-deps) or leave it out")
            }
            try copy(path, to: tree + "/bin/" + (program as NSString).lastPathComponent)
            libraries.formUnion(try sharedLibraries(of: path))
        }
        for file in libraries.sorted() + extraFiles {
            try copy(file, to: tree + file)
        }
        let tar = try run(["tar", "-C", tree, "-cf", tarball, "."])
        guard tar.status == 0 else { throw ImageError(message: "tar of the image tree failed: \(tar.output)") }
    }

    /// The absolute library paths `ldd PROGRAM` lists (the loader included); none for a static one.
    static func sharedLibraries(of program: String) throws -> [String] {
        let result = try run(["ldd", program])
        guard result.status == 0 else { return [] } // "not a dynamic executable"
        return result.output.split(separator: "\n").compactMap { line in
            line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init).first { $0.hasPrefix("/") }
        }
    }

    static func copy(_ source: String, to destination: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        guard !fm.fileExists(atPath: destination) else { return }
        // Follow links: the image gets the file itself, under the name asked for.
        guard let real = realpath(source, nil) else {
            throw ImageError(message: "cannot copy \(source) into the image: \(String(cString: strerror(errno)))")
        }
        let resolved = String(cString: real)
        free(real)
        do {
            try fm.copyItem(atPath: resolved, toPath: destination)
        } catch {
            throw ImageError(message: "cannot copy \(source) into the image: \(error)")
        }
    }

    static func run(_ argv: [String]) throws -> (status: Int32, output: String) {
        let result = try HostCommand.run(argv)
        return (result.status, result.stdout + result.stderr)
    }
}

/// An image could not be built: which program or file, and what to do.
public struct ImageError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}
