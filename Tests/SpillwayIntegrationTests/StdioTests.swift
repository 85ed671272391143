import Foundation
import SpillwayTestSupport
import Testing

/// Writes through stdio against a real btrfs qgroup quota (48 MiB), for glibc and musl
/// programs: every output function writes twice the quota and exits 0 with the right bytes in
/// the spill area, while `normal` (each flush that fails with EDQUOT is rescued, the bytes
/// already buffered included) and while `spilling` (the stream's file moves before its first
/// flush); a stream opened while `normal` and written after the flag rose follows its file;
/// the flush at exit is served too. stdio-writer (CShim/tests/stdio_writer.c) writes the same
/// known stream through each path.
@Suite("Preload library: writes through stdio", .serialized)
struct StdioTests {
    /// Every output path stdio-writer knows; ":exit" leaves the stream for exit() to flush.
    static let paths = ["fwrite", "fwrite_unlocked", "fputs", "fputs_unlocked", "fputc", "putc", "putc_unlocked",
                        "puts", "printf", "putchar", "fprintf", "vfprintf", "dprintf", "mixed", "fprintf:exit", "mixed:exit",
                        "fwprintf", "fputws", "fputwc", "fwprintf:exit"]
    static let megabytes = 96

    /// glibc's or musl's build of the writer.
    static func writer(_ library: String) -> String {
        Paths.testProgram(library == "musl" ? "stdio-writer-musl" : "stdio-writer")
    }

    /// One LD_PRELOAD value for glibc and musl programs (the preload tree, `$LIB` left to the loader).
    static var preloadTree: String { Paths.shimBuild.appendingPathComponent("preload").path + "/$LIB/libspillway.so" }

    /// The checksum of the known stream, written without the library off the quota.
    static func expected(in directory: String) throws -> String {
        let reference = directory + "/stdio-reference"
        if !FileManager.default.fileExists(atPath: reference) {
            try Command.check([writer("glibc"), "fwrite", reference, String(megabytes)])
        }
        return try WriteSideTests.sha256(reference)
    }

    /// Runs the writer through `sh` (standard output redirected into the tree for the paths
    /// that write there) with the library, in the tree.
    static func write(_ q: WriteSideTests.Quota, library: String, path: String, name: String, gate: String? = nil,
                      extra: [String: String] = [:]) throws -> CommandResult {
        var env = q.environment.merging(extra) { $1 }
        env["LD_PRELOAD"] = preloadTree
        let target = path.hasPrefix("puts") || path.hasPrefix("printf") || path.hasPrefix("putchar") ? "-" : name
        var line = "exec '\(writer(library))' '\(path)' '\(target)' \(megabytes)"
        if let gate { line += " '\(gate)'" }
        if target == "-" { line += " > '\(name)'" }
        return try Command.run(["sh", "-c", line], environment: env, directory: q.tree)
    }

    static func checkSpilled(_ q: WriteSideTests.Quota, _ name: String, _ run: CommandResult, _ expected: String, _ what: String) throws {
        #expect(run.status == 0, "\(what): \(run)")
        #expect(q.inSpill(name) && !q.onMain(name), "\(what): the file is not (only) in the spill area")
        if q.inSpill(name) {
            #expect(try WriteSideTests.sha256(q.spill + "/" + name) == expected, "\(what): wrong bytes")
            try FileManager.default.removeItem(atPath: q.spill + "/" + name)
        }
        if q.onMain(name) { try FileManager.default.removeItem(atPath: q.tree + "/" + name) }
    }

    @Test(arguments: ["glibc", "musl"], ["normal", "spilling"])
    func everyOutputPathWritesTwiceTheQuota(library: String, state: String) throws {
        try WriteSideTests().withQuota(state: state) { q in
            let expected = try Self.expected(in: q.sub.mountPoint)
            // Without the library the same writer stops at the quota.
            let plain = try Command.run([Self.writer(library), "fwrite", q.tree + "/data/plain", String(Self.megabytes)])
            #expect(plain.status != 0 && plain.stderr.contains("uota exceeded"), "without the library: \(plain)")
            try? FileManager.default.removeItem(atPath: q.tree + "/data/plain")
            for path in Self.paths {
                let run = try Self.write(q, library: library, path: path, name: "data/out")
                try Self.checkSpilled(q, "data/out", run, expected, "\(library) \(state) \(path)")
            }
        }
    }

    /// Records up to 1,400 bytes, longer than the room the printf family leaves itself in the
    /// stream's buffer (a text that does not fit is formatted again and written through write()).
    @Test(arguments: ["normal", "spilling"])
    func longPrintfRecordsWriteTwiceTheQuota(state: String) throws {
        try WriteSideTests().withQuota(state: state) { q in
            let reference = q.sub.mountPoint + "/stdio-reference-long"
            try Command.check([Self.writer("glibc"), "fwrite", reference, String(Self.megabytes)], environment: ["STDIO_WRITER_LONG": "1"])
            let expected = try WriteSideTests.sha256(reference)
            for library in ["glibc", "musl"] {
                for path in ["fprintf", "vfprintf", "printf", "mixed", "fprintf:exit"] {
                    let run = try Self.write(q, library: library, path: path, name: "data/long", extra: ["STDIO_WRITER_LONG": "1"])
                    try Self.checkSpilled(q, "data/long", run, expected, "\(library) \(state) \(path) long records")
                }
            }
        }
    }

    /// The stream is opened, and its first record buffered, while `normal`; the flag rises; the
    /// rest is written after: the file moves at the stream's first flush, nothing is lost.
    @Test(arguments: ["glibc", "musl"], ["fprintf", "fwrite", "putc_unlocked", "mixed:exit", "fwprintf"])
    func aStreamOpenedWhileNormalFollowsItsFile(library: String, path: String) throws {
        try WriteSideTests().withQuota { q in
            let expected = try Self.expected(in: q.sub.mountPoint)
            let gate = q.sub.mountPoint + "/gate"
            nonisolated(unsafe) var run: CommandResult?
            let done = DispatchSemaphore(value: 0)
            let name = "data/log"
            let qq = q
            DispatchQueue.global().async {
                run = try? Self.write(qq, library: library, path: path, name: name, gate: gate)
                done.signal()
            }
            let opened = waitUntil(seconds: 60) { FileManager.default.fileExists(atPath: gate + ".ready") }
            #expect(opened, "the writer never opened its stream")
            #expect(q.onMain(name) && !q.inSpill(name), "the stream's file starts on the main disk")
            try q.set("spilling")
            FileManager.default.createFile(atPath: gate, contents: nil)
            done.wait()
            let result = try #require(run)
            try Self.checkSpilled(q, name, result, expected, "\(library) \(path) opened before the flag")
        }
    }

    /// Real programs that write through stdio, twice the quota, while `normal`.
    @Test func debianProgramsWriteTwiceTheQuota() throws {
        try WriteSideTests().withQuota { q in
            let sub = q.sub.mountPoint
            try Command.check(["sh", "-c", "head -c 100000000 /dev/urandom > \(sub)/random && seq 1 9000000 | shuf > \(sub)/numbers"])
            let cases: [(String, String, String)] = [
                ("head -c 100000000 \(sub)/random > data/head", "data/head", "cat \(sub)/random"),
                ("sort -n \(sub)/numbers -o data/sorted", "data/sorted", "sort -n \(sub)/numbers"),
                ("awk '{ print $1, $1 * 3 > \"data/awk\" }' \(sub)/numbers", "data/awk", "awk '{ print $1, $1 * 3 }' \(sub)/numbers"),
                ("gzip -1 -c \(sub)/random > data/gz", "data/gz", "gzip -1 -c \(sub)/random"),
            ]
            for (line, name, reference) in cases {
                let run = try Command.run(["sh", "-c", line], environment: q.environment, directory: q.tree)
                let expected = String(try Command.check(["sh", "-c", "\(reference) | sha256sum"]).prefix(64))
                try Self.checkSpilled(q, name, run, expected, line)
            }
            // sed -i on a file the quota holds once: its rewrite goes past the quota.
            try Command.check(["sh", "-c", "head -c 24000000 \(sub)/numbers | head -n -1 > \(q.tree)/data/edit && sync"])
            let expected = String(try Command.check(["sh", "-c", "head -c 24000000 \(sub)/numbers | head -n -1 | sed 's/1/one1/g' | sha256sum"]).prefix(64))
            let sed = try Command.run(["sed", "-i", "s/1/one1/g", "data/edit"], environment: q.environment, directory: q.tree)
            try Self.checkSpilled(q, "data/edit", sed, expected, "sed -i")
        }
    }
}
