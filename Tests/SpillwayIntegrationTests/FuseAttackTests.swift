import Foundation
import SpillwaySystem
import SpillwayTestSupport
import Testing

/// The FUSE server is root in the host's mount namespace working on trees a container controls
/// (issue #15, docs/SECURITY.md): whatever the container does to its spill area meanwhile, the
/// union must never change, open or make anything outside the container's trees.
@Suite("FUSE union under attack", .serialized)
struct FuseAttackTests {
    static let fixtures = Paths.packageRoot.appendingPathComponent("Tests/SpillwayIntegrationTests/Fixtures").path
    /// Directories of the container's main disk the worker works under (their spill-area
    /// halves are the racer's).
    static let raced = (0..<4).map { "/race/a\($0)/sub" }

    /// What a user would check of a host file: kind and mode, owner, times (ctime moves on any
    /// change of metadata), extended attributes, contents (a directory: its names).
    struct Snapshot: Equatable, CustomStringConvertible {
        var mode: mode_t = 0
        var owner: String = ""
        var times: String = ""
        var xattrs: [String: String] = [:]
        var contents: String = ""

        init(_ path: String) throws {
            var st = stat()
            guard lstat(path, &st) == 0 else { throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path]) }
            mode = st.st_mode
            owner = "\(st.st_uid):\(st.st_gid)"
            times = "mtime \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) ctime \(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)"
            let listed = try Command.check(["python3", "-c", Self.listXattrs, path])
            xattrs = try JSONDecoder().decode([String: String].self, from: Data(listed.utf8))
            if (st.st_mode & S_IFMT) == S_IFDIR {
                contents = try FileManager.default.contentsOfDirectory(atPath: path).sorted().joined(separator: ",")
            } else {
                contents = try String(contentsOfFile: path, encoding: .utf8)
            }
        }

        /// Prints the extended attributes of argv[1] itself as a JSON object.
        static let listXattrs = """
            import json, os, sys
            p = sys.argv[1]
            print(json.dumps({n: os.getxattr(p, n, follow_symlinks=False).decode(errors="replace") for n in os.listxattr(p, follow_symlinks=False)}))
            """

        var description: String { "mode \(String(mode, radix: 8)) owner \(owner) \(times) xattrs \(xattrs) contents \(contents.debugDescription)" }
    }

    /// Host files outside both trees, mode 0600 (the directories 0700), owner 1234:1235, old
    /// times, an extended attribute each, known contents; returns the paths the racer aims at.
    static func makeSentinels(_ scratch: String) throws -> [String] {
        let dir = scratch + "/dir", inner = scratch + "/dir/inner", file = scratch + "/file"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try "inner sentinel\n".write(toFile: inner, atomically: false, encoding: .utf8)
        try "file sentinel\n".write(toFile: file, atomically: false, encoding: .utf8)
        for (path, mode) in [(inner, "0600"), (file, "0600"), (dir, "0700"), (scratch, "0700")] {
            try Command.check(["chmod", mode, path])
            try Command.check(["chown", "1234:1235", path])
            try Command.check(["python3", "-c", "import os, sys; os.setxattr(sys.argv[1], 'user.sentinel', b'keep')", path])
            try Command.check(["touch", "-h", "-d", "2001-02-03 04:05:06", path])
        }
        return [file, dir, inner, scratch]
    }

    /// Builds the worker (static, for the container) and the racer (for the host) into `into`.
    static func buildPrograms(_ into: String) throws {
        try FileManager.default.createDirectory(atPath: into, withIntermediateDirectories: true)
        try Command.check(["cc", "-static", "-O2", "-o", into + "/fuse-attack-worker", fixtures + "/fuse_attack_worker.c"])
        try Command.check(["cc", "-O2", "-o", into + "/fuse-attack-racer", fixtures + "/fuse_attack_racer.c"])
    }

    /// A FUSE-mode container under a real dockerd is `spilling`; inside it a static
    /// program creates files, directories, FIFOs and symlinks under directories of its main disk
    /// (set-ID and 0777 modes it chose) and chmods, chowns, utimes and sets extended attributes on
    /// them through its union, so that the union keeps making their parents in the spill area. A
    /// racer works in the container's spill area meanwhile, as the container could: it keeps
    /// putting symlinks to host paths where the union makes those parents, and swaps the
    /// directories the union just made for such symlinks. Pass means the host sentinels (a
    /// directory, a file in it, a file beside it) keep their mode, owner, times, extended
    /// attributes, contents and entries, and the union still makes parents with the main disk's
    /// mode and owner.
    @Test func racersInTheSpillAreaNeverLeadTheUnionOutsideTheTrees() throws {
        try #require(getuid() == 0, "these tests run dockerd and mount loop devices: run them as root")
        try withContainerEnvironment { env in
            let programs = env.daemon.base + "/attack"
            try Self.buildPrograms(programs)
            try env.dockerd.importImage(try ContainerImages.busyboxStatic(), tag: FuseContainerTests.image)
            // The raced directories exist on the main disk with modes the container chose;
            // then the container fills its quota, so that it is `spilling`.
            let dirs = Self.raced.joined(separator: " ")
            let script = "mkdir -p \(dirs) && busybox chmod 6777 \(dirs) && busybox chown 1111:2222 \(dirs) && "
                + "dd if=/dev/urandom of=/fill bs=1M count=60 2>/dev/null; echo filled; sleep 100000"
            let name = "fuse-attack"
            let started = try FuseContainerTests.startStatic(env, name: name, volumes: [programs + ":/attack:ro"], script)
            let (root, spill) = (started.root, try #require(started.spillPath))
            #expect(ContainerTests.wait(seconds: 60) { ContainerTests.logs(env, name).contains("filled") }, "\(ContainerTests.logs(env, name))")
            let spilling = ContainerTests.wait(seconds: 60) { FuseContainerTests.container(env, name)?.state == .spilling }
            try #require(spilling, "\(String(describing: FuseContainerTests.container(env, name)))")

            let scratch = env.daemon.base + "/sentinels"
            let targets = try Self.makeSentinels(scratch)
            let watched = targets
            let before = try watched.map(Snapshot.init)

            // The racer works where the union makes the raced directories' spill-area halves.
            var pairs: [String] = []
            for (i, dir) in Self.raced.enumerated() {
                let inSpill = spill + dir
                try FileManager.default.createDirectory(atPath: (inSpill as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                pairs += [inSpill, targets[i % targets.count]]
            }
            let stop = env.daemon.base + "/attack-stop"
            let racer = Process()
            racer.executableURL = URL(fileURLWithPath: programs + "/fuse-attack-racer")
            racer.arguments = [stop] + pairs
            let racerOutput = Pipe()
            racer.standardOutput = racerOutput
            try racer.run()
            defer { if racer.isRunning { kill(racer.processIdentifier, SIGKILL); racer.waitUntilExit() } }

            let rounds = 12_000
            // A hang of the union would show as the worker's timeout (exit 124), not as a stuck test.
            let worker = try FuseContainerTests.exec(env, name, "busybox timeout 600 /attack/fuse-attack-worker \(rounds) \(dirs)")
            _ = FileManager.default.createFile(atPath: stop, contents: nil)
            racer.waitUntilExit()
            let racerIterations = Int(String(decoding: racerOutput.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            #expect(worker.status == 0, "\(worker)")
            let counts = worker.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            let (workerRounds, succeeded) = (counts.first ?? 0, counts.dropFirst().first ?? 0)
            #expect(workerRounds == rounds, "\(worker)")
            // The union served the worker's calls (those the racer did not make fail).
            #expect(succeeded > rounds, "only \(succeeded) calls through the union succeeded: \(worker)")
            print("FuseAttackTests: racer \(racerIterations) iterations, worker \(workerRounds) rounds, \(succeeded) calls through the union succeeded")
            #expect(racerIterations + workerRounds >= 100_000, "racer \(racerIterations) iterations, worker \(workerRounds) rounds")

            for (path, was) in zip(watched, before) {
                let now = try Snapshot(path)
                #expect(now.mode == was.mode, "\(path): mode \(String(was.mode, radix: 8)) became \(String(now.mode, radix: 8))")
                #expect(now.owner == was.owner, "\(path): owner \(was.owner) became \(now.owner)")
                #expect(now.times == was.times, "\(path): times \(was.times) became \(now.times)")
                #expect(now.xattrs == was.xattrs, "\(path): extended attributes \(was.xattrs) became \(now.xattrs)")
                #expect(now.contents == was.contents, "\(path): contents \(was.contents.debugDescription) became \(now.contents.debugDescription)")
            }

            // The union still makes parents in the spill area with the main disk's mode and owner,
            // once the kernel's 1 s entry cache has let go of what the racer's last moment showed
            // it (a name the racer had swapped for a symlink, or a negative entry below it).
            var made: HostCommand.Result?
            #expect(waitUntil(seconds: 10, every: 0.2) {
                made = try? FuseContainerTests.exec(env, name, "echo after > \(Self.raced[0])/after && cat \(Self.raced[0])/after")
                return made?.status == 0 && made?.stdout == "after\n"
            }, "\(String(describing: made))")
            var model = stat(), half = stat()
            #expect(lstat(root + Self.raced[0], &model) == 0 && lstat(spill + Self.raced[0], &half) == 0)
            #expect((half.st_mode & S_IFMT) == S_IFDIR && half.st_mode == model.st_mode, "spill half \(String(half.st_mode, radix: 8)), main \(String(model.st_mode, radix: 8))")
            #expect(half.st_uid == model.st_uid && half.st_gid == model.st_gid, "spill half \(half.st_uid):\(half.st_gid), main \(model.st_uid):\(model.st_gid)")
        }
    }

    /// A FIFO or a device node renamed over a spill-area file while the kernel still holds the
    /// name as a regular file (its 1 s entry and attribute cache), then opened through the
    /// union: the server, root on the host, must not open what is there now. The open fails
    /// with `ENXIO` at once; opened by name, the FIFO would block the caller and one of the
    /// union's workers for ever, the device node would be a host device served to the caller.
    @Test(arguments: ["fifo", "device"]) func aSpecialFileSwappedInUnderTheKernelIsNeverOpened(kind: String) throws {
        try #require(getuid() == 0, "this test mounts FUSE and must run as root")
        try withLoopFilesystems(["btrfs"], megabytes: 256) { filesystems in
            let base = filesystems[0].mountPoint
            for sub in ["tree", "spill"] { try FileManager.default.createDirectory(atPath: base + "/" + sub, withIntermediateDirectories: true) }
            try Command.check([Paths.spillway, "slot", "create", base + "/slot", "--state", "spilling"])
            let mount = try FuseUnionTests.Mount(tree: base + "/tree", spill: base + "/spill", slot: base + "/slot", at: base + "/union")
            defer { mount.unmount() }
            try "regular\n".write(toFile: base + "/spill/x", atomically: false, encoding: .utf8)
            let script = """
                import errno, os, stat, sys
                union, spill, kind = sys.argv[1:4]
                assert stat.S_ISREG(os.stat(union + "/x").st_mode)  # the kernel holds x as a regular file now
                special = spill + "/x.special"
                if kind == "fifo":
                    os.mkfifo(special, 0o644)
                else:
                    os.mknod(special, 0o644 | stat.S_IFCHR, os.makedev(1, 3))
                os.rename(special, spill + "/x")
                try:
                    fd = os.open(union + "/x", os.O_RDONLY)
                    print("opened", oct(os.fstat(fd).st_mode))
                except OSError as e:
                    print(errno.errorcode[e.errno])
                """
            let opener = Process()
            opener.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            opener.arguments = ["python3", "-c", script, mount.point, base + "/spill", kind]
            let output = Pipe()
            opener.standardOutput = output
            try opener.run()
            // A server blocked in the FIFO's open keeps the caller waiting in the kernel beyond
            // any signal: only the end of the server releases it.
            let answered = ContainerTests.wait(seconds: 20) { !opener.isRunning }
            if !answered, let server = FuseUnionTests.serverPid(of: mount.point) { kill(server, SIGKILL) }
            opener.waitUntilExit()
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(answered, "the open through the union hung: the server opened the \(kind)")
            #expect(opener.terminationStatus == 0 && printed == "ENXIO\n", "exit \(opener.terminationStatus): \(printed)")
            try #require(answered)
            // The union serves on.
            try "after\n".write(toFile: mount.point + "/after", atomically: false, encoding: .utf8)
            #expect(try String(contentsOfFile: mount.point + "/after", encoding: .utf8) == "after\n")
        }
    }
}
