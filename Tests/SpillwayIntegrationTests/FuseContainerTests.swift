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

    /// Where the daemon mounts the union of container `id` (`run_dir/fuse/ID`).
    static func unionMountPoint(_ runDir: String, _ id: String) -> String { runDir + "/fuse/" + id }

    /// The `spillway fuse mount` processes serving the union at `mountPoint`.
    static func servers(of mountPoint: String) -> Set<pid_t> { Set(HostCommand.processes(mentioning: " " + mountPoint)) }

    /// How often `mountPoint` appears in the mount table (1 for a mounted union, never more).
    static func mountCount(_ mountPoint: String) throws -> Int {
        try MountTable.current().entries.filter { $0.mountPoint == mountPoint }.count
    }

    /// Starts `script` (busybox `sh -c`) detached in the static image under the runtime wrapper
    /// and waits until the daemon manages it in mode `fuse` with its union mounted.
    static func startStatic(_ env: ContainerEnvironment, name: String, size: String = "48M", volumes: [String] = [],
                            _ script: String) throws -> ContainerStatus {
        let started = try env.run(size: size, name: name, ["-d"] + volumes.flatMap { ["-v", $0] } + [image, "/bin/busybox", "sh", "-c", script])
        try #require(started.status == 0, "\(started)")
        var managed: ContainerStatus?
        let mounted = ContainerTests.wait {
            managed = try? ContainerTests.status(env.daemon).containers.first { $0.name == name && $0.fuseMount != nil }
            return managed != nil
        }
        try #require(mounted, "\(name) never ran in mode fuse: \((try? ContainerTests.status(env.daemon)).map { "\($0)" } ?? "")\n\(env.daemon.log().suffix(2000))")
        return managed!
    }

    /// `docker exec NAME sh -c SCRIPT`: a static program reading or writing through the union.
    static func exec(_ env: ContainerEnvironment, _ name: String, _ script: String) throws -> HostCommand.Result {
        try env.dockerd.docker("exec", name, "/bin/busybox", "sh", "-c", script)
    }

    static func container(_ env: ContainerEnvironment, _ name: String) -> ContainerStatus? {
        (try? ContainerTests.status(env.daemon))?.containers.first { $0.name == name }
    }

    /// The static image imported, and 64 MiB of random bytes on the host for a container to copy
    /// in past its 48 MiB quota: their path and sha256.
    static func stageSpillSource(_ env: ContainerEnvironment) throws -> (path: String, sha256: String) {
        try env.dockerd.importImage(try ContainerImages.busyboxStatic(), tag: image)
        let source = env.daemon.base + "/source.bin"
        try Command.check(["dd", "if=/dev/urandom", "of=" + source, "bs=1M", "count=64", "status=none"])
        return (source, try ContainerTests.sha256(source))
    }

    /// `line 1` ... `line count`, one per line: what an appender that wrote `count` lines left.
    static func lines(_ count: Int) -> String { count < 1 ? "" : (1...count).map { "line \($0)\n" }.joined() }

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

    /// The drain through a FUSE-mode container: a static program spills 64 MiB past its 48 MiB
    /// quota while a static appender holds its log open (the log moves to the spill area under
    /// it). `spillway grow --wait` moves everything back: it waits while the appender holds the
    /// log and ends when the appender closes it; the container runs on, reads and writes through
    /// its union during and after the drain, and every byte is on the main disk.
    @Test func growDrainsAFuseContainerThroughItsUnion() throws {
        try withContainerEnvironment { env in
            let (source, expected) = try Self.stageSpillSource(env)
            // The appender opens its log while the container is `normal` and holds it until
            // /data/stop appears; then it records how many lines it wrote.
            let script = """
                mkdir -p /data; \
                ( exec 3>>/data/log; i=0; while [ ! -e /data/stop ]; do i=$((i+1)); echo "line $i" >&3 || echo "append-failed $i"; sleep 0.05; done; \
                  exec 3>&-; echo $i > /data/count; echo appender-done ) & \
                sleep 0.5; static-writer /src/source.bin /data/out.bin && echo filled; sleep 100000
                """
            let name = "fuse-drain"
            let started = try Self.startStatic(env, name: name, volumes: [source + ":/src/source.bin:ro"], script)
            let (root, spill) = (started.root, try #require(started.spillPath))
            let filled = ContainerTests.wait(seconds: 60) { ContainerTests.logs(env, name).contains("filled") }
            #expect(filled, "\(ContainerTests.logs(env, name))")
            #expect(ContainerTests.wait { Self.container(env, name)?.state == .spilling }, "\(String(describing: Self.container(env, name)))")
            #expect(try ContainerTests.sha256(spill + "/data/out.bin") == expected, "the spilled bytes are not on the sub disk")
            #expect(ContainerTests.wait { FileManager.default.fileExists(atPath: spill + "/data/log") }, "the held log never moved to the spill area")

            let grow = try DaemonTests.Collector([Paths.spillway, "grow", name, "--by", "256M", "--wait", "--socket", env.daemon.socket])
            defer { grow.stop() }
            // The drain moves the big file; the held log waits for its writer.
            let moved = ContainerTests.wait {
                FileManager.default.fileExists(atPath: root + "/data/out.bin") && !FileManager.default.fileExists(atPath: spill + "/data/out.bin")
            }
            #expect(moved, "out.bin never came back: \(grow.lines)\n\(env.daemon.log().suffix(2000))")
            let during = try Self.exec(env, name, "sha256sum /data/out.bin; wc -l < /data/log; echo during > /data/during; cat /data/during")
            Thread.sleep(forTimeInterval: 1.5)
            let later = try Self.exec(env, name, "wc -l < /data/log")
            #expect(during.status == 0 && during.stdout.contains(expected + "  /data/out.bin") && during.stdout.hasSuffix("during\n"), "\(during)")
            let linesDuring = during.stdout.split(separator: "\n").dropFirst().first.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 0
            let linesLater = Int(later.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            #expect(linesLater > linesDuring, "the appender stopped during the drain: \(linesDuring) then \(linesLater) lines")
            #expect(FileManager.default.fileExists(atPath: root + "/data/during"), "a file made while draining must go to the main disk")
            #expect(FileManager.default.fileExists(atPath: spill + "/data/log"), "the log was pulled from under its writer")
            #expect(Self.container(env, name)?.state == .draining)
            #expect(grow.process.isRunning, "grow --wait ended while a file was still spilled: \(grow.lines)")

            #expect(try Self.exec(env, name, "echo > /data/stop").status == 0)
            #expect(ContainerTests.wait { !grow.process.isRunning }, "grow --wait never ended: \(grow.lines)\n\(env.daemon.log().suffix(2000))")
            grow.stop()
            #expect(grow.process.terminationStatus == 0, "\(grow.lines)")
            #expect(grow.lines.contains { $0.hasPrefix("drained \(name):") }, "\(grow.lines)")

            let after = try #require(Self.container(env, name))
            #expect(after.state == .normal && after.mode == "fuse" && after.fuseMount != nil, "\(after)")
            #expect((try? FileManager.default.contentsOfDirectory(atPath: spill)) == [], "the spill area still holds files")
            let slot = try Command.check([Paths.spillway, "slot", "show", try #require(after.slotPath), "--json"])
            #expect(slot.contains("\"state\":\"normal\""), "\(slot)")
            #expect(try ContainerTests.sha256(root + "/data/out.bin") == expected)
            let count = Int((try? String(contentsOfFile: root + "/data/count", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
            #expect(count > 20, "the appender wrote \(count) lines")
            #expect((try? String(contentsOfFile: root + "/data/log", encoding: .utf8)) == Self.lines(count), "a line of the held log was lost or doubled")
            #expect(!ContainerTests.logs(env, name).contains("append-failed"), "\(ContainerTests.logs(env, name))")

            // The container runs on, and reads and writes through its union.
            let inside = try Self.exec(env, name, "sha256sum /data/out.bin && echo after > /data/after && cat /data/after && wc -l < /data/log")
            #expect(inside.status == 0 && inside.stdout.contains(expected + "  /data/out.bin") && inside.stdout.contains("after\n"), "\(inside)")
            #expect(inside.stdout.hasSuffix("\(count)\n"), "\(inside)")
            #expect(FileManager.default.fileExists(atPath: root + "/data/after"))
            #expect((try? FileManager.default.contentsOfDirectory(atPath: spill)) == [])
            #expect(try env.dockerd.docker("inspect", "-f", "{{.State.Running}}", name).stdout.hasPrefix("true"))

            // A restart of the container: Docker sets its original 48 MiB again at every start;
            // the grown limit is back before the program runs, which rewrites its 64 MiB
            // through a new union without spilling.
            let grown = try #require(after.limitBytes)
            #expect(grown == (48 + 256) << 20, "\(after)")
            let restarted = try env.dockerd.docker("restart", "-t", "1", name)
            #expect(restarted.status == 0, "\(restarted)")
            let refilled = ContainerTests.wait(seconds: 60) { ContainerTests.logs(env, name).components(separatedBy: "filled").count == 3 }
            #expect(refilled, "\(ContainerTests.logs(env, name))")
            let again = try #require(Self.container(env, name))
            #expect(again.limitBytes == grown && again.state == .normal && again.fuseMount != nil, "\(again)\n\(env.daemon.log().suffix(2000))")
            #expect(try Command.check(["btrfs", "qgroup", "show", "-re", "--raw", root]).contains("\(grown)"))
            #expect((try? FileManager.default.contentsOfDirectory(atPath: spill)) == [], "the restarted container spilled: its grown limit was lost")
            #expect(try ContainerTests.sha256(root + "/data/out.bin") == expected)
        }
    }

    /// `kill -9` of the daemon in the middle of a FUSE-mode container's drain: a static program
    /// spilled a 64 MiB file and 200 small ones past its 48 MiB quota while an appender holds its
    /// log open, so the drain keeps going (`draining`) until the appender lets go. The daemon is
    /// killed as soon as the drain has begun; the union serves on meanwhile (no write fails).
    /// The restarted daemon finishes or rolls back what the killed one left (no temporary file
    /// stays), resumes the drain and ends it once the log is closed: every file once, whole, on
    /// the main disk, the spill area empty, one union and one server throughout.
    @Test func daemonKilledInTheMiddleOfAFuseDrainFinishesIt() throws {
        try withContainerEnvironment { env in
            let (source, expected) = try Self.stageSpillSource(env)
            let script = """
                mkdir -p /data/small; \
                ( exec 3>>/data/log; i=0; while [ ! -e /data/stop ]; do i=$((i+1)); echo "line $i" >&3 || echo "append-failed $i"; sleep 0.05; done; \
                  exec 3>&-; echo $i > /data/count; echo appender-done ) & \
                sleep 0.5; static-writer /src/source.bin /data/out.bin && \
                i=0; while [ $i -lt 200 ]; do i=$((i+1)); echo "small $i" > /data/small/$i || echo "small-failed $i"; done; \
                echo filled; sleep 100000
                """
            let name = "fuse-drain-kill"
            let started = try Self.startStatic(env, name: name, volumes: [source + ":/src/source.bin:ro"], script)
            let (root, spill) = (started.root, try #require(started.spillPath))
            let mountPoint = Self.unionMountPoint(env.daemon.runDir, started.id)
            #expect(ContainerTests.wait(seconds: 60) { ContainerTests.logs(env, name).contains("filled") }, "\(ContainerTests.logs(env, name))")
            #expect(ContainerTests.wait { Self.container(env, name)?.state == .spilling })
            #expect(ContainerTests.wait { FileManager.default.fileExists(atPath: spill + "/data/log") }, "the held log never moved to the spill area")
            let servers = Self.servers(of: mountPoint)
            #expect(servers.count == 1, "servers: \(servers)")

            let grow = try env.daemon.spillway("grow", name, "--by", "256M")
            #expect(grow.status == 0, "\(grow)")
            let draining = ContainerTests.wait(seconds: 10) { Self.container(env, name)?.state == .draining }
            #expect(draining, "\(String(describing: Self.container(env, name)))")
            env.daemon.stop(kill: true)
            let before = try Self.exec(env, name, "wc -l < /data/log").stdout
            Thread.sleep(forTimeInterval: 1)
            let after = try Self.exec(env, name, "wc -l < /data/log; sha256sum /data/out.bin; cat /data/small/200")
            #expect(after.status == 0 && after.stdout.contains(expected + "  /data/out.bin") && after.stdout.hasSuffix("small 200\n"), "\(after)")
            #expect((Int(after.stdout.split(separator: "\n").first ?? "") ?? 0) > (Int(before.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0),
                    "the appender stalled without the daemon")

            try env.daemon.start()
            let resumed = try #require(Self.container(env, name))
            #expect(resumed.state == .draining && resumed.fuseMount == mountPoint, "\(resumed)")
            #expect(Self.servers(of: mountPoint) == servers, "the union was mounted again")
            #expect(try Self.mountCount(mountPoint) == 1)
            let movedBack = ContainerTests.wait(seconds: 60) {
                !FileManager.default.fileExists(atPath: spill + "/data/out.bin")
                    && ((try? FileManager.default.contentsOfDirectory(atPath: spill + "/data/small")) ?? []).isEmpty
            }
            #expect(movedBack, "the restarted daemon did not finish the drain: \(env.daemon.log().suffix(2000))")
            #expect(Self.container(env, name)?.state == .draining, "the drain ended while the log was held")

            #expect(try Self.exec(env, name, "echo > /data/stop").status == 0)
            #expect(ContainerTests.wait(seconds: 60) { Self.container(env, name)?.state == .normal }, "\(env.daemon.log().suffix(2000))")
            #expect((try? FileManager.default.contentsOfDirectory(atPath: spill)) == [], "the spill area still holds files")
            #expect(try ContainerTests.sha256(root + "/data/out.bin") == expected)
            for i in 1...200 {
                let small = try? String(contentsOfFile: root + "/data/small/\(i)", encoding: .utf8)
                #expect(small == "small \(i)\n", "small/\(i): \(String(describing: small))")
                if small != "small \(i)\n" { break }
            }
            let entries = try FileManager.default.subpathsOfDirectory(atPath: root + "/data")
            #expect(entries.count == 205, "not one entry each (temporary files left?): \(entries.filter { !$0.hasPrefix("small/") })")
            let count = Int((try? String(contentsOfFile: root + "/data/count", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
            #expect(count > 20, "the appender wrote \(count) lines")
            #expect((try? String(contentsOfFile: root + "/data/log", encoding: .utf8)) == Self.lines(count), "a line of the held log was lost or doubled")
            let logs = ContainerTests.logs(env, name)
            #expect(!logs.contains("failed"), "\(logs)")
            #expect(Self.servers(of: mountPoint) == servers)
        }
    }

    /// `kill -9` of the daemon while FUSE-mode containers run and write: their unions keep
    /// serving (no write fails), a container removed meanwhile leaves no union once the daemon
    /// is back, the restarted daemon takes the other up again (mode, mount, slot state) without
    /// a second mount or server, its union follows the slot the new daemon sets, and `docker rm
    /// -f` leaves nothing mounted.
    @Test func daemonKilledWhileFuseContainersRunPicksThemUp() throws {
        var runDir = ""
        try withContainerEnvironment { env in
            runDir = env.daemon.runDir
            try env.dockerd.importImage(try ContainerImages.busyboxStatic(), tag: Self.image)
            // 1 MiB a round for 60 rounds (past the 48 MiB quota), then 256 KiB; a line each round
            // to a log held open from the start.
            let writer = """
                mkdir -p /data; exec 3>>/data/log; i=0; \
                while [ ! -e /data/stop ]; do i=$((i+1)); n=1; [ $i -le 60 ] && n=4; \
                  dd if=/dev/urandom of=/data/part-$i bs=256k count=$n 2>/dev/null || echo "failed $i"; \
                  echo "line $i" >&3 || echo "append-failed $i"; echo $i > /data/progress; sleep 0.1; done; \
                exec 3>&-; echo $i > /data/count; echo writer-done; sleep 100000
                """
            let kept = try Self.startStatic(env, name: "k-fuse", writer)
            let gone = try Self.startStatic(env, name: "k-fuse-gone", "mkdir -p /data; while true; do echo x >> /data/log; sleep 0.2; done")
            let keptMount = Self.unionMountPoint(runDir, kept.id), goneMount = Self.unionMountPoint(runDir, gone.id)
            #expect(kept.fuseMount == keptMount && gone.fuseMount == goneMount, "\(kept) \(gone)")
            let spilling = ContainerTests.wait(seconds: 60) { Self.container(env, "k-fuse")?.state == .spilling }
            #expect(spilling, "\(String(describing: Self.container(env, "k-fuse")))\n\(ContainerTests.logs(env, "k-fuse"))")
            let keptServers = Self.servers(of: keptMount), goneServers = Self.servers(of: goneMount)
            #expect(keptServers.count == 1 && goneServers.count == 1, "servers: \(keptServers) \(goneServers)")

            env.daemon.stop(kill: true)
            // With the daemon gone the unions still serve: the writer goes on.
            let before = Int(try Self.exec(env, "k-fuse", "cat /data/progress").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            Thread.sleep(forTimeInterval: 2)
            let progressed = Int(try Self.exec(env, "k-fuse", "cat /data/progress").stdout.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            #expect(progressed > before + 5, "the writer stalled without the daemon: \(before) -> \(progressed)")
            #expect(keptServers.allSatisfy { kill($0, 0) == 0 }, "the FUSE server died with the daemon")
            // Removed while the daemon is down: its `delete` cannot reach the daemon.
            let removed = try env.dockerd.docker("rm", "-f", "k-fuse-gone")
            #expect(removed.status == 0, "\(removed)")

            try env.daemon.start()
            let report = try ContainerTests.status(env.daemon)
            let resumed = try #require(report.containers.first { $0.name == "k-fuse" }, "\(report)")
            #expect(resumed.mode == "fuse" && resumed.fuseMount == keptMount && resumed.state == .spilling, "\(resumed)")
            let slotPath = try #require(resumed.slotPath)
            let slot = try Command.check([Paths.spillway, "slot", "show", slotPath, "--json"])
            #expect(slot.contains("\"state\":\"spilling\""), "\(slot)")
            #expect(try Self.mountCount(keptMount) == 1, "\((try? Self.fuseMounts(under: runDir)) ?? [])")
            #expect(Self.servers(of: keptMount) == keptServers, "the union was mounted again")
            let cleaned = ContainerTests.wait {
                (try? Self.mountCount(goneMount)) == 0 && Self.servers(of: goneMount).isEmpty && Self.container(env, "k-fuse-gone") == nil
            }
            #expect(cleaned, "the union of the container removed meanwhile was left behind: \((try? Self.fuseMounts(under: runDir)) ?? [])")
            #expect(!FileManager.default.fileExists(atPath: goneMount))

            // The union follows the slot the restarted daemon sets: stop the writer, grow,
            // drain, and a new file lands on the main disk.
            #expect(try Self.exec(env, "k-fuse", "echo > /data/stop").status == 0)
            #expect(ContainerTests.wait { ContainerTests.logs(env, "k-fuse").contains("writer-done") })
            let grow = try env.daemon.spillway("grow", "k-fuse", "--by", "512M", "--wait")
            #expect(grow.status == 0 && grow.stdout.contains("drained k-fuse:"), "\(grow)\n\(env.daemon.log().suffix(2000))")
            #expect(Self.container(env, "k-fuse")?.state == .normal)
            let fresh = try Self.exec(env, "k-fuse", "echo fresh > /data/fresh && cat /data/fresh")
            #expect(fresh.status == 0 && fresh.stdout == "fresh\n", "\(fresh)")
            #expect(FileManager.default.fileExists(atPath: resumed.root + "/data/fresh"))
            #expect((try? FileManager.default.contentsOfDirectory(atPath: try #require(resumed.spillPath))) == [])
            let count = Int((try? String(contentsOfFile: resumed.root + "/data/count", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? -1
            #expect(count > 60, "the writer wrote \(count) rounds")
            #expect((try? String(contentsOfFile: resumed.root + "/data/log", encoding: .utf8)) == Self.lines(count), "a line was lost or doubled")
            let logs = ContainerTests.logs(env, "k-fuse")
            #expect(!logs.contains("failed"), "\(logs)")

            let rm = try env.dockerd.docker("rm", "-f", "k-fuse")
            #expect(rm.status == 0, "\(rm)")
            let unmounted = ContainerTests.wait { (try? Self.fuseMounts(under: runDir)) == [] && Self.servers(of: keptMount).isEmpty }
            #expect(unmounted, "\((try? Self.fuseMounts(under: runDir)) ?? []) servers \(Self.servers(of: keptMount))")
            #expect(!FileManager.default.fileExists(atPath: keptMount))
            #expect(ContainerTests.wait { Self.container(env, "k-fuse") == nil })
        }
        #expect(try Self.fuseMounts(under: runDir) == [], "a FUSE union was left mounted")
    }
}
