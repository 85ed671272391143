import Foundation
import SpillwayCore
import SpillwaySystem
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
        try waitUntil(seconds: seconds, every: 0.1, condition)
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

    /// A writer that stores `mebibytes` in 4 MiB files under /data, then prints `wrote` and sleeps.
    static func writer(_ mebibytes: Int, pause: String = "0") -> [String] {
        ["sh", "-c", "i=0; while [ $i -lt \(mebibytes / 4) ]; do dd if=/dev/urandom of=/data/part-$i bs=1M count=4 status=none || { echo failed $i; exit 1; }; i=$((i+1)); sleep \(pause); done; sync; echo wrote; sleep 100000"]
    }

    static func logs(_ env: ContainerEnvironment, _ name: String) -> String {
        let result = try? env.dockerd.docker("logs", name)
        return (result?.stdout ?? "") + (result?.stderr ?? "")
    }

    /// (d) Ten containers with different quotas: partitions as planned, and none can see or
    /// fill another's spill area, or write its own slot.
    /// `docker exec` (runc `exec --process`, what `kubectl exec` comes to as well): the new
    /// process gets the launcher and the preload library as the container's first process did,
    /// so a `dd` of twice the free quota from it exits 0 and lands in the spill area.
    @Test func dockerExecWritesPastTheQuotaToo() throws {
        try withContainerEnvironment { env in
            try env.dockerd.importImage(try ContainerImages.hostTools(), tag: Self.image)
            let quota: UInt64 = 64 << 20
            let writeMiB = Int(2 * (quota - (try Self.imageBytes())) >> 20)
            let started = try env.run(size: "64M", name: "execd", ["-d", Self.image, "sleep", "600"])
            try #require(started.status == 0, "\(started)")
            defer { _ = try? env.dockerd.docker("rm", "-f", "execd") }
            let exec = try env.dockerd.docker("exec", "--user", "0", "execd", "sh", "-c",
                                              "mkdir -p /data && dd if=/dev/urandom of=/data/exec.bin bs=1M count=\(writeMiB) status=none && sync && wc -c < /data/exec.bin")
            #expect(exec.status == 0, "\(exec)")
            #expect(exec.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(writeMiB << 20)", "\(exec)")
            // The runtime wrapper registers the container at create; Docker discovery names it
            // when it sees the start event, a moment later.
            _ = try Self.wait { try Self.status(env.daemon).containers.contains { $0.name == "execd" } }
            let report = try Self.status(env.daemon)
            let managed = try #require(report.containers.first { $0.name == "execd" }, "\(report)")
            let spillArea = try #require(managed.spillPath)
            let inSpill = try FileManager.default.attributesOfItem(atPath: spillArea + "/data/exec.bin")
            #expect((inSpill[.size] as? UInt64) == UInt64(writeMiB) << 20)
            // What the exec'd process saw of itself: the library, and the first process's slot.
            let env2 = try env.dockerd.docker("exec", "execd", "sh", "-c", "env | grep '^SPILLWAY_SLOT='; grep -c libspillway /proc/self/maps")
            #expect(env2.stdout.hasPrefix("SPILLWAY_SLOT=/.spillway/slot\n") && !env2.stdout.hasSuffix("\n0\n"), "\(env2)")
        }
    }

    @Test func tenContainersArePartitionedAndKeptApart() throws {
        try withContainerEnvironment(mainMegabytes: 3072, subMegabytes: 1024, extraConfig: "partition_min_containers = 2") { env in
            try env.dockerd.importImage(try ContainerImages.hostTools(), tag: Self.image)
            let names = (0..<10).map { "ten-\($0)" }
            for (index, name) in names.enumerated() {
                let quota = 40 + 8 * index
                let result = try env.dockerd.docker(["run", "-d", "--name", name, "--network", "none", "--runtime", "spillway",
                                                     "--storage-opt", "size=\(quota)M", Self.image] + Self.writer(quota + quota / 2))
                #expect(result.status == 0, "\(result)")
            }
            #expect(Self.wait(seconds: 120) { names.allSatisfy { Self.logs(env, $0).contains("wrote") } },
                    "\(names.map { "\($0): \(Self.logs(env, $0))" })")
            let report = try Self.status(env.daemon)
            let mine = report.containers.filter { $0.name.hasPrefix("ten-") }
            #expect(mine.count == 10)
            #expect(mine.allSatisfy { $0.state == .spilling && $0.spilledBytes > 0 }, "\(mine)")

            // The partitions are the plan's, and grow with the quota.
            struct Plan: Decodable {
                struct Entry: Decodable { let id: String; let partition_bytes: UInt64? }
                let mode: String
                let containers: [Entry]
            }
            let plan = try JSONDecoder().decode(Plan.self, from: Data(try env.daemon.spillway("plan", "--json").stdout.utf8))
            for container in mine {
                let planned = plan.containers.first { $0.id == container.id }?.partition_bytes
                #expect(planned != nil && planned == container.partitionBytes, "\(container.name): plan \(String(describing: planned)), status \(String(describing: container.partitionBytes))")
            }
            let byQuota = mine.sorted { ($0.limitBytes ?? 0) < ($1.limitBytes ?? 0) }.compactMap(\.partitionBytes)
            #expect(byQuota == byQuota.sorted() && Set(byQuota).count == 10, "\(byQuota)")

            // Inside ten-0: only its own spill area is mounted; its slot is read-only; the sub
            // disk's other areas cannot be reached; its partition stops it, not another's room.
            let own = try #require(mine.first { $0.name == "ten-0" })
            let probe = try env.dockerd.docker("exec", "ten-0", "sh", "-c", """
                grep ' /.spillway/' /proc/self/mountinfo; \
                echo x > /.spillway/slot && echo SLOT-WRITABLE; \
                ls -a /.spillway/spill/..; ls /.spillway/spill/../.. ; \
                dd if=/dev/zero of=/.spillway/spill/fill bs=1M count=2000 status=none; echo fill-exit $?; \
                rm -f /.spillway/spill/fill
                """)
            #expect(!probe.stdout.contains("SLOT-WRITABLE"), "\(probe)")
            #expect(probe.stderr.contains("Read-only file system"), "\(probe)")
            let spillMounts = probe.stdout.split(separator: "\n").filter { $0.contains(" /.spillway/spill ") }
            #expect(spillMounts.count == 1 && spillMounts[0].contains("/\(own.id) "), "\(probe)")
            for other in mine where other.id != own.id {
                #expect(!probe.stdout.contains(other.id), "ten-0 sees \(other.name): \(probe)")
            }
            #expect(probe.stdout.contains("fill-exit 1"), "a fill past its partition must fail: \(probe)")
        }
    }

    /// (e) `kill -9` of the daemon mid-run: the restarted daemon has every container again, by
    /// name and state, from its database and from Docker, and forgets one removed meanwhile.
    @Test func daemonKilledMidRunPicksEveryContainerUp() throws {
        try withContainerEnvironment { env in
            try env.dockerd.importImage(try ContainerImages.hostTools(), tag: Self.image)
            for (name, runtime) in [("k-a", "spillway"), ("k-b", "spillway"), ("k-c", "runc"), ("k-gone", "runc")] {
                let result = try env.dockerd.docker(["run", "-d", "--name", name, "--network", "none", "--runtime", runtime,
                                                     "--storage-opt", "size=48M", Self.image] + Self.writer(runtime == "spillway" ? 96 : 16, pause: "0.3"))
                #expect(result.status == 0, "\(result)")
            }
            #expect(try Self.wait { try Self.status(env.daemon).containers.filter { $0.name.hasPrefix("k-") }.count == 4 })
            env.daemon.stop(kill: true)
            try env.dockerd.docker("rm", "-f", "k-gone")
            try env.daemon.start()
            #expect(Self.wait(seconds: 90) { ["k-a", "k-b"].allSatisfy { Self.logs(env, $0).contains("wrote") } })
            let done = try Self.wait { try Self.status(env.daemon).containers.filter { ["k-a", "k-b"].contains($0.name) && $0.state == .spilling }.count == 2 }
            let report = try Self.status(env.daemon)
            #expect(done, "\(report)")
            #expect(Set(report.containers.map(\.name)) == ["k-a", "k-b", "k-c"], "\(report)")
            #expect(report.containers.first { $0.name == "k-c" }?.mode == "monitor")
            #expect(report.containers.filter { $0.name != "k-c" }.allSatisfy { $0.mode == "preload" })
            #expect(["k-a", "k-b"].allSatisfy { !Self.logs(env, $0).contains("failed") })
        }
    }

    static let fixtures = Paths.packageRoot.appendingPathComponent("Tests/SpillwayIntegrationTests/Fixtures").path

    /// (b) An SQLite insert loop and a python3 appender (fsync per line), both started well
    /// before the flip, run on while a filler pushes the container past its quota: the database
    /// passes `PRAGMA integrity_check` and every line is there exactly once.
    @Test func sqliteAndAppenderSurviveTheFlip() throws {
        let image = try ContainerImages.bookworm()
        try withContainerEnvironment(mainMegabytes: 3072) { env in
            try env.dockerd.importImage(image, tag: "spillway-test:bookworm")
            let script = """
                mkdir -p /data; python3 /fixtures/sqlite_inserter.py /data/db.sqlite 2500 0.004 & S=$!; \
                python3 /fixtures/appender.py /data/log A 2500 0.004 & A=$!; \
                sleep 3; i=0; while [ $i -lt 40 ]; do dd if=/dev/urandom of=/data/fill-$i bs=1M count=5 status=none || echo fill-failed; i=$((i+1)); done; \
                wait $S; echo sqlite-exit $?; wait $A; echo appender-exit $?; \
                python3 -c 'import sqlite3; c = sqlite3.connect("/data/db.sqlite"); print("integrity", c.execute("PRAGMA integrity_check").fetchone()[0]); print("rows %d distinct %d" % c.execute("select count(*), count(distinct n) from t").fetchone())'; \
                echo lines $(wc -l < /data/log) distinct $(sort -u /data/log | wc -l)
                """
            let result = try env.dockerd.docker(["run", "--name", "apps", "--network", "none", "--runtime", "spillway",
                                                 "--storage-opt", "size=400M", "-v", Self.fixtures + ":/fixtures:ro",
                                                 "spillway-test:bookworm", "sh", "-c", script])
            #expect(result.status == 0, "\(result)")
            #expect(!result.stdout.contains("fill-failed"), "\(result)")
            #expect(result.stdout.contains("sqlite-exit 0"), "\(result)")
            #expect(result.stdout.contains("appender-exit 0"), "\(result)")
            #expect(result.stdout.contains("integrity ok"), "\(result)")
            #expect(result.stdout.contains("rows 2500 distinct 2500"), "\(result)")
            #expect(result.stdout.contains("lines 2500 distinct 2500"), "\(result)")
            #expect(try Self.wait { try Self.status(env.daemon).containers.contains { $0.name == "apps" && $0.state == .spilling } })
        }
    }

    /// (c) A dynamic musl program (musl-gcc, the musl loader in the image) writing twice its free
    /// quota gets the same result through libspillway-musl.so, by way of the `$LIB` preload tree.
    @Test func muslProgramSpillsThroughTheMuslLibrary() throws {
        try withContainerEnvironment { env in
            try env.dockerd.importImage(try ContainerImages.hostTools(), tag: Self.image)
            let program = env.daemon.base + "/musl-copy"
            try Command.check(["musl-gcc", "-O2", "-o", program, Self.fixtures + "/musl_copy.c"])
            let writeMiB = Int(2 * ((64 << 20) - (try Self.imageBytes())) >> 20)
            let source = env.daemon.base + "/source.bin"
            try Command.check(["dd", "if=/dev/urandom", "of=" + source, "bs=1M", "count=\(writeMiB)", "status=none"])
            let expected = try Self.sha256(source)
            let copy = try env.run(size: "64M", name: "musl", ["-v", source + ":/src/source.bin:ro", "-v", program + ":/tools/musl-copy:ro",
                                                               Self.image, "/tools/musl-copy", "/src/source.bin", "/data/out.bin"])
            #expect(copy.status == 0, "\(copy)")
            #expect(!copy.stderr.contains("spillway-entry"), "\(copy)")
            let report = try Self.status(env.daemon)
            let managed = try #require(report.containers.first { $0.name == "musl" }, "\(report)")
            let spillArea = try #require(managed.spillPath)
            #expect(try Self.sha256(spillArea + "/data/out.bin") == expected)
            // A glibc shell running the musl program: one LD_PRELOAD value ($LIB) serves both;
            // read back inside the container through the union.
            let mixed = try env.run(size: "64M", name: "musl-from-sh", ["-v", source + ":/src/source.bin:ro", "-v", program + ":/tools/musl-copy:ro",
                                                                       Self.image, "sh", "-c", "/tools/musl-copy /src/source.bin /data/out.bin && sha256sum /data/out.bin"])
            #expect(mixed.status == 0, "\(mixed)")
            #expect(mixed.stdout.hasPrefix(expected), "\(mixed)")
            let second = try #require(try Self.status(env.daemon).containers.first { $0.name == "musl-from-sh" })
            #expect(FileManager.default.fileExists(atPath: (second.spillPath ?? "/nonexistent") + "/data/out.bin"))
        }
    }
}

/// (f) `spillway demo` runs to its end, and also stops on SIGTERM midway; either way it leaves no
/// mount, loop device, process or file of its own behind.
@Suite("spillway demo", .serialized)
struct DemoTests {
    /// What the demo could leave behind: its mounts, loop devices and processes, named by its
    /// work directory (/tmp/spillway-demo-*).
    static func leftovers() throws -> [String] {
        let marker = "/tmp/spillway-demo-"
        var found: [String] = []
        found += (try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)).split(separator: "\n")
            .filter { $0.contains(marker) }.map { "mount: \($0)" }
        found += try Command.check(["losetup", "-a"]).split(separator: "\n").filter { $0.contains(marker) }.map { "loop: \($0)" }
        found += HostCommand.processes(mentioning: marker).map { "process \($0)" }
        found += try FileManager.default.contentsOfDirectory(atPath: "/tmp").filter { $0.hasPrefix("spillway-demo-") }.map { "file: /tmp/\($0)" }
        return found
    }

    @Test func runsToTheEndAndLeavesNothing() throws {
        #expect(try Self.leftovers().isEmpty, "leftovers before the demo ran")
        let start = Date()
        let result = try Command.run([Paths.spillway, "demo", "--lib-dir", Paths.shimBuild.path, "--timeout", "120"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("every container wrote twice its quota"), "\(result)")
        #expect(Date().timeIntervalSince(start) < 180)
        #expect(try Self.leftovers() == [])
    }

    @Test func cleansUpOnSigterm() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.spillway)
        process.arguments = ["demo", "--lib-dir", Paths.shimBuild.path]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = out
        try process.run()
        // Stop it once its containers run, the moment with the most to remove.
        var seen = Data()
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, !String(decoding: seen, as: UTF8.self).contains("demo-large: quota") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen.append(chunk)
        }
        kill(process.processIdentifier, SIGTERM)
        seen.append(out.fileHandleForReading.readDataToEndOfFile())
        process.waitUntilExit()
        let text = String(decoding: seen, as: UTF8.self)
        #expect(text.contains("demo-large: quota"), "\(text)")
        #expect(text.contains("cleaning up"), "\(text)")
        #expect(process.terminationStatus == 130, "\(text)")
        #expect(try Self.leftovers() == [])
    }
}
