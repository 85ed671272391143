import Foundation
import SpillwayTestSupport
import Testing

/// Hard links through the drain: the names of one inode in the spill area come back as one inode
/// on the main disk (one copy, the other names linked to it), also when the drain is killed
/// between the first name and the last.
@Suite("Drain keeps hard links", .serialized)
struct DrainHardLinkTests {
    static func sha256(_ path: String) throws -> String {
        String(try Command.check(["sha256sum", path]).prefix(64))
    }

    /// `stat -c '%i %h'`: inode and link count.
    static func inodeAndLinks(_ path: String) throws -> (UInt64, Int) {
        let fields = try Command.check(["stat", "-c", "%i %h", path]).split(separator: " ")
        return (UInt64(fields[0]) ?? 0, Int(fields[1].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0)
    }

    /// Bytes the subvolume at `root` references (its qgroup's rfer), after a sync.
    static func referenced(_ root: String) throws -> UInt64 {
        try Command.check(["btrfs", "filesystem", "sync", root])
        let out = try Command.check(["btrfs", "qgroup", "show", "--raw", "-f", root])
        guard let line = out.split(separator: "\n").last(where: { $0.hasPrefix("0/") }),
              let value = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap({ UInt64($0) }) else {
            Issue.record("no qgroup line in \(out)")
            return 0
        }
        return value
    }

    @Test func aFileAndItsHardLinksComeBackAsOneInodeAndOneCopy() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let daemon = try DaemonFixture()
        defer { daemon.destroy() }
        let (root, spill) = try GrowDrainTests.spillingContainer(daemon)
        try Command.check(["mkdir", "-p", spill + "/d"])
        try Command.check(["dd", "if=/dev/urandom", "of=\(spill)/first", "bs=1M", "count=8", "status=none"])
        try Command.check(["ln", spill + "/first", spill + "/d/second"])
        try Command.check(["ln", spill + "/first", spill + "/third"])
        try "alone\n".write(toFile: spill + "/alone", atomically: false, encoding: .utf8)
        let sum = try Self.sha256(spill + "/first")
        let before = try Self.referenced(root)

        let grow = try daemon.spillway("grow", "c1", "--to", "256M", "--wait")
        #expect(grow.status == 0, "\(grow)\n\(daemon.log())")

        let names = ["first", "d/second", "third"]
        let seen = try names.map { try Self.inodeAndLinks(root + "/" + $0) }
        #expect(Set(seen.map(\.0)).count == 1, "the names are not one inode: \(seen)")
        #expect(seen.allSatisfy { $0.1 == 3 }, "link counts \(seen)")
        for name in names { #expect(try Self.sha256(root + "/" + name) == sum, "\(name)") }
        #expect((try? String(contentsOfFile: root + "/alone", encoding: .utf8)) == "alone\n")
        #expect(try GrowDrainTests.manifest(spill).isEmpty, "the spill area still holds files")
        #expect(GrowDrainTests.leftovers(try GrowDrainTests.manifest(root)).isEmpty)
        let grown = try Self.referenced(root) - before
        print("hard links: the main disk grew by \(grown) bytes for an 8 MiB file with 3 names")
        // One copy of 8 MiB (and a little metadata), not three.
        #expect(grown >= 8 << 20 && grown < 12 << 20, "the main disk grew by \(grown) bytes")
    }

    /// `kill -9` of the drain at every step of the move of the first name and of the second, then
    /// a drain that recovers: the two names are one inode with two links, in the tree only.
    @Test func killingTheDrainBetweenTheNamesOfAnInodeLeavesThemLinked() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let stage = try DrainCrashTests.Stage()
        defer { stage.destroy() }
        for step in DrainCrashTests.steps {
            for target in ["first", "second"] {
                let label = "\(step):\(target)"
                try stage.reset()
                try Command.check(["mkdir", "-p", stage.spill + "/d"])
                try Command.check(["dd", "if=/dev/urandom", "of=\(stage.spill)/first", "bs=64K", "count=3", "status=none"])
                try Command.check(["ln", stage.spill + "/first", stage.spill + "/d/second"])
                let sum = try Self.sha256(stage.spill + "/first")
                let crashed = try stage.drain(crashAt: label, batch: 16)
                #expect(crashed.status != 0, "\(label): the mover did not die: \(crashed)")
                let finished = try stage.drain(batch: 16)
                #expect(finished.status == 0, "\(label): \(finished)")
                let first = try? Self.inodeAndLinks(stage.tree + "/first")
                let second = try? Self.inodeAndLinks(stage.tree + "/d/second")
                #expect(first != nil && first?.0 == second?.0 && first?.1 == 2 && second?.1 == 2,
                        "\(label): first \(String(describing: first)), second \(String(describing: second))")
                #expect(try Self.sha256(stage.tree + "/first") == sum, "\(label)")
                #expect(try GrowDrainTests.manifest(stage.spill).keys.filter { $0 != "d" }.isEmpty, "\(label): the spill area still holds files")
                #expect(GrowDrainTests.leftovers(try GrowDrainTests.manifest(stage.tree)).isEmpty, "\(label)")
            }
        }
    }
}
