import Foundation
import SpillwayCore
import SpillwayTestSupport
import Testing

/// The daemon treats its own run and state files as untrusted: slots damaged behind its back
/// are repaired in place while it runs and after a restart, a refused `register` leaves
/// nothing behind, and what it keeps is private to root.
@Suite("Supervisor daemon: its own files", .serialized)
struct DaemonOwnFilesTests {
    static func status(_ daemon: DaemonFixture) throws -> StatusReport {
        let result = try daemon.spillway("status", "--json")
        guard result.status == 0 else { throw CommandFailure(argv: ["spillway", "status", "--json"], result: result) }
        return try JSONDecoder().decode(StatusReport.self, from: Data(result.stdout.utf8))
    }

    static func entries(_ path: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted()
    }

    static func mode(_ path: String) throws -> Int {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    /// Runs `body` with a started daemon and one registered container `id` (its root given).
    static func withDaemon(registering id: String, _ body: (DaemonFixture, String) throws -> Void) throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let daemon = try DaemonFixture()
        defer { daemon.destroy() }
        try daemon.start()
        let root = try daemon.makeContainer(id, limit: "64M")
        #expect(try daemon.spillway("register", id, "--root", root).status == 0)
        try body(daemon, root)
    }

    /// Every refused `register` (bad ids, `/`, the sub disk, Spillway's own directories, a
    /// symlink, a file, a managed root or one nested with it) exits non-zero with one line
    /// naming the input, and leaves no slot, row, partition or directory behind.
    @Test func refusedRegistrationsLeaveNothingBehind() throws {
        try Self.withDaemon(registering: "good") { daemon, root in
            let spare = try daemon.makeContainer("spare", limit: "64M")
            try FileManager.default.createDirectory(atPath: root + "/inner", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: daemon.sub.mountPoint + "/lost+found2", withIntermediateDirectories: true)
            // Someone's directory where the spill area of `late` would go: refused late, after
            // the slot and the row were made, which must go again (the directory stays).
            try FileManager.default.createDirectory(atPath: daemon.sub.mountPoint + "/late/keep", withIntermediateDirectories: true)
            let link = daemon.base + "/link-to-spare"
            try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: spare)
            let file = daemon.base + "/plain-file"
            try "x".write(toFile: file, atomically: false, encoding: .utf8)

            let slots = daemon.runDir + "/slots"
            let before = (slots: Self.entries(slots), spares: Self.entries(slots + "/.held"), sub: Self.entries(daemon.sub.mountPoint),
                          subvolumes: try Command.check(["btrfs", "subvolume", "list", daemon.sub.mountPoint]),
                          status: try Self.status(daemon).containers.map(\.id))
            #expect(before.slots == [".held", "good.slot"] && before.spares == ["good.slot"], "\(before)")

            let cases: [([String], String)] = [
                (["register", "--root", spare, "--", "-rf"], "container id '-rf' is not valid: it starts with '-'"),
                (["register", ".hidden", "--root", spare], "container id '.hidden' is not valid: it starts with '.'"),
                (["register", "a/b", "--root", spare], "container id 'a/b' is not valid: it contains '/'"),
                (["register", String(repeating: "x", count: 64), "--root", spare], "is 64 bytes long"),
                (["register", "root", "--root", "/"], "--root '/' is the host's root directory"),
                (["register", "sub", "--root", daemon.sub.mountPoint], "is the sub disk"),
                (["register", "sub2", "--root", daemon.sub.mountPoint + "/lost+found2"], "is inside the sub disk"),
                (["register", "run", "--root", daemon.runDir], "is the run directory"),
                (["register", "state", "--root", daemon.stateDir], "is the state directory"),
                (["register", "base", "--root", daemon.base], "contains the run directory"),
                (["register", "link", "--root", link], "is a symlink"),
                (["register", "file", "--root", file], "is not an existing directory"),
                (["register", "missing", "--root", daemon.base + "/none"], "is not an existing directory"),
                (["register", "again", "--root", root], "is managed already, as container 'good'"),
                (["register", "inner", "--root", root + "/inner"], "lies inside the root of managed container 'good'"),
                (["register", "outer", "--root", daemon.main.mountPoint], "contains the root of managed container 'good'"),
                (["register", "late", "--root", spare], "cannot manage 'late'"),
            ]
            for (arguments, message) in cases {
                let result = try Command.run([Paths.spillway, arguments[0], "--socket", daemon.socket] + arguments.dropFirst())
                #expect(result.status != 0, "\(arguments) was accepted")
                #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
                #expect(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1, "\(arguments): \(result.stderr)")
            }
            // The control API refuses a bad id itself (no client-side check in between).
            let direct = try Command.run(["curl", "-s", "--unix-socket", daemon.socket, "-X", "POST", "-H", "Content-Type: application/json",
                                          "-d", "{\"id\":\"-rf\",\"root\":\"\(spare)\"}", "http://localhost/v1/containers"])
            #expect(direct.stdout.contains("container id '-rf' is not valid"), "\(direct)")

            #expect(Self.entries(slots) == before.slots, "slots: \(Self.entries(slots))")
            #expect(Self.entries(slots + "/.held") == before.spares)
            #expect(Self.entries(daemon.sub.mountPoint) == before.sub, "sub disk: \(Self.entries(daemon.sub.mountPoint))")
            #expect(Self.entries(daemon.sub.mountPoint + "/late") == ["keep"], "someone else's directory is left alone")
            #expect(try Command.check(["btrfs", "subvolume", "list", daemon.sub.mountPoint]) == before.subvolumes)
            #expect(try Self.status(daemon).containers.map(\.id) == before.status)
            #expect(try daemon.spillway("events", "--json").stdout.components(separatedBy: "\"kind\":\"registered\"").count == 2, "one registration only")
            #expect(daemon.process?.isRunning == true)
        }
    }

    /// State and run directories are 0700, the database 0600; slots stay 0644 (containers read
    /// them through bind mounts) but no other user on the host reaches them.
    @Test func theDaemonsFilesArePrivate() throws {
        try Self.withDaemon(registering: "c1") { daemon, root in
            let slot = daemon.runDir + "/slots/c1.slot"
            #expect(try Self.mode(daemon.stateDir) == 0o700)
            #expect(try Self.mode(daemon.runDir) == 0o700)
            #expect(try Self.mode(daemon.runDir + "/slots") == 0o700)
            #expect(try Self.mode(daemon.runDir + "/slots/.held") == 0o700)
            for file in ["state.db", "state.db-wal", "state.db-shm"] where FileManager.default.fileExists(atPath: daemon.stateDir + "/" + file) {
                #expect(try Self.mode(daemon.stateDir + "/" + file) == 0o600, "\(file)")
            }
            #expect(try Self.mode(slot) == 0o644)
            for path in [slot, daemon.stateDir + "/state.db"] {
                let nobody = try Command.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "cat", path])
                #expect(nobody.status != 0 && nobody.stderr.contains("Permission denied"), "\(path): \(nobody)")
            }
        }
    }

    /// A slot truncated, overwritten with random bytes or replaced by a symlink while the daemon
    /// is stopped (SIGSTOP, so the preloaded shell meets the damage first): the daemon stays up,
    /// repairs it in place with an event, and the shell's next write lands in the spill area.
    @Test func damagedSlotsAreRepairedAndThePreloadLibraryFollows() throws {
        try Self.withDaemon(registering: "c1") { daemon, root in
            try FileManager.default.createDirectory(atPath: root + "/data", withIntermediateDirectories: true)
            try Command.check(["dd", "if=/dev/zero", "of=\(root)/fill", "bs=1M", "count=60", "status=none"])
            #expect(SlotTampering.wait { (try? Self.status(daemon).containers.first?.state) == .spilling })
            let managed = try #require(try Self.status(daemon).containers.first)
            let slot = try #require(managed.slotPath), spill = try #require(managed.spillPath)
            let inode = try SlotTampering.inode(slot)

            let shell = try TickShell.prepare(daemon.base + "/ctl")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", TickShell.script(data: root + "/data", ctlInside: shell.ctl)]
            process.environment = ["PATH": "/usr/bin:/bin", "LD_PRELOAD": Paths.shimBuild.path + "/preload/$LIB/libspillway.so",
                                   "SPILLWAY_SLOT": slot, "SPILLWAY_SPILL": spill, "SPILLWAY_ROOT": root]
            let log = daemon.base + "/shell.log"
            FileManager.default.createFile(atPath: log, contents: nil)
            let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            process.standardOutput = logHandle
            process.standardError = logHandle
            try process.run()
            defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) }; process.waitUntilExit() }
            func inSpill(_ n: Int) -> Bool { FileManager.default.fileExists(atPath: spill + "/data/f-\(n)") }
            func onMain(_ n: Int) -> Bool { FileManager.default.fileExists(atPath: root + "/data/f-\(n)") }
            #expect(try shell.tick(0))
            #expect(inSpill(0) && !onMain(0), "the library is active before")

            var n = 1
            for tampering in SlotTampering.allCases {
                try Self.damage(daemon, tampering, slot: slot) { () throws -> Void in
                    #expect(try shell.tick(n), "\(tampering)")
                    if tampering.leavesTheLibraryInactive {
                        #expect(onMain(n) && !inSpill(n), "\(tampering): the library acts as plain libc while the slot is damaged")
                    }
                }
                #expect(try shell.tick(n + 1), "\(tampering)")
                #expect(inSpill(n + 1) && !onMain(n + 1), "\(tampering): the library is active again at its next call")
                #expect(try SlotTampering.inode(slot) == inode, "\(tampering): repaired in place")
                n += 2
            }
            #expect(process.isRunning, "the shell never crashed: \(process.isRunning ? "" : "status \(process.terminationStatus), \(process.terminationReason == .uncaughtSignal ? "signal" : "exit")") \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")

            // Damaged while the daemon is down: repaired in place at its start, with an event.
            daemon.stop()
            try Command.check(["truncate", "-s", "0", slot])
            try daemon.start()
            #expect(try SlotTampering.inode(slot) == inode)
            #expect(try Command.check([Paths.spillway, "slot", "show", slot, "--json"]).contains("\"state\":\"spilling\""))
            #expect(try SlotTampering.repairs(daemon).last?.contains("\"reason\":\"truncated\"") == true)
            #expect(try shell.tick(n))
            #expect(inSpill(n) && !onMain(n))
        }
    }

    /// Stops the daemon (SIGSTOP), damages the slot, runs `meanwhile`, lets the daemon go on, and
    /// checks that it repaired the slot in place with one event and answers as before.
    static func damage(_ daemon: DaemonFixture, _ tampering: SlotTampering, slot: String, meanwhile: () throws -> Void) throws {
        let pid = try #require(daemon.process?.processIdentifier)
        let sentinel = daemon.base + "/sentinel"
        try "sentinel\n".write(toFile: sentinel, atomically: false, encoding: .utf8)
        let sentinelBefore = try FileManager.default.attributesOfItem(atPath: sentinel)[.modificationDate] as? Date
        let repairsBefore = try SlotTampering.repairs(daemon).count
        kill(pid, SIGSTOP)
        var resumed = false
        defer { if !resumed { kill(pid, SIGCONT) } }
        try tampering.apply(to: slot, sentinel: sentinel)
        try meanwhile()
        kill(pid, SIGCONT)
        resumed = true
        #expect(SlotTampering.wait { ((try? SlotTampering.repairs(daemon)) ?? []).count > repairsBefore }, "\(tampering): no slot_repaired event; \(daemon.log().suffix(2000))")
        let event = try SlotTampering.repairs(daemon).last ?? ""
        #expect(event.contains("\"reason\":\"\(tampering.reason)\""), "\(tampering): \(event)")
        #expect(event.contains(slot), "\(event)")
        #expect(daemon.process?.isRunning == true, "\(tampering): the daemon died")
        #expect(SlotTampering.isRegularFile(slot), "\(tampering)")
        #expect(try Command.check([Paths.spillway, "slot", "show", slot, "--json"]).contains("\"state\":\"spilling\""))
        #expect(try Self.status(daemon).containers.first?.state == .spilling)
        #expect(try String(contentsOfFile: sentinel, encoding: .utf8) == "sentinel\n", "the symlink's target is untouched")
        #expect(try FileManager.default.attributesOfItem(atPath: sentinel)[.modificationDate] as? Date == sentinelBefore)
    }
}
