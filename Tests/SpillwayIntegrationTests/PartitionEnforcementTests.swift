import Foundation
import SpillwayCore
import SpillwaySystem
import SpillwayTestSupport
import Testing

/// Issue #15: partitions hold whatever the backend. Four containers share a sub disk in
/// partitions of 64 MiB; three try to write 400 MiB each into theirs — through the preload
/// library (`dd` in the host-tools image), through the FUSE union (busybox-static) and
/// directly into `/.spillway/spill` — and each stops with `ENOSPC`/`EDQUOT` at its partition;
/// then the fourth spills its own partition's worth and every one of its writes succeeds.
/// Once with btrfs subvolumes and once with ext4 loop images (the kernel enforces the caps:
/// qgroup limits, and the images' reserved-cluster pools), once with the directory backend
/// (the library and the FUSE union do, from the daemon's measurement at each poll).
@Suite("Partitions are enforced whatever the backend", .serialized)
struct PartitionEnforcementTests {
    static let tools = "spillway-test:tools"
    static let busybox = "spillway-test:busybox-static"
    static let quota: UInt64 = 48 << 20
    /// The partitions planned: a quarter of the 256 MiB usable.
    static let partition: UInt64 = 64 << 20
    /// Writes the offenders try: far past a partition, and enough to fill the sub disk.
    static let attemptMiB = 400

    enum Backend: String, CaseIterable, Sendable {
        case btrfs, loop, directory
        var enforcement: PartitionEnforcement { self == .directory ? .library : .kernel }
    }

    /// A 512 MiB btrfs sub disk with 256 MiB kept in reserve: 4 partitions of 64 MiB.
    static func config(_ backend: Backend, metricsPort: Int) -> String {
        "partition_min_containers = 2\nsub_disk_reserve = \"256M\"\npartition_backend = \"\(backend.rawValue)\"\n"
            + "metrics_listen = \"127.0.0.1:\(metricsPort)\"\n"
    }

    static let waitForGo = "until [ -e /go/offend ]; do sleep 0.1; done; "

    /// One `dd` process through the preload library: the main disk fills, the file moves to
    /// the spill area, and the writes go on there until the partition is full.
    static let throughLibrary = waitForGo + "dd if=/dev/zero of=/data/big bs=1M count=\(attemptMiB); echo \"stopped $?\"; sleep 100000"

    /// The same through the FUSE union, with busybox's static `dd` (the image has no /data).
    static let throughFuse = "mkdir -p /data; " + throughLibrary

    /// Fills the main disk past the spill threshold without filling it (the MiB /go/offend
    /// names), waits until the union creates new names in the spill area (the container is
    /// `spilling`), then writes with one `dd` straight into the spill area.
    static let directlyIntoSpill = waitForGo
        + "dd if=/dev/zero of=/data/fill bs=1M count=$(cat /go/offend) status=none; "
        + "i=0; until [ -e \(ContainerLayout.spill)/data/probe ] || [ $i -gt 300 ]; do rm -f /data/probe; touch /data/probe; sleep 0.1; i=$((i+1)); done; "
        + "echo spilling; dd if=/dev/zero of=\(ContainerLayout.spill)/direct.bin bs=1M count=\(attemptMiB); echo \"stopped $?\"; sleep 100000"

    /// Waits for its go, then writes the number of 4 MiB files /go/victim names, each of which must succeed.
    static let victim = "until [ -e /go/victim ]; do sleep 0.1; done; n=$(cat /go/victim); i=0; "
        + "while [ $i -lt $n ]; do dd if=/dev/zero of=/data/v-$i bs=1M count=4 status=none || { echo \"victim failed at $i\"; exit 1; }; "
        + "i=$((i+1)); done; sync; echo \"victim wrote $n\"; sleep 100000"

    /// The bytes allocated under `path` (`du -s -B1`), after flushing its filesystem.
    static func allocatedBytes(_ path: String) throws -> UInt64 {
        try Command.check(["sync", "-f", path])
        let out = try Command.check(["du", "-s", "-B1", path])
        return UInt64(out.split(separator: "\t").first ?? "") ?? 0
    }

    static func managed(_ env: ContainerEnvironment, _ name: String) -> ContainerStatus? {
        (try? ContainerTests.status(env.daemon))?.containers.first { $0.name == name }
    }

    @Test(arguments: Backend.allCases)
    func oneContainerCannotFillAnothersPartition(_ backend: Backend) throws {
        let metricsPort = try DaemonTests.freePort()
        try withContainerEnvironment(mainMegabytes: 2048, subMegabytes: 512, extraConfig: Self.config(backend, metricsPort: metricsPort)) { env in
            try env.dockerd.importImage(try ContainerImages.hostTools(), tag: Self.tools)
            try env.dockerd.importImage(try ContainerImages.busyboxStatic(), tag: Self.busybox)
            let go = env.daemon.base + "/go"
            try FileManager.default.createDirectory(atPath: go, withIntermediateDirectories: true)
            let offenders = [("lib", Self.tools, ["sh", "-c", Self.throughLibrary]),
                             ("fuse", Self.busybox, ["/bin/busybox", "sh", "-c", Self.throughFuse]),
                             ("direct", Self.tools, ["sh", "-c", Self.directlyIntoSpill])]
            for (name, image, command) in offenders + [("victim", Self.tools, ["sh", "-c", Self.victim])] {
                let started = try env.run(size: "48M", name: name, ["-d", "-v", go + ":/go:ro", image] + command)
                try #require(started.status == 0, "\(started)")
            }
            let names = ["lib", "fuse", "direct", "victim"]
            // All four registered and planned: equal partitions of (nearly) 64 MiB each.
            let planned = ContainerTests.wait(seconds: 60) {
                guard let report = try? ContainerTests.status(env.daemon) else { return false }
                let sizes = Set(names.map { name in report.containers.first { $0.name == name }?.partitionBytes })
                return sizes.count == 1 && (sizes.first!.map { $0 >= Self.partition - (8 << 20) } ?? false)
            }
            let report = try ContainerTests.status(env.daemon)
            try #require(planned, "\(report)\n\(env.daemon.log().suffix(3000))")
            let partition = try #require(report.containers.first?.partitionBytes)
            #expect(report.partitionBackend == PartitionBackendSetting(rawValue: backend.rawValue))
            #expect(report.partitionEnforcement == backend.enforcement)
            #expect((report.partitionNotice != nil) == (backend == .directory), "\(String(describing: report.partitionNotice))")
            #expect(Self.managed(env, "fuse")?.fuseMount != nil, "\(report)")
            // The start log, the table and the metrics say who enforces the caps.
            let log = env.daemon.log()
            #expect(log.contains("enforcement=\(backend.enforcement)") || log.contains("enforcement: \(backend.enforcement)"), "\(log.prefix(3000))")
            #expect(log.contains("enforced by Spillway's preload library and FUSE union, not by the kernel") == (backend == .directory), "\(log.prefix(3000))")
            let table = try env.daemon.spillway("status").stdout
            let enforcer = backend.enforcement == .kernel ? "the kernel" : "Spillway's library"
            #expect(table.contains("partitions: \(backend.rawValue), caps enforced by \(enforcer)"), "\(table)")
            #expect(table.contains("warning: partition caps") == (backend == .directory), "\(table)")
            let metrics = try Command.check(["python3", "-c", "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:\(metricsPort)/metrics').read().decode())"])
            #expect(metrics.contains("spillway_partition_caps_kernel_enforced{backend=\"\(backend.rawValue)\"} \(backend.enforcement == .kernel ? 1 : 0)"), "\(metrics)")

            // The offenders write; each stops at its partition with ENOSPC or EDQUOT.
            // 95 % of the main-disk quota: past the spill threshold, short of EDQUOT.
            let imageBytes = try ContainerTests.imageBytes()
            let fillMiB = (Self.quota * 95 / 100 - imageBytes) >> 20
            try "\(fillMiB)\n".write(toFile: go + "/offend.tmp", atomically: true, encoding: .utf8)
            try FileManager.default.moveItem(atPath: go + "/offend.tmp", toPath: go + "/offend")
            let stopped = ContainerTests.wait(seconds: 180) {
                offenders.allSatisfy { ContainerTests.logs(env, $0.0).contains("stopped") }
            }
            #expect(stopped, "\(offenders.map { "\($0.0): \(ContainerTests.logs(env, $0.0))" })")
            for (name, _, _) in offenders {
                let logs = ContainerTests.logs(env, name)
                #expect(logs.contains("stopped 1"), "\(name): \(logs)")
                #expect(logs.contains("No space left on device") || logs.contains("Disk quota exceeded"), "\(name): \(logs)")
                // What the spill area holds, as the host sees it.
                let area = try #require(Self.managed(env, name)?.spillPath)
                let spilled = try Self.allocatedBytes(area)
                print("\(backend) \(name): stopped with \(spilled) bytes in its spill area, partition \(partition)")
                #expect(spilled <= partition + (4 << 20), "\(name) stores \(spilled) bytes in a partition of \(partition)")
                #expect(spilled >= partition - (8 << 20), "\(name) stopped at \(spilled) bytes, short of its partition of \(partition)")
            }

            // The victim spills its own partition's worth, and every write succeeds.
            let files = Int((Self.quota - imageBytes + partition - (8 << 20)) >> 22)
            try "\(files)\n".write(toFile: go + "/victim.tmp", atomically: true, encoding: .utf8)
            try FileManager.default.moveItem(atPath: go + "/victim.tmp", toPath: go + "/victim")
            let done = ContainerTests.wait(seconds: 120) {
                let logs = ContainerTests.logs(env, "victim")
                return logs.contains("victim wrote") || logs.contains("victim failed")
            }
            let logs = ContainerTests.logs(env, "victim")
            #expect(done && logs.contains("victim wrote \(files)"), "\(logs)\n\(env.daemon.log().suffix(2000))")
            let victim = try #require(Self.managed(env, "victim"))
            #expect(victim.state == .spilling)
            let victimSpilled = try Self.allocatedBytes(try #require(victim.spillPath))
            #expect(victimSpilled >= partition - (16 << 20), "the victim spilled only \(victimSpilled) bytes of its \(partition)")
        }
    }
}
