import Foundation
import SpillwaySystem
import SpillwayTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The FUSE union (`spillway fuse mount`), which statically linked programs see instead of the
/// bare tree: real programs inside the mount behave as on a plain directory in every state, an
/// fsx-style checker finds no mismatch across state flips, two writers past a real btrfs quota
/// both end up in the moved file, and bad input leaves nothing mounted.
@Suite("FUSE union", .serialized)
struct FuseUnionTests {
    /// A union mounted by `spillway fuse mount` (in the background, as an operator runs it),
    /// unmounted by ``unmount()`` or, whatever the test did, when it goes.
    final class Mount {
        let point: String
        private var mounted = true

        init(tree: String, spill: String, slot: String, at point: String) throws {
            self.point = point
            try FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
            let result = try Command.run([Paths.spillway, "fuse", "mount", "--tree", tree, "--spill", spill, "--slot", slot, point])
            guard result.status == 0 else {
                mounted = false
                throw CommandFailure(argv: ["spillway", "fuse", "mount", point], result: result)
            }
            #expect(result.stdout.isEmpty && result.stderr.isEmpty, "mount printed something: \(result)")
            #expect(FuseUnionTests.isMounted(point), "the mount returned before the union was up")
        }

        func unmount() {
            guard mounted else { return }
            mounted = false
            for _ in 0..<50 {
                if (try? Command.run([Paths.spillway, "fuse", "unmount", point]))?.status == 0 { break }
                Thread.sleep(forTimeInterval: 0.1)
            }
            if FuseUnionTests.isMounted(point) { _ = try? Command.run(["umount", "-l", point]) }
        }

        deinit { unmount() }
    }

    static func isMounted(_ point: String) -> Bool {
        LoopFilesystem.mountPoints().contains(point)
    }

    // MARK: - Parity with a plain directory

    /// Every scenario of the preload library's parity table (real programs: coreutils, sh, tar,
    /// gzip, python3, sqlite3, git and the C probes) run inside the mount while `normal`,
    /// `spilling` and `draining`, compared with the same script on a plain directory.
    @Test(arguments: ParityTests.Group.allCases)
    func parity(group: ParityTests.Group) throws {
        try #require(getuid() == 0, "these tests mount loop filesystems and FUSE and must run as root")
        let parity = ParityTests()
        try withLoopFilesystems(["btrfs", "ext4"], megabytes: 512) { filesystems in
            let home = filesystems[1].mountPoint + "/home"
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            try "[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n[pack]\n\tthreads = 1\n"
                .write(toFile: home + "/gitconfig", atomically: true, encoding: .utf8)
            let layout = ParityTests.Layout(main: filesystems[0], sub: filesystems[1], home: home, slots: [:])
            let probe = filesystems[0].mountPoint + "/start"
            try ParityTests.fixture.materialise(tree: probe + "/tree", spill: filesystems[1].mountPoint + "/start", split: true)
            let startMain = TreeSnapshot(root: probe + "/tree")
            let scenarios = group.scenarios
            let plain = try scenarios.enumerated().map { index, scenario in
                try parity.run(scenario, index: index, group: group, mode: .plain, layout: layout)
            }
            var failures = 0
            for mode in [ParityTests.Mode.normal, .spilling, .draining] {
                let name = "fuse-\(group.rawValue)-\(mode.rawValue)"
                let tree = filesystems[0].mountPoint + "/" + name, spill = filesystems[1].mountPoint + "/" + name
                let slot = filesystems[1].mountPoint + "/slot-" + name
                try Command.check([Paths.spillway, "slot", "create", slot, "--state", mode.rawValue])
                for index in scenarios.indices {
                    try ParityTests.fixture.materialise(tree: "\(tree)/\(index)/tree", spill: "\(spill)/\(index)/tree",
                                                        split: mode != .normal)
                }
                let point = filesystems[1].mountPoint + "/union-" + name
                let mount = try Mount(tree: tree, spill: spill, slot: slot, at: point)
                defer { mount.unmount() }
                for (index, scenario) in scenarios.enumerated() {
                    let outcome = try run(scenario, in: "\(point)/\(index)/tree", output: "\(tree)/\(index)",
                                          branches: ("\(tree)/\(index)/tree", "\(spill)/\(index)/tree"), parity: parity, layout: layout)
                    var found = parity.problems(outcome, plain: plain[index], mode: mode, scenario: scenario, startMain: startMain)
                    if !Self.isMounted(point) { found.append("the union is no longer mounted") }
                    if !found.isEmpty {
                        failures += 1
                        Issue.record("FUSE \(group.rawValue) / \(scenario.name) [\(mode.rawValue)]:\n\(found.joined(separator: "\n"))\nscript: \(scenario.script)")
                    }
                }
            }
            #expect(failures == 0, "\(failures) of \(scenarios.count * 3) runs through FUSE differ from a plain directory")
        }
    }

    /// One scenario inside the mount at `tree` (its output files in `output`, outside the union).
    func run(_ scenario: ParityTests.Scenario, in tree: String, output: String, branches: (main: String, spill: String),
             parity: ParityTests, layout: ParityTests.Layout) throws -> ParityTests.Outcome {
        let env = parity.environment(.plain, tree: tree, spill: branches.spill, layout: layout)
        let wrapper = "{ /bin/sh -c \"$1\"; echo $? > \"$2/rc\"; } > \"$2/out\" 2> \"$2/err\" < /dev/null; cd \"$3\" && {\n\(ParityTests.observer)\n}"
        let observed = try Command.run(["/bin/sh", "-c", wrapper, "sh", scenario.script, output, tree], environment: env, directory: tree)
        func read(_ name: String) -> String { (try? String(contentsOfFile: output + "/" + name, encoding: .utf8)) ?? "" }
        let status = Int32(read("rc").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        func normalise(_ text: String) -> String { text.replacingOccurrences(of: tree, with: "$T") }
        return ParityTests.Outcome(status: status, stdout: normalise(read("out")), stderr: normalise(read("err")),
                                   observed: normalise(observed.stdout + observed.stderr),
                                   main: TreeSnapshot(root: branches.main), spill: TreeSnapshot(root: branches.spill), tree: tree)
    }

    // MARK: - Randomized checking

    /// fsx-union: 100,000 writes, truncates, reads, mmap reads, renames, fsyncs and reopens
    /// from two descriptors, with the slot flipped to `spilling`, `draining` and back midway.
    @Test func fsxFindsNoMismatchAcrossStateFlips() throws {
        try #require(getuid() == 0, "this test mounts loop filesystems and FUSE and must run as root")
        try withLoopFilesystems(["btrfs", "ext4"], megabytes: 256) { filesystems in
            let tree = filesystems[0].mountPoint + "/tree", spill = filesystems[1].mountPoint + "/spill"
            try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: spill, withIntermediateDirectories: true)
            let slot = filesystems[1].mountPoint + "/slot"
            try Command.check([Paths.spillway, "slot", "create", slot])
            let mount = try Mount(tree: tree, spill: spill, slot: slot, at: filesystems[1].mountPoint + "/union")
            defer { mount.unmount() }
            let seed = ProcessInfo.processInfo.environment["FSX_SEED"] ?? "20261202"
            let result = try Command.run([Paths.testProgram("fsx-union"), mount.point, slot, tree, spill, seed, "100000"])
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("100000 operations, no mismatch"), "\(result)")
        }
    }

    /// A ``QuotaStage`` for `body(tree, spill, slot path, scratch directory on the sub disk)`.
    static func withQuotaStage(limit: String, subMegabytes: Int, _ body: (String, String, String, String) throws -> Void) throws {
        try #require(getuid() == 0, "this test mounts loop filesystems and FUSE and must run as root")
        try SpillwayTestSupport.withQuotaStage(limit: limit, subMegabytes: subMegabytes) { stage in
            try body(stage.tree, stage.spill, stage.sub.mountPoint + "/slot", stage.sub.mountPoint)
        }
    }

    // MARK: - Writers past a real quota

    /// Two processes hold one main-disk file open through the union and keep writing past the
    /// btrfs qgroup limit with the slot `normal`: the union moves the file to the spill area
    /// and re-points both handles, so every byte of both lands in the moved file.
    @Test func twoWritersPastTheQuotaBothLandInTheMovedFile() throws {
        try Self.withQuotaStage(limit: "48M", subMegabytes: 512) { tree, spill, slot, scratch in
            try Command.check([Paths.spillway, "slot", "create", slot, "--state", "normal"])
            // The file starts on the main disk with 1 MiB in it.
            let chunk = 1 << 20, chunks = 80
            func pattern(_ index: Int) -> Data {
                Data((0..<chunk).map { UInt8(truncatingIfNeeded: ($0 &* 7) &+ index &* 13 &+ 1) })
            }
            try FileManager.default.createDirectory(atPath: tree + "/data", withIntermediateDirectories: true)
            try pattern(999).write(to: URL(fileURLWithPath: tree + "/data/shared"))
            let mount = try Mount(tree: tree, spill: spill, slot: slot, at: scratch + "/union")
            defer { mount.unmount() }
            // Each writer opens the file, waits until both have it open, then writes its chunks.
            let writer = """
                import os, sys, time
                tag, path, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3]
                fd = os.open(path, os.O_RDWR)
                open(ready + str(tag), 'w').close()
                while not all(os.path.exists(ready + str(t)) for t in (0, 1)): time.sleep(0.01)
                size = 1 << 20
                for index in range(tag, \(chunks), 2):
                    data = bytes(((i * 7) + index * 13 + 1) & 0xff for i in range(size))
                    done = 0
                    while done < size:
                        done += os.pwrite(fd, data[done:], index * size + done)
                os.fsync(fd)
                os.close(fd)
                print('wrote', tag)
                """
            let ready = scratch + "/ready-"
            // Two processes, started and waited for by Python (a shell's `wait` can hang on the
            // signal mask a test runner's thread passes on).
            let driver = "import subprocess, sys; ps = [subprocess.Popen([sys.executable, '-c', sys.argv[1], str(t), sys.argv[2], sys.argv[3]]) for t in (0, 1)]; print('rc', *[p.wait() for p in ps])"
            let result = try Command.run(["python3", "-c", driver, writer, mount.point + "/data/shared", ready])
            #expect(result.stdout.contains("rc 0 0"), "a writer failed: \(result)")
            #expect(!FileManager.default.fileExists(atPath: tree + "/data/shared"), "the main-disk copy is still there")
            #expect(FileManager.default.fileExists(atPath: spill + "/data/shared"), "the file did not move to the spill area")
            var expected = Data(capacity: chunk * chunks)
            for index in 0..<chunks { expected.append(pattern(index)) }
            let moved = FileManager.default.contents(atPath: spill + "/data/shared") ?? Data()
            #expect(moved.count == expected.count, "the moved file has \(moved.count) bytes, expected \(expected.count)")
            if moved != expected, moved.count == expected.count {
                let wrong = (0..<chunks).filter { moved[($0 * chunk)..<(($0 + 1) * chunk)] != expected[($0 * chunk)..<(($0 + 1) * chunk)] }
                Issue.record("chunks with the wrong bytes: \(wrong)")
            }
            let through = FileManager.default.contents(atPath: mount.point + "/data/shared") ?? Data()
            #expect(through == expected, "reading through the union gives other bytes")
            // No move leftovers, and the origin mark is hidden from the container.
            let names = (try? FileManager.default.contentsOfDirectory(atPath: spill + "/data")) ?? []
            #expect(names == ["shared"], "spill area holds \(names)")
            let xattrs = try Command.run(["python3", "-c", "import os,sys; print(os.listxattr(sys.argv[1]))", mount.point + "/data/shared"])
            #expect(!xattrs.stdout.contains("spillway"), "\(xattrs)")
        }
    }

    /// With the main disk's quota already used up by a file outside the union and the slot
    /// `normal`, new directories and files made through the union still work: they land in the
    /// spill area, whole, and read back through the union.
    @Test func newNamesOnAFullMainDiskLandInTheSpillArea() throws {
        try Self.withQuotaStage(limit: "16M", subMegabytes: 256) { tree, spill, slot, scratch in
            try Command.check([Paths.spillway, "slot", "create", slot])
            // Fill the quota outside the union (dd stops at EDQUOT).
            let filler = try Command.run(["dd", "if=/dev/urandom", "of=\(tree)/filler", "bs=1M", "count=64", "conv=fsync", "status=none"])
            #expect(filler.status != 0 && filler.stderr.contains("quota"), "the quota did not stop dd: \(filler)")
            let mount = try Mount(tree: tree, spill: spill, slot: slot, at: scratch + "/union")
            defer { mount.unmount() }
            let script = "mkdir -p new/deeper && dd if=/dev/urandom of=new/deeper/data bs=1M count=8 status=none && sha256sum new/deeper/data && echo done"
            let result = try Command.run(["/bin/sh", "-c", script], directory: mount.point)
            #expect(result.status == 0 && result.stdout.contains("done"), "\(result)")
            #expect(!FileManager.default.fileExists(atPath: tree + "/new/deeper/data"), "the file stayed on the full main disk")
            #expect(FileManager.default.fileExists(atPath: spill + "/new/deeper/data"), "the file is not in the spill area")
            let inSpill = try Command.run(["sha256sum", spill + "/new/deeper/data"])
            let hash = result.stdout.split(separator: " ").first.map(String.init) ?? "?"
            #expect(inSpill.stdout.hasPrefix(hash), "the spill area's copy differs from what was written: \(inSpill) vs \(hash)")
        }
    }

    // MARK: - Hard links

    /// Every name of a hard-linked file shows a change made through another at once (libfuse
    /// gives each name its own kernel inode, cached for 1 s): the same script, each step within
    /// milliseconds of the last, prints the same lines inside the mount as on a plain directory.
    @Test func hardLinkedNamesShowAChangeThroughAnotherAtOnce() throws {
        try #require(getuid() == 0, "this test mounts loop filesystems and FUSE and must run as root")
        let script = """
            import os, sys
            d = sys.argv[1]
            os.mkdir(d + '/sub')
            with open(d + '/a', 'w') as f: f.write('hello world')
            os.link(d + '/a', d + '/sub/b')
            def show(step, name):
                st = os.stat(d + '/' + name)
                print(step, name, oct(st.st_mode & 0o7777), st.st_size, st.st_nlink, st.st_uid)
            for name in ('a', 'sub/b'): show('linked', name)
            os.chmod(d + '/a', 0o600); show('chmod', 'sub/b')
            os.chown(d + '/sub/b', 1234, -1); show('chown', 'a')
            os.truncate(d + '/a', 2); show('truncate', 'sub/b')
            fd = os.open(d + '/sub/b', os.O_WRONLY | os.O_APPEND); os.write(fd, b'xyz'); os.close(fd); show('write', 'a')
            with open(d + '/a') as f: print('read', f.read())
            os.link(d + '/sub/b', d + '/c'); show('link', 'a')
            os.unlink(d + '/c'); show('unlink', 'sub/b')
            os.rename(d + '/sub', d + '/moved'); show('rename', 'moved/b')
            os.chmod(d + '/a', 0o640); show('chmod-after-rename', 'moved/b')
            os.unlink(d + '/a'); show('unlink-other', 'moved/b')
            """
        try withLoopFilesystems(["btrfs", "ext4"], megabytes: 256) { filesystems in
            let tree = filesystems[0].mountPoint + "/tree", spill = filesystems[1].mountPoint + "/spill"
            let plain = filesystems[0].mountPoint + "/plain"
            for dir in [tree, spill, plain] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            let slot = filesystems[1].mountPoint + "/slot"
            try Command.check([Paths.spillway, "slot", "create", slot])
            let mount = try Mount(tree: tree, spill: spill, slot: slot, at: filesystems[1].mountPoint + "/union")
            defer { mount.unmount() }
            let expected = try Command.run(["python3", "-c", script, plain])
            #expect(expected.status == 0 && expected.stdout.contains("unlink-other moved/b 0o640 5 1 1234"), "\(expected)")
            let union = try Command.run(["python3", "-c", script, mount.point])
            #expect(union.status == 0, "\(union)")
            #expect(union.stdout == expected.stdout, "through the union:\n\(union.stdout)\non a plain directory:\n\(expected.stdout)")
        }
    }

    // MARK: - The serving process

    /// The pid of the process serving the union at `point` (its command line ends with it).
    static func serverPid(of point: String) -> pid_t? {
        HostCommand.processes(mentioning: " " + point).first
    }

    /// Whether `pid` runs (exists and is not a zombie waiting for its parent).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.range(of: ")") else { return false }
        return stat[close.upperBound...].split(separator: " ").first != "Z"
    }

    /// CPU time `pid` has used, in clock ticks (utime + stime of /proc/PID/stat).
    static func cpuTicks(_ pid: pid_t) throws -> Int {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // The fields after the command name, which is in parentheses and may hold spaces.
        let fields = stat[stat.range(of: ")")!.upperBound...].split(separator: " ")
        return Int(fields[11])! + Int(fields[12])!
    }

    /// A quiet union costs nothing: after a burst of metadata calls (its workers poll
    /// /dev/fuse while calls come back to back) the serving process uses no CPU while idle.
    @Test func anIdleUnionUsesNoCPUAfterABurst() throws {
        try #require(getuid() == 0, "this test mounts FUSE and must run as root")
        try withLoopFilesystems(["btrfs"], megabytes: 256) { filesystems in
            let base = filesystems[0].mountPoint
            for sub in ["tree", "spill"] { try FileManager.default.createDirectory(atPath: base + "/" + sub, withIntermediateDirectories: true) }
            try Command.check([Paths.spillway, "slot", "create", base + "/slot", "--state", "spilling"])
            let mount = try Mount(tree: base + "/tree", spill: base + "/spill", slot: base + "/slot", at: base + "/union")
            defer { mount.unmount() }
            let server = try #require(Self.serverPid(of: mount.point), "no process serves \(mount.point)")
            // 3,000 creates, getxattrs and unlinks: each a FUSE request the kernel cannot answer.
            let burst = """
                import os, sys
                d = sys.argv[1]
                for i in range(1000):
                    p = os.path.join(d, "f%d" % i)
                    open(p, "w").close()
                    try: os.getxattr(p, "user.none")
                    except OSError: pass
                    os.unlink(p)
                print("done")
                """
            let busyBefore = try Self.cpuTicks(server)
            #expect(try Command.check(["python3", "-c", burst, mount.point]) == "done\n")
            let busy = try Self.cpuTicks(server) - busyBefore
            Thread.sleep(forTimeInterval: 0.3)
            let idleBefore = try Self.cpuTicks(server)
            Thread.sleep(forTimeInterval: 3)
            let idle = try Self.cpuTicks(server) - idleBefore
            // A tick is 10 ms: at most 0.7 % of one CPU over 3 s.
            #expect(idle <= 2, "the serving process used \(idle) ticks in 3 s idle (\(busy) during the burst)")
        }
    }

    /// `spillway fuse mount` serves until SIGTERM (as `kill` sends it): then it unmounts and exits.
    @Test func sigtermUnmountsAndEndsTheServer() throws {
        try #require(getuid() == 0, "this test mounts FUSE and must run as root")
        try withLoopFilesystems(["btrfs"], megabytes: 256) { filesystems in
            let base = filesystems[0].mountPoint
            for sub in ["tree", "spill"] { try FileManager.default.createDirectory(atPath: base + "/" + sub, withIntermediateDirectories: true) }
            try Command.check([Paths.spillway, "slot", "create", base + "/slot"])
            let mount = try Mount(tree: base + "/tree", spill: base + "/spill", slot: base + "/slot", at: base + "/union")
            defer { mount.unmount() }
            try "kept\n".write(toFile: mount.point + "/note", atomically: false, encoding: .utf8)
            let server = try #require(Self.serverPid(of: mount.point), "no process serves \(mount.point)")
            #expect(kill(server, SIGTERM) == 0)
            var gone = false
            for _ in 0..<100 where !gone {
                Thread.sleep(forTimeInterval: 0.05)
                gone = !Self.isRunning(server) && !Self.isMounted(mount.point)
            }
            #expect(gone, "after SIGTERM: server running \(Self.isRunning(server)), mounted \(Self.isMounted(mount.point))")
            #expect(try String(contentsOfFile: base + "/tree/note", encoding: .utf8) == "kept\n")
        }
    }

    /// The slot is a host file the supervisor does not trust: truncated to nothing while the
    /// union serves and spills, it must not end the server (a SIGBUS on its mapping would, and
    /// every process using the union would get ENOTCONN). The union fails open meanwhile (new
    /// names on the main disk) and spills again once the slot is rewritten in place.
    @Test func aTruncatedSlotNeverEndsTheServer() throws {
        try #require(getuid() == 0, "this test mounts FUSE and must run as root")
        try withLoopFilesystems(["btrfs"], megabytes: 256) { filesystems in
            let base = filesystems[0].mountPoint
            for sub in ["tree", "spill"] { try FileManager.default.createDirectory(atPath: base + "/" + sub, withIntermediateDirectories: true) }
            let slot = base + "/slot", healthy = base + "/healthy-slot"
            try Command.check([Paths.spillway, "slot", "create", slot, "--state", "spilling"])
            try Command.check([Paths.spillway, "slot", "create", healthy, "--state", "spilling"])
            let inode = try #require(try FileManager.default.attributesOfItem(atPath: slot)[.systemFileNumber] as? UInt64)
            let mount = try Mount(tree: base + "/tree", spill: base + "/spill", slot: slot, at: base + "/union")
            defer { mount.unmount() }
            let server = try #require(Self.serverPid(of: mount.point), "no process serves \(mount.point)")
            try "one\n".write(toFile: mount.point + "/before", atomically: false, encoding: .utf8)
            #expect(FileManager.default.fileExists(atPath: base + "/spill/before"), "spilling: a new name goes to the spill area")

            try Command.check(["truncate", "-s", "0", slot])
            try "two\n".write(toFile: mount.point + "/while-truncated", atomically: false, encoding: .utf8)
            #expect(Self.isRunning(server), "the server died on the truncated slot")
            #expect(FileManager.default.fileExists(atPath: base + "/tree/while-truncated"), "no slot: the union fails open to the main disk")
            #expect(try String(contentsOfFile: mount.point + "/before", encoding: .utf8) == "one\n")

            // Repaired in place, as the supervisor does: the same inode holds a slot again.
            try Command.check(["cp", healthy, slot])
            #expect(try FileManager.default.attributesOfItem(atPath: slot)[.systemFileNumber] as? UInt64 == inode)
            var spilledAgain = false
            for attempt in 0..<200 where !spilledAgain {
                let name = "after-\(attempt)"
                try "three\n".write(toFile: mount.point + "/" + name, atomically: false, encoding: .utf8)
                spilledAgain = FileManager.default.fileExists(atPath: base + "/spill/" + name)
                if !spilledAgain { usleep(5_000) }
            }
            #expect(spilledAgain, "the union never read the repaired slot again")
            #expect(Self.isRunning(server) && Self.isMounted(mount.point))
        }
    }

    // MARK: - Bad input

    struct BadInput: Sendable, CustomTestStringConvertible {
        let name: String
        /// What the message must name.
        let mentions: String
        let arguments: @Sendable (_ dir: String) -> [String]
        var testDescription: String { name }
    }

    static let badInputs: [BadInput] = [
        BadInput(name: "missing tree", mentions: "--tree") { d in ["--tree", d + "/nope", "--spill", d + "/spill", "--slot", d + "/slot", d + "/mnt"] },
        BadInput(name: "tree is a file", mentions: "--tree") { d in ["--tree", d + "/file", "--spill", d + "/spill", "--slot", d + "/slot", d + "/mnt"] },
        BadInput(name: "missing spill", mentions: "--spill") { d in ["--tree", d + "/tree", "--spill", d + "/nope", "--slot", d + "/slot", d + "/mnt"] },
        BadInput(name: "spill is the tree", mentions: "--spill") { d in ["--tree", d + "/tree", "--spill", d + "/tree", "--slot", d + "/slot", d + "/mnt"] },
        BadInput(name: "missing slot", mentions: "--slot") { d in ["--tree", d + "/tree", "--spill", d + "/spill", "--slot", d + "/nope", d + "/mnt"] },
        BadInput(name: "slot of the wrong size", mentions: "--slot") { d in ["--tree", d + "/tree", "--spill", d + "/spill", "--slot", d + "/file", d + "/mnt"] },
        BadInput(name: "slot with a bad magic", mentions: "--slot") { d in ["--tree", d + "/tree", "--spill", d + "/spill", "--slot", d + "/page", d + "/mnt"] },
        BadInput(name: "mount point missing", mentions: "MOUNTPOINT") { d in ["--tree", d + "/tree", "--spill", d + "/spill", "--slot", d + "/slot", d + "/nope"] },
        BadInput(name: "mount point is a file", mentions: "MOUNTPOINT") { d in ["--tree", d + "/tree", "--spill", d + "/spill", "--slot", d + "/slot", d + "/file"] },
        BadInput(name: "polling window too long", mentions: "--poll-us 5000") { d in ["--poll-us", "5000", "--tree", d + "/tree", "--spill", d + "/spill", "--slot", d + "/slot", d + "/mnt"] },
        BadInput(name: "negative polling window", mentions: "--poll-us -1") { d in ["--poll-us=-1", "--tree", d + "/tree", "--spill", d + "/spill", "--slot", d + "/slot", d + "/mnt"] },
    ]

    @Test(arguments: badInputs)
    func badInputGetsOneLineAndMountsNothing(_ input: BadInput) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-fuse-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for sub in ["tree", "spill", "mnt"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + sub, withIntermediateDirectories: true)
        }
        try "not a slot\n".write(toFile: dir + "/file", atomically: true, encoding: .utf8)
        try Data(count: 4096).write(to: URL(fileURLWithPath: dir + "/page"))
        try Command.check([Paths.spillway, "slot", "create", dir + "/slot"])
        let result = try Command.run([Paths.spillway, "fuse", "mount"] + input.arguments(dir))
        defer { if Self.isMounted(dir + "/mnt") { _ = try? Command.run(["umount", "-l", dir + "/mnt"]) } }
        #expect(result.status != 0, "\(result)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "expected one line: \(result)")
        #expect(result.stderr.contains(input.mentions), "the message does not name \(input.mentions): \(result)")
        #expect(result.stdout.isEmpty)
        #expect(!Self.isMounted(dir + "/mnt"), "something was mounted")
    }

    @Test func unmountOfANonMountSaysSo() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-fuse-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let result = try Command.run([Paths.spillway, "fuse", "unmount", dir])
        #expect(result.status != 0)
        #expect(result.stderr.contains("MOUNTPOINT \(dir)") && result.stderr.split(separator: "\n").count == 1, "\(result)")
    }
}
