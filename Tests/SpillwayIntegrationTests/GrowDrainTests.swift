import Foundation
import SpillwayTestSupport
import Testing

/// `spillway grow` and the drain against real btrfs: everything back with its content and
/// metadata, the grown limit kept across a `kill -9`, writers respected, and the drain safe
/// against a container that races it.
@Suite("Grow and drain", .serialized)
struct GrowDrainTests {
    static let fixture = Paths.packageRoot.appendingPathComponent("Tests/SpillwayIntegrationTests/Fixtures/spill_tree.py").path

    typealias Manifest = [String: [String: AnyHashableJSON]]

    /// `spill_tree.py manifest DIR`.
    static func manifest(_ directory: String) throws -> Manifest {
        let out = try Command.check(["python3", fixture, "manifest", directory])
        return try JSONDecoder().decode(Manifest.self, from: Data(out.utf8))
    }

    static func make(_ directory: String, kinds: [String]? = nil) throws {
        var argv = ["python3", fixture, "make", directory]
        if let kinds { argv += ["--kinds", kinds.joined(separator: ",")] }
        try Command.check(argv)
    }

    /// Entries whose name is a mover's own file (`.spillway-move.*`, `.spillway-intent.*`).
    static func leftovers(_ manifest: Manifest) -> [String] {
        manifest.keys.filter { $0.split(separator: "/").contains { $0.hasPrefix(".spillway-") } }.sorted()
    }

    /// Container `c1` of `daemon` (a 64 MiB qgroup), registered and filled to 60 MiB so that
    /// it is `spilling`; returns its root and its spill area.
    static func spillingContainer(_ daemon: DaemonFixture, prepare: (String) throws -> Void = { _ in }) throws -> (root: String, spill: String) {
        let root = try daemon.makeContainer("c1", limit: "64M")
        try prepare(root)
        try daemon.start()
        #expect(try daemon.spillway("register", "c1", "--root", root).status == 0)
        try Command.check(["dd", "if=/dev/urandom", "of=\(root)/fill", "bs=1M", "count=60", "status=none"])
        #expect(try DaemonTests.wait { try DaemonTests.status(daemon).container("c1")?.state == "spilling" })
        return (root, daemon.sub.mountPoint + "/c1")
    }

    @Test func growOnASpillingContainerBringsEveryFileBackAndKeepsTheLimitAcrossKill9() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let daemon = try DaemonFixture()
        defer { daemon.destroy() }
        let (root, spill) = try Self.spillingContainer(daemon) { root in
            try Command.check(["mkdir", "-p", root + "/dir"])  // a directory on both sides
        }
        try Self.make(spill)
        let before = try Self.manifest(spill)
        #expect(before.count >= 14, "\(before.keys.sorted())")

        let grow = try daemon.spillway("grow", "c1", "--to", "256M", "--wait")
        #expect(grow.status == 0, "\(grow)\n\(daemon.log())")
        #expect(grow.stdout.contains("grew c1: limit 64 MiB -> 256 MiB"), "\(grow.stdout)")
        #expect(grow.stdout.contains("drained c1:"), "\(grow.stdout)")

        let after = try Self.manifest(root)
        for (path, entry) in before {
            #expect(after[path] == entry, "\(path): before \(entry), after \(after[path].map { "\($0)" } ?? "missing")")
        }
        let remaining = try Self.manifest(spill)
        #expect(remaining.isEmpty, "the spill area still holds \(remaining.keys.sorted())")
        #expect(Self.leftovers(after).isEmpty)
        let status = try DaemonTests.status(daemon).container("c1")
        #expect(status?.state == "normal")
        #expect(status?.limit_bytes == 256 << 20)
        let slot = try Command.check([Paths.spillway, "slot", "show", daemon.runDir + "/slots/c1.slot", "--json"])
        #expect(slot.contains("\"state\":\"normal\""), "\(slot)")
        let events = try daemon.spillway("events", "--json")
        #expect(events.stdout.contains("\"kind\":\"quota_grown\""))
        #expect(events.stdout.contains("\"reason\":\"quota_grown\""))
        #expect(events.stdout.contains("\"reason\":\"spill_area_empty\""))

        daemon.stop(kill: true)
        try daemon.start()
        #expect(try DaemonTests.status(daemon).container("c1")?.limit_bytes == 256 << 20)
        let qgroup = try Command.check(["btrfs", "qgroup", "show", "-re", "--raw", root])
        #expect(qgroup.contains("\(256 << 20)"), "\(qgroup)")
    }

    @Test func aWriterHoldingASpilledFileLosesNothingAndTheFileMovesWhenItCloses() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let daemon = try DaemonFixture()
        defer { daemon.destroy() }
        let (root, spill) = try Self.spillingContainer(daemon)
        try Self.make(spill, kinds: ["one-byte", "4096"])
        try "first\n".write(toFile: spill + "/log", atomically: false, encoding: .utf8)
        let stop = daemon.base + "/stop-writer"
        let fixtures = Paths.packageRoot.appendingPathComponent("Tests/SpillwayIntegrationTests/Fixtures").path
        let writer = try DaemonTests.Collector(["python3", fixtures + "/marked_writer.py", spill + "/log", stop, "0.01"])
        defer { writer.stop() }
        #expect(DaemonTests.wait { writer.lines.first == "locked" })

        #expect(try daemon.spillway("grow", "c1", "--by", "128M").status == 0)
        // The other files move; the written one waits, the container stays draining.
        #expect(DaemonTests.wait {
            FileManager.default.fileExists(atPath: root + "/one-byte") && FileManager.default.fileExists(atPath: root + "/4096")
        })
        Thread.sleep(forTimeInterval: 1.5)
        #expect(FileManager.default.fileExists(atPath: spill + "/log"), "the file was pulled from under its writer")
        #expect(!FileManager.default.fileExists(atPath: root + "/log"))
        #expect(try DaemonTests.status(daemon).container("c1")?.state == "draining")
        let waiting = try daemon.spillway("status", "--json")
        let compact = waiting.stdout.replacingOccurrences(of: " ", with: "")
        #expect(compact.contains("\"files_deferred\":1") && compact.contains("\"phase\":\"waiting\""), "\(waiting.stdout)")

        _ = FileManager.default.createFile(atPath: stop, contents: nil)
        #expect(DaemonTests.wait { writer.lines.count == 2 })
        let written = Int(writer.lines.last ?? "") ?? -1
        #expect(written > 10, "the writer wrote \(written) lines")
        #expect(try DaemonTests.wait { try DaemonTests.status(daemon).container("c1")?.state == "normal" }, "\(daemon.log())")
        let expected = "first\n" + (1...max(1, written)).map { "line \($0)\n" }.joined()
        #expect((try? String(contentsOfFile: root + "/log", encoding: .utf8)) == expected, "a byte was lost")
        #expect(!FileManager.default.fileExists(atPath: spill + "/log"))
    }

    /// The low watermark, with no `grow`: the application frees main-disk space, its spilled data
    /// fits under `drain_below`, and the daemon drains by itself back to `normal`.
    @Test func aContainerThatFreesSpaceDrainsWithoutBeingAsked() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let daemon = try DaemonFixture(extraConfig: "drain_min_dwell = 1\ndrain_confirm_samples = 2")
        defer { daemon.destroy() }
        let (root, spill) = try Self.spillingContainer(daemon)
        try Self.make(spill, kinds: ["one-byte", "4096", "sparse", "xattrs", "symlink", "nested"])
        let before = try Self.manifest(spill)
        // Still above the watermark: nothing moves.
        Thread.sleep(forTimeInterval: 2)
        #expect(try DaemonTests.status(daemon).container("c1")?.state == "spilling")

        try Command.check(["rm", "\(root)/fill"])
        try Command.check(["btrfs", "filesystem", "sync", root])
        let drained = try DaemonTests.wait(seconds: 40) { try DaemonTests.status(daemon).container("c1")?.state == "normal" }
        let table = try daemon.spillway("status").stdout
        #expect(drained, "\(table)\n\(daemon.log())")
        let after = try Self.manifest(root)
        for (path, entry) in before {
            #expect(after[path] == entry, "\(path): before \(entry), after \(after[path].map { "\($0)" } ?? "missing")")
        }
        #expect(try Self.manifest(spill).isEmpty)
        let events = try daemon.spillway("events", "--json")
        #expect(events.stdout.contains("\"reason\":\"usage_below_watermark\""), "\(events.stdout)")
        #expect(try DaemonTests.status(daemon).container("c1")?.limit_bytes == 64 << 20, "no grow happened")
    }

    @Test func growRefusesSizesItCannotHonourWithOneLine() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let daemon = try DaemonFixture(mainMegabytes: 512)
        defer { daemon.destroy() }
        let root = try daemon.makeContainer("c1", limit: "64M")
        try daemon.start()
        #expect(try daemon.spillway("register", "c1", "--root", root).status == 0)
        try Command.check(["dd", "if=/dev/zero", "of=\(root)/fill", "bs=1M", "count=20", "status=none"])
        let cases: [([String], String)] = [
            (["--to", "10M"], "--to 10 MiB is not above what 'c1' uses now"),
            (["--to", "32M"], "--to 32 MiB is not above the current limit of 'c1' (64 MiB)"),
            (["--to", "2G"], "--to 2 GiB is more than the main disk of 'c1' can hold"),
            (["--by=-1M"], "--by '-1M' is negative"),
            (["--to", "1G", "--by", "1M"], "--to and --by were both given"),
            ([], "give the new size with --to SIZE or the increase with --by SIZE"),
        ]
        for (arguments, message) in cases {
            let result = try Command.run([Paths.spillway, "grow", "c1"] + arguments + ["--socket", daemon.socket])
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        let unknown = try daemon.spillway("grow", "nope", "--by", "1G")
        #expect(unknown.stderr.contains("no managed container is called 'nope'"))
        #expect(try DaemonTests.status(daemon).container("c1")?.limit_bytes == 64 << 20, "a refused grow changes nothing")
        let ok = try daemon.spillway("grow", "c1", "--by", "64M")
        #expect(ok.status == 0 && ok.stdout.contains("limit 64 MiB -> 128 MiB"), "\(ok)")
    }
}

/// A JSON value that can be compared (the manifest's descriptions).
enum AnyHashableJSON: Hashable, Decodable, CustomStringConvertible {
    case string(String)
    case number(Double)
    case bool(Bool)
    case array([AnyHashableJSON])
    case object([String: AnyHashableJSON])
    case null

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([AnyHashableJSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: AnyHashableJSON].self)) }
    }

    var description: String {
        switch self {
        case .string(let s): "\"\(s)\""
        case .number(let n): n == n.rounded() && abs(n) < 1e18 ? String(Int64(n)) : String(n)
        case .bool(let b): String(b)
        case .array(let a): "[" + a.map(\.description).joined(separator: ",") + "]"
        case .object(let o): "{" + o.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",") + "}"
        case .null: "null"
        }
    }
}
