import Foundation
import SpillwayCore
import SpillwaySystem
import SpillwayTestSupport
import Testing

/// Static programs in a real Docker container (btrfs storage driver, `--storage-opt size`): the
/// runtime wrapper finds no dynamic loader, the daemon mounts the container's FUSE union and the
/// container gets it as its root filesystem; a write past the quota succeeds, its bytes on the
/// sub disk. With plain runc the same write fails.
@Suite("Static programs under a real dockerd (FUSE)", .serialized)
struct FuseContainerTests {
    static let image = "spillway-test:busybox-static"

    /// The unions mounted under `directory` (this test's daemon's run directory; other suites
    /// running meanwhile mount unions of their own elsewhere).
    static func fuseMounts(under directory: String) throws -> [String] {
        try MountTable.current().entries(under: directory).filter { $0.filesystemType == FuseUnionMount.filesystemType }.map(\.mountPoint)
    }

    /// busybox `dd` and a static C program each write twice their free quota and exit 0; the
    /// data read back inside the container is right, lies in the spill area, and status shows
    /// the container `spilling` in mode `fuse`. The union is unmounted when the container goes.
    @Test func staticProgramsWritePastTheQuota() throws {
        var runDir = ""
        try withContainerEnvironment { env in
            runDir = env.daemon.runDir
            try env.dockerd.importImage(try ContainerImages.busyboxStatic(), tag: Self.image)
            let imageBytes = (try FileManager.default.attributesOfItem(atPath: try ContainerImages.busyboxStatic())[.size] as? UInt64) ?? 0
            let quota: UInt64 = 48 << 20
            let writeMiB = Int(2 * (quota - imageBytes) >> 20)
            let source = env.daemon.base + "/source.bin"
            try Command.check(["dd", "if=/dev/urandom", "of=" + source, "bs=1M", "count=\(writeMiB)", "status=none"])
            let expected = String(try Command.check(["sha256sum", source]).prefix(64))

            let runs: [(name: String, script: String)] = [
                ("static-dd", "mkdir -p /data && dd if=/src/source.bin of=/data/out.bin bs=1M && sync && sha256sum /data/out.bin"),
                ("static-c", "mkdir -p /data && static-writer /src/source.bin /data/out.bin && sha256sum /data/out.bin"),
            ]
            for run in runs {
                let result = try env.run(size: "48M", name: run.name,
                                         ["-v", source + ":/src/source.bin:ro", Self.image, "/bin/busybox", "sh", "-c", run.script])
                #expect(result.status == 0, "\(run.name): \(result)\n\(env.daemon.log().suffix(2000))")
                #expect(result.stdout.contains(expected + "  /data/out.bin"), "\(run.name): \(result)")

                let report = try ContainerTests.status(env.daemon)
                let managed = try #require(report.containers.first { $0.name == run.name }, "\(report)")
                #expect(managed.mode == "fuse", "\(managed)")
                #expect(ContainerTests.wait { (try? ContainerTests.status(env.daemon).containers.first { $0.name == run.name }?.state) == .spilling },
                        "\(run.name) never showed spilling")
                let spillArea = try #require(managed.spillPath)
                #expect(try ContainerTests.sha256(spillArea + "/data/out.bin") == expected, "\(run.name): the bytes are not on the sub disk")
                // The container has exited: its `delete` unmounted the union.
                let unmounted = ContainerTests.wait { (try? Self.fuseMounts(under: runDir)) == [] }
                #expect(unmounted, "\(run.name): the union is still mounted: \((try? Self.fuseMounts(under: runDir)) ?? [])")
                let table = try env.daemon.spillway("status")
                #expect(table.stdout.split(separator: "\n").contains { $0.hasPrefix(run.name) && $0.contains("fuse") }, "\(table)")
            }

            let plain = try env.run(runtime: "runc", size: "48M", name: "static-plain",
                                    ["-v", source + ":/src/source.bin:ro", Self.image, "/bin/busybox", "sh", "-c", runs[0].script])
            #expect(plain.status != 0, "\(plain)")
            #expect((plain.stdout + plain.stderr).contains("Disk quota exceeded"), "\(plain)")
        }
        #expect(try Self.fuseMounts(under: runDir) == [], "a FUSE union was left mounted")
    }
}
