import Foundation
import SpillwayCore
import SpillwayTestSupport
import Testing

/// Spillway with a real dockerd (btrfs storage driver, `--storage-opt size`): the runtime
/// wrapper, the launcher, Docker discovery and the daemon together, each test on a private
/// dockerd, loop disks and daemon of its own that are always removed.
@Suite("Containers under a real dockerd", .serialized)
struct ContainerTests {
    static let image = "spillway-test:tools"

    static func status(_ daemon: DaemonFixture) throws -> StatusReport {
        let result = try daemon.spillway("status", "--json")
        guard result.status == 0 else { throw CommandFailure(argv: ["spillway", "status", "--json"], result: result) }
        return try JSONDecoder().decode(StatusReport.self, from: Data(result.stdout.utf8))
    }

    static func wait(seconds: Double = 30, until condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.1)
        }
        return try condition()
    }

    static func sha256(_ path: String) throws -> String {
        String(try Command.check(["sha256sum", path]).prefix(64))
    }

    /// Bytes of the image's files, which the btrfs quota counts against the container.
    static func imageBytes() throws -> UInt64 {
        let attributes = try FileManager.default.attributesOfItem(atPath: try ContainerImages.hostTools())
        return (attributes[.size] as? UInt64) ?? 0
    }

    /// (a) `dd` of twice the free quota: exits 0 with the runtime wrapper, reads back right, lies
    /// in the spill area and shows `spilling` by its Docker name; with plain runc it fails.
    @Test func ddPastItsQuotaWithAndWithoutSpillway() throws {
        try withContainerEnvironment { env in
            try env.dockerd.importImage(try ContainerImages.hostTools(), tag: Self.image)
            let quota: UInt64 = 64 << 20
            let writeMiB = Int(2 * (quota - (try Self.imageBytes())) >> 20)
            let source = env.daemon.base + "/source.bin"
            try Command.check(["dd", "if=/dev/urandom", "of=" + source, "bs=1M", "count=\(writeMiB)", "status=none"])
            let expected = try Self.sha256(source)
            let script = "dd if=/src/source.bin of=/data/out.bin bs=1M && sync && sha256sum /data/out.bin"

            let spilled = try env.run(size: "64M", name: "filler", ["-v", source + ":/src/source.bin:ro", Self.image, "sh", "-c", script])
            #expect(spilled.status == 0, "\(spilled)")
            #expect(spilled.stdout.contains(expected + "  /data/out.bin"), "\(spilled)")
            #expect(!spilled.stderr.contains("spillway-entry"), "\(spilled)")

            let spilling = try Self.wait { try Self.status(env.daemon).containers.contains { $0.name == "filler" && $0.state == .spilling } }
            let report = try Self.status(env.daemon)
            #expect(spilling, "\(report) \(env.daemon.log().suffix(3000))")
            let managed = try #require(report.containers.first { $0.name == "filler" }, "\(report)")
            #expect(managed.mode == "preload")
            let spillArea = try #require(managed.spillPath)
            #expect(spillArea.hasPrefix(env.daemon.sub.mountPoint + "/"))
            let inSpill = try FileManager.default.attributesOfItem(atPath: spillArea + "/data/out.bin")
            #expect((inSpill[.size] as? UInt64) == UInt64(writeMiB) << 20)
            #expect(try Self.sha256(spillArea + "/data/out.bin") == expected)
            let table = try env.daemon.spillway("status")
            #expect(table.stdout.split(separator: "\n").contains { $0.hasPrefix("filler") && $0.contains("spilling") }, "\(table)")

            let plain = try env.run(runtime: "runc", size: "64M", name: "plain", ["-v", source + ":/src/source.bin:ro", Self.image, "sh", "-c", script])
            #expect(plain.status != 0, "\(plain)")
            #expect((plain.stdout + plain.stderr).contains("Disk quota exceeded"), "\(plain)")
            // Docker discovery found the plain one too, and says it cannot spill.
            #expect(try Self.wait { try Self.status(env.daemon).containers.contains { $0.name == "plain" && $0.mode == "monitor" } })

            // `docker rm` makes the daemon forget the container and its spill area.
            try env.dockerd.docker("rm", "filler")
            #expect(try Self.wait { try !Self.status(env.daemon).containers.contains { $0.name == "filler" } })
            #expect(!FileManager.default.fileExists(atPath: spillArea + "/data/out.bin"))
        }
    }
}
