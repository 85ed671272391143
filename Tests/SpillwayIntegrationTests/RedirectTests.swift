import Foundation
import SpillwayTestSupport
import Testing

/// The first redirect: real programs under LD_PRELOAD create files in the spill area while the
/// slot says `spilling`, on the managed tree while it says `normal`, and find them by their
/// original path either way. The managed tree (btrfs) and the spill area (ext4) are two real
/// filesystems on loop devices.
@Suite("Preload library: creating files", .serialized)
struct RedirectTests {
    /// A program that creates the file at `path`, and what the file then holds.
    struct Writer: CustomTestStringConvertible, Sendable {
        let name: String
        let musl: Bool
        let argv: @Sendable (String) -> [String]
        let content: String

        var testDescription: String { name }
        var library: String { musl ? Paths.muslLibrary : Paths.glibcLibrary }
        var fileName: String { name.replacingOccurrences(of: " ", with: "-") + ".txt" }
    }

    static let hostname = (try? String(contentsOfFile: "/etc/hostname", encoding: .utf8)) ?? ""

    static let writers: [Writer] = {
        var writers = [
            Writer(name: "sh redirect", musl: false, argv: { ["sh", "-c", "echo hello > '\($0)'"] }, content: "hello\n"),
            Writer(name: "sh append", musl: false, argv: { ["sh", "-c", "echo one >> '\($0)'; echo two >> '\($0)'"] }, content: "one\ntwo\n"),
            Writer(name: "cp", musl: false, argv: { ["cp", "/etc/hostname", $0] }, content: hostname),
            Writer(name: "python3", musl: false,
                   argv: { ["python3", "-c", "import sys; open(sys.argv[1], 'w').write('from python')", $0] },
                   content: "from python"),
        ]
        for way in ["open", "openat", "creat", "fopen"] {
            writers.append(Writer(name: "C \(way)", musl: false,
                                  argv: { [Paths.testProgram("create-probe"), way, $0, "via-\(way)"] }, content: "via-\(way)"))
            writers.append(Writer(name: "musl C \(way)", musl: true,
                                  argv: { [Paths.testProgram("create-probe-musl"), way, $0, "musl-\(way)"] }, content: "musl-\(way)"))
        }
        return writers
    }()

    /// A managed tree on one loop filesystem, a spill area on another, and a slot file.
    struct Layout {
        let tree: String
        let spill: String
        let slot: String

        func environment(library: String) -> [String: String] {
            ["LD_PRELOAD": library, "SPILLWAY_SLOT": slot, "SPILLWAY_SPILL": spill, "SPILLWAY_ROOT": tree]
        }
    }

    /// Builds the layout (with `data/`, mode 0750, owner 1234:1234, on the main disk only),
    /// runs `body`, and removes mounts and loop devices whatever happens.
    func withLayout(state: String, _ body: (Layout) throws -> Void) throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        try withLoopFilesystems(["btrfs", "ext4"]) { filesystems in
            let tree = filesystems[0].mountPoint + "/tree"
            let spill = filesystems[1].mountPoint + "/spill"
            let fm = FileManager.default
            try fm.createDirectory(atPath: tree + "/data", withIntermediateDirectories: true)
            try fm.setAttributes([.posixPermissions: 0o750, .ownerAccountID: 1234, .groupOwnerAccountID: 1234],
                                 ofItemAtPath: tree + "/data")
            try fm.createDirectory(atPath: spill, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let slot = filesystems[1].mountPoint + "/slot"
            try Command.check([Paths.spillway, "slot", "create", slot, "--state", state])
            try body(Layout(tree: tree, spill: spill, slot: slot))
        }
    }

    func readBack(_ path: String, layout: Layout) throws -> (content: String, size: String) {
        let env = layout.environment(library: Paths.glibcLibrary)
        let content = try Command.check(["cat", path], environment: env)
        let size = try Command.check(["stat", "-c", "%s", path], environment: env)
        return (content, size.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test func spillingCreatesInTheSpillArea() throws {
        try withLayout(state: "spilling") { layout in
            for writer in Self.writers {
                let path = layout.tree + "/data/" + writer.fileName
                let result = try Command.run(writer.argv(path), environment: layout.environment(library: writer.library))
                #expect(result.status == 0, "\(writer.name): \(result)")
                #expect(FileManager.default.fileExists(atPath: layout.spill + "/data/" + writer.fileName), "\(writer.name)")
                #expect(!FileManager.default.fileExists(atPath: path), "\(writer.name) left a copy on the main disk")
                let back = try readBack(path, layout: layout)
                #expect(back.content == writer.content, "\(writer.name)")
                #expect(back.size == String(writer.content.utf8.count), "\(writer.name)")
            }
            // Parents are made in the spill area with the main disk's mode and owner.
            let attributes = try FileManager.default.attributesOfItem(atPath: layout.spill + "/data")
            #expect(attributes[.posixPermissions] as? Int == 0o750)
            #expect(attributes[.ownerAccountID] as? Int == 1234)
            #expect(attributes[.groupOwnerAccountID] as? Int == 1234)
        }
    }

    /// A `#!` script run through a symbolic link sees the link's name in `$0` while spilling, as
    /// without the library: Debian's pg_wrapper (behind pgbench, psql) picks its program by it.
    /// A spilled script still runs from the spill area.
    @Test func scriptsRunByALinkKeepTheLinksName() throws {
        try withLayout(state: "spilling") { layout in
            let bin = layout.tree + "/data/bin"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            try "#!/bin/sh\necho \"$0\"\n".write(toFile: bin + "/wrapper", atomically: false, encoding: .utf8)
            try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: bin + "/wrapper")
            try FileManager.default.createSymbolicLink(atPath: bin + "/tool", withDestinationPath: "wrapper")
            let env = layout.environment(library: Paths.glibcLibrary)
            #expect(try Command.check(["sh", "-c", "'\(bin)/tool'"], environment: env) == bin + "/tool\n")
            #expect(try Command.check(["sh", "-c", "cd '\(bin)' && PATH=.:$PATH tool"], environment: env) == "./tool\n")
            let python = try Command.check(["python3", "-c", "import os, sys; os.execv(sys.argv[1], [sys.argv[1]])", bin + "/tool"], environment: env)
            #expect(python == bin + "/tool\n")
            // A script written while spilling lives in the spill area and runs from there.
            try Command.check(["sh", "-c", "printf '#!/bin/sh\\necho spilled\\n' > '\(bin)/new' && chmod 755 '\(bin)/new'"], environment: env)
            #expect(FileManager.default.fileExists(atPath: layout.spill + "/data/bin/new"))
            #expect(try Command.check(["sh", "-c", "'\(bin)/new'"], environment: env) == "spilled\n")
        }
    }

    @Test func normalCreatesOnTheManagedTree() throws {
        try withLayout(state: "normal") { layout in
            for writer in Self.writers {
                let path = layout.tree + "/data/" + writer.fileName
                let result = try Command.run(writer.argv(path), environment: layout.environment(library: writer.library))
                #expect(result.status == 0, "\(writer.name): \(result)")
                #expect(FileManager.default.fileExists(atPath: path), "\(writer.name)")
                let back = try readBack(path, layout: layout)
                #expect(back.content == writer.content, "\(writer.name)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: layout.spill).isEmpty)
        }
    }

    @Test func relativePathsAndDeepParents() throws {
        try withLayout(state: "spilling") { layout in
            try FileManager.default.createDirectory(atPath: layout.tree + "/data/a/b", withIntermediateDirectories: true)
            let env = layout.environment(library: Paths.glibcLibrary)
            try Command.check(["sh", "-c", "echo rel > data/a/b/./c.txt && echo up > data/a/../top.txt"],
                              environment: env, directory: layout.tree)
            #expect(FileManager.default.fileExists(atPath: layout.spill + "/data/a/b/c.txt"))
            #expect(FileManager.default.fileExists(atPath: layout.spill + "/data/top.txt"))
            #expect(try Command.check(["cat", "data/a/b/c.txt"], environment: env, directory: layout.tree) == "rel\n")
            // Flipping back to normal: the spilled file is still found by its path (lookups prefer
            // the spill area), new files go to the main disk.
            try Command.check([Paths.spillway, "slot", "set", layout.slot, "--state", "draining"])
            try Command.check(["sh", "-c", "echo main > data/new.txt"], environment: env, directory: layout.tree)
            #expect(FileManager.default.fileExists(atPath: layout.tree + "/data/new.txt"))
            #expect(try Command.check(["cat", "data/top.txt"], environment: env, directory: layout.tree) == "up\n")
        }
    }

    /// With a slot that is missing, empty, short, of a wrong magic or an unknown version, every
    /// program behaves exactly as it does without the library.
    @Test(arguments: ["missing", "empty", "short", "wrong magic", "unknown version"])
    func brokenSlotMeansPlainLibc(kind: String) throws {
        try withLayout(state: "spilling") { layout in
            let slot = try Self.brokenSlot(kind, next: layout.slot)
            for writer in Self.writers {
                let plainPath = layout.tree + "/data/plain-" + writer.fileName
                let shimPath = layout.tree + "/data/shim-" + writer.fileName
                let plain = try Command.run(writer.argv(plainPath))
                var env = layout.environment(library: writer.library)
                env["SPILLWAY_SLOT"] = slot
                let shimmed = try Command.run(writer.argv(shimPath), environment: env)
                #expect(shimmed.status == plain.status, "\(writer.name)")
                #expect(shimmed.stdout == plain.stdout, "\(writer.name)")
                #expect(shimmed.stderr == plain.stderr, "\(writer.name)")
                #expect(try String(contentsOfFile: shimPath, encoding: .utf8) == writer.content, "\(writer.name)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: layout.spill).isEmpty)
        }
    }

    static func brokenSlot(_ kind: String, next valid: String) throws -> String {
        let path = valid + "-" + kind.replacingOccurrences(of: " ", with: "-")
        var bytes = try Data(contentsOf: URL(fileURLWithPath: valid))
        switch kind {
        case "missing": return path
        case "empty": bytes = Data()
        case "short": bytes = bytes.prefix(100)
        case "wrong magic": bytes[0] ^= 0xff
        case "unknown version": bytes[8] = 99
        default: Issue.record("unknown broken slot \(kind)")
        }
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    /// While `normal`, the library makes no system call of its own on the managed tree: the
    /// calls that touch it are exactly those of the same run without the library.
    @Test func normalAddsNoSystemCallOnTheTree() throws {
        try withLayout(state: "normal") { layout in
            func trace(_ env: [String: String]) throws -> [String] {
                let path = layout.tree + "/data/traced.txt"
                try? FileManager.default.removeItem(atPath: path)
                let log = layout.spill + "/../strace.log"
                try Command.check(["strace", "-f", "-qq", "-o", log, "-e", "trace=%file,%desc,getcwd",
                                   Paths.testProgram("create-probe"), "openat", path, "traced"], environment: env)
                let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
                return lines.filter { $0.contains(layout.tree + "/") }.map { line in
                    // Drop the pid strace prints first.
                    String(line.drop(while: { $0 != " " }))
                }
            }
            let plain = try trace([:])
            let shimmed = try trace(layout.environment(library: Paths.glibcLibrary))
            #expect(!plain.isEmpty)
            #expect(shimmed == plain)
        }
    }
}
