import Foundation
import SpillwayTestSupport
import Testing

/// A drain that cannot finish says so: `spillway grow --wait` names each file it leaves, why, and
/// the process holding it open; it gives up with a non-zero status after `--timeout` (a file held
/// open) or at once (a file it refuses: a name on its way swapped for a symlink), and
/// `spillway status` shows the same files while the container stays draining.
@Suite("Drain held files", .serialized)
struct DrainHeldFilesTests {
    static let fixtures = Paths.packageRoot.appendingPathComponent("Tests/SpillwayIntegrationTests/Fixtures").path

    @Test func growWaitNamesTheFileAndItsWriterThenGivesUpAfterTheTimeout() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let daemon = try DaemonFixture()
        defer { daemon.destroy() }
        let (root, spill) = try GrowDrainTests.spillingContainer(daemon)
        try "other\n".write(toFile: spill + "/other", atomically: false, encoding: .utf8)
        try "first\n".write(toFile: spill + "/log", atomically: false, encoding: .utf8)
        let stop = daemon.base + "/stop-writer"
        let writer = try DaemonTests.Collector(["python3", Self.fixtures + "/marked_writer.py", spill + "/log", stop, "0.05"])
        defer { writer.stop() }
        #expect(DaemonTests.wait { writer.lines.first == "locked" })
        let pid = writer.process.processIdentifier

        let started = Date()
        let grow = try daemon.spillway("grow", "c1", "--by", "128M", "--wait", "--timeout", "4")
        let took = Date().timeIntervalSince(started)
        #expect(grow.status != 0, "\(grow)")
        #expect(took < 30, "grow --wait took \(took) s")
        #expect(grow.stdout.contains("waiting for log: a process holds it open for writing (pid \(pid) python3)"), "\(grow.stdout)")
        #expect(grow.stderr.contains("gave up waiting for the drain of 'c1' after 4 s with no file moved"), "\(grow.stderr)")
        #expect(grow.stderr.contains("stays draining"), "\(grow.stderr)")
        #expect(FileManager.default.fileExists(atPath: root + "/other"))

        // Coherent after the give-up: still draining, and status says what it waits for.
        #expect(try DaemonTests.status(daemon).container("c1")?.state == "draining")
        let status = try daemon.spillway("status")
        #expect(status.stdout.contains("c1:   waiting for log: a process holds it open for writing (pid \(pid) python3)"), "\(status.stdout)")

        _ = FileManager.default.createFile(atPath: stop, contents: nil)
        #expect(DaemonTests.wait { writer.lines.count == 2 })
        #expect(try DaemonTests.wait { try DaemonTests.status(daemon).container("c1")?.state == "normal" }, "\(daemon.log())")
        let written = Int(writer.lines.last ?? "") ?? -1
        let expected = "first\n" + (1...max(1, written)).map { "line \($0)\n" }.joined()
        #expect((try? String(contentsOfFile: root + "/log", encoding: .utf8)) == expected)
    }

    @Test func aDirectorySwappedForASymlinkIsRefusedNotWaitedFor() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let daemon = try DaemonFixture()
        defer { daemon.destroy() }
        let outside = daemon.base + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        let (root, spill) = try GrowDrainTests.spillingContainer(daemon)
        try Command.check(["mkdir", "-p", spill + "/d"])
        try "secret\n".write(toFile: spill + "/d/f", atomically: false, encoding: .utf8)
        try "plain\n".write(toFile: spill + "/plain", atomically: false, encoding: .utf8)
        // The container swaps the tree's side of the directory for a symlink out of its tree.
        try Command.check(["ln", "-s", outside, root + "/d"])

        let started = Date()
        let grow = try daemon.spillway("grow", "c1", "--by", "128M", "--wait", "--timeout", "120")
        let took = Date().timeIntervalSince(started)
        #expect(grow.status != 0, "\(grow)")
        #expect(took < 60, "grow --wait took \(took) s: it waited for a refused file")
        #expect(grow.stdout.contains("refused d: "), "\(grow.stdout)")
        #expect(!grow.stdout.contains("waiting for d"), "\(grow.stdout)")
        #expect(grow.stderr.contains("the drain of 'c1' cannot finish: it refuses 1 file(s)"), "\(grow.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "the drain wrote through the symlink")
        #expect(FileManager.default.fileExists(atPath: root + "/plain"))
        #expect((try? String(contentsOfFile: spill + "/d/f", encoding: .utf8)) == "secret\n")
        #expect(try DaemonTests.status(daemon).container("c1")?.state == "draining")
        let status = try daemon.spillway("status")
        #expect(status.stdout.contains("c1:   refused d: "), "\(status.stdout)")
        #expect(status.stdout.contains("1 refused"), "\(status.stdout)")
        let events = try daemon.spillway("events", "--json")
        #expect(events.stdout.contains("\"kind\":\"drain_refused\""), "\(events.stdout)")
        #expect(events.stdout.components(separatedBy: "drain_refused").count == 2, "one event per refused file: \(events.stdout)")
    }

    /// A spilled file whose name a different file has on the main disk is never merged by
    /// guessing: refused, both left as they are, and `grow --wait` says so at once.
    @Test func aFileWhoseNameIsTakenOnTheMainDiskIsRefused() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let daemon = try DaemonFixture()
        defer { daemon.destroy() }
        let (root, spill) = try GrowDrainTests.spillingContainer(daemon)
        try "spilled\n".write(toFile: spill + "/dup", atomically: false, encoding: .utf8)
        try "main\n".write(toFile: root + "/dup", atomically: false, encoding: .utf8)

        let grow = try daemon.spillway("grow", "c1", "--by", "128M", "--wait", "--timeout", "120")
        #expect(grow.status != 0, "\(grow)")
        #expect(grow.stdout.contains("refused dup: ") && grow.stdout.contains("exists on the main disk too"), "\(grow.stdout)")
        #expect(grow.stderr.contains("cannot finish: it refuses 1 file(s)"), "\(grow.stderr)")
        #expect((try? String(contentsOfFile: root + "/dup", encoding: .utf8)) == "main\n")
        #expect((try? String(contentsOfFile: spill + "/dup", encoding: .utf8)) == "spilled\n")
        #expect(try DaemonTests.status(daemon).container("c1")?.state == "draining")
    }
}
