import Foundation
import SpillwayCore
import SpillwaySystem
import SpillwayTestSupport
import Testing

/// A process that is not root, on the host (no Docker): the daemon serves a registered tree
/// under a btrfs qgroup, and a program run as uid 65534 (setpriv) with the preload library writes
/// past the quota into new files in an existing and a new directory. The parents it needs in the
/// spill area (root's /tmp, 1777) are made by the supervisor through the ask socket.
@Suite("Non-root processes on the host", .serialized)
struct NonRootHostTests {
    /// The slot and ask directory live in the daemon's run_dir (0700): in a container they are
    /// bind-mounted; here they are too, read-only, at a place uid 65534 can reach.
    struct View {
        let base: String
        var slot: String { base + "/slot" }
        var ask: String { base + "/ask" }
        var mounted: [String] = []

        init(base: String) { self.base = base }

        mutating func bind(_ source: String, _ target: String, file: Bool) throws {
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
            if file { FileManager.default.createFile(atPath: target, contents: nil) } else {
                try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            }
            try Command.check(["mount", "--bind", source, target])
            mounted.append(target)
            try Command.check(["mount", "-o", "remount,bind,ro", target])
        }

        func unmount() {
            for target in mounted.reversed() { _ = try? Command.run(["umount", target]) }
        }
    }

    static func status(_ daemon: DaemonFixture) throws -> StatusReport {
        try JSONDecoder().decode(StatusReport.self, from: Data(try daemon.spillway("status", "--json").stdout.utf8))
    }

    static func sha256(_ path: String) throws -> String { String(try Command.check(["sha256sum", path]).prefix(64)) }

    /// Runs `script` as uid 65534 under the library with the container's slot, spill area and
    /// (unless `ask` is false) ask socket.
    static func asNobody(_ script: String, root: String, spill: String, view: View, ask: Bool = true) throws -> CommandResult {
        var environment = ["LD_PRELOAD": Paths.glibcLibrary, "SPILLWAY_SLOT": view.slot, "SPILLWAY_SPILL": spill,
                           "SPILLWAY_ROOT": root, "SPILLWAY_DEBUG": "1"]
        if ask { environment["SPILLWAY_ASK"] = view.ask + "/sock" }
        return try Command.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sh", "-c", script], environment: environment)
    }

    /// A registered tree: `/tmp` (root, 1777) with an existing directory of uid 65534's in it.
    static func prepare(_ daemon: DaemonFixture, id: String, limit: String) throws -> (root: String, spill: String, status: ContainerStatus) {
        let root = try daemon.makeContainer(id, limit: limit)
        try Command.check(["chmod", "0755", root])
        try Command.check(["mkdir", "-m", "1777", root + "/tmp"])
        try Command.check(["install", "-d", "-o", "65534", "-g", "65534", "-m", "0750", root + "/tmp/mine"])
        let registered = try daemon.spillway("register", id, "--root", root)
        try #require(registered.status == 0, "\(registered)")
        let status = try #require(try Self.status(daemon).containers.first { $0.id == id })
        return (root, try #require(status.spillPath), status)
    }

    @Test func nobodyWritesPastTheQuotaIntoNewAndExistingDirectories() throws {
        let daemon = try DaemonFixture()
        defer { daemon.destroy() }
        try daemon.start()
        let (root, spill, status) = try Self.prepare(daemon, id: "nobody1", limit: "48M")
        // The spill area's top took the root's owner and mode.
        var top = stat()
        #expect(lstat(spill, &top) == 0 && top.st_mode & 0o7777 == 0o755 && top.st_uid == 0)
        var view = View(base: daemon.base + "/view")
        defer { view.unmount() }
        try view.bind(try #require(status.slotPath), view.slot, file: true)
        try view.bind(try #require(status.askDirectory), view.ask, file: false)

        let source = daemon.base + "/source.bin"
        try Command.check(["dd", "if=/dev/urandom", "of=" + source, "bs=1M", "count=40", "status=none"])
        try Command.check(["chmod", "0644", source])
        let expected = try Self.sha256(source)
        // 3 × 40 MiB into a 48 MiB quota: dd into the existing directory, cp into a new one,
        // python3 appending in a new directory below it.
        let script = """
            set -e
            dd if=\(source) of=\(root)/tmp/mine/dd.bin bs=1M status=none
            mkdir \(root)/tmp/new
            cp \(source) \(root)/tmp/new/cp.bin
            python3 -c 'import os,sys; os.makedirs(sys.argv[2]); open(sys.argv[2] + "/py.bin", "ab").write(open(sys.argv[1], "rb").read())' \(source) \(root)/tmp/new/deeper
            sha256sum \(root)/tmp/mine/dd.bin \(root)/tmp/new/cp.bin \(root)/tmp/new/deeper/py.bin
            """
        let result = try Self.asNobody(script, root: root, spill: spill, view: view)
        #expect(result.status == 0, "\(result)\n\(daemon.log().suffix(2000))")
        #expect(!result.stderr.contains("spillway: cannot help"), "\(result)")
        for name in ["tmp/mine/dd.bin", "tmp/new/cp.bin", "tmp/new/deeper/py.bin"] {
            #expect(result.stdout.contains(expected + "  \(root)/\(name)"), "\(name): \(result)")
        }
        // Outside: the bytes lie in the spill area (at least one whole file), the parents carry
        // the main disk's owners and modes.
        let spilled = try ["tmp/mine/dd.bin", "tmp/new/cp.bin", "tmp/new/deeper/py.bin"].filter {
            FileManager.default.fileExists(atPath: spill + "/" + $0)
        }
        #expect(!spilled.isEmpty)
        for name in spilled { #expect(try Self.sha256(spill + "/" + name) == expected, "\(name)") }
        for (dir, mode, uid) in [("tmp", 0o1777, 0), ("tmp/mine", 0o750, 65534)] as [(String, mode_t, uid_t)] {
            var st = stat()
            if lstat(spill + "/" + dir, &st) == 0 {
                #expect(st.st_mode & 0o7777 == mode && st.st_uid == uid, "\(dir): \(String(st.st_mode, radix: 8)) \(st.st_uid)")
            }
        }
        var tmp = stat()
        #expect(lstat(spill + "/tmp", &tmp) == 0, "the supervisor made /tmp in the spill area")
        let report = try #require(try Self.status(daemon).containers.first { $0.id == "nobody1" })
        #expect(report.cannotHelp == 0 && report.askRefused == 0, "\(report)")

        // The musl library asks the same way: a new file in a directory of nobody's that only the
        // main disk has yet, made while the container is spilling (one LD_PRELOAD for setpriv,
        // a glibc program, and the musl one: the $LIB tree).
        try Command.check(["install", "-d", "-o", "65534", "-g", "65534", "-m", "0700", root + "/tmp/musl"])
        #expect(try waitUntil(seconds: 20) { try Self.status(daemon).containers.first { $0.id == "nobody1" }?.state == .spilling })
        var musl = ["LD_PRELOAD": Paths.shimBuild.path + "/preload/$LIB/libspillway.so", "SPILLWAY_SLOT": view.slot, "SPILLWAY_SPILL": spill, "SPILLWAY_ROOT": root,
                    "SPILLWAY_DEBUG": "1", "SPILLWAY_ASK": view.ask + "/sock"]
        musl["PATH"] = "/usr/bin:/bin"
        let probe = try Command.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", Paths.testProgram("create-probe-musl"),
                                     "open", root + "/tmp/musl/m.txt", "hello"], environment: musl)
        #expect(probe.status == 0 && probe.stdout.contains("size=5 text=hello") && !probe.stderr.contains("cannot help"), "\(probe)")
        var made = stat()
        #expect(lstat(spill + "/tmp/musl/m.txt", &made) == 0 && made.st_uid == 65534, "the musl program's file is in the spill area")
        #expect(lstat(spill + "/tmp/musl", &made) == 0 && made.st_uid == 65534 && made.st_mode & 0o7777 == 0o700)

        // What one request costs: 1,000 round trips for parents that exist, as uid 65534.
        let timing = try Command.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", """
            import socket, struct, time
            m = struct.pack("<6I64s4096s256s", 0x4b534157, 1, 1, 12, 0, 0, b"nobody1", b"tmp/mine/x.y", b"")
            t = time.perf_counter()
            for _ in range(1000):
                s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect("\(view.ask)/sock"); s.send(m)
                assert struct.unpack("<IIiI", s.recv(16))[2] == 0; s.close()
            print(round((time.perf_counter() - t) * 1000))
            """])
        #expect(timing.status == 0, "\(timing)")
        print("ask round trip for existing parents: \(timing.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) µs per request (1,000 requests)")
    }

    /// When the library cannot help (here: a symlink in the spill area where a parent must be,
    /// and then no ask socket), SPILLWAY_DEBUG prints exactly one line naming the path and the
    /// reason, the supervisor counts the report (status, its table, metrics, events), and
    /// nothing outside the trees changes.
    @Test func whenTheLibraryCannotHelpItSaysSoOnceAndTheSupervisorCountsIt() throws {
        let port = try DaemonTests.freePort()
        let daemon = try DaemonFixture(extraConfig: "metrics_listen = \"127.0.0.1:\(port)\"")
        defer { daemon.destroy() }
        try daemon.start()
        let (root, spill, status) = try Self.prepare(daemon, id: "nobody2", limit: "24M")
        var view = View(base: daemon.base + "/view")
        defer { view.unmount() }
        try view.bind(try #require(status.slotPath), view.slot, file: true)
        try view.bind(try #require(status.askDirectory), view.ask, file: false)
        // A host directory outside both trees, which a symlink in the spill area points at.
        let outside = daemon.base + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Command.check(["ln", "-s", outside, spill + "/tmp"])

        let write = "dd if=/dev/zero of=\(root)/tmp/mine/big bs=1M count=40 status=none"
        let refused = try Self.asNobody(write, root: root, spill: spill, view: view)
        #expect(refused.status != 0, "\(refused)")
        let lines = refused.stderr.split(separator: "\n").filter { $0.hasPrefix("spillway: cannot help: ") }
        #expect(lines.count == 1, "\(refused)")
        #expect(lines.first?.contains("\(root)/tmp/mine/big: ") == true && lines.first?.contains("in the way") == true, "\(refused)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty, "nothing was made outside the trees")
        #expect(try waitUntil(seconds: 10) {
            let c = try Self.status(daemon).containers.first { $0.id == "nobody2" }
            return c?.cannotHelp == 1
        })
        let events = try daemon.spillway("events", "--json").stdout
        #expect(events.contains("\"kind\":\"cannot_help\"") && events.contains("tmp/mine/big: cannot make its parent"), "\(events)")
        let metrics = try Command.check(["python3", "-c", "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:\(port)/metrics').read().decode())"])
        #expect(metrics.contains("spillway_cannot_help_total{container=\"nobody2\",id=\"nobody2\"} 1"), "\(metrics)")
        #expect(metrics.contains("spillway_ask_refused_total{container=\"nobody2\",id=\"nobody2\"} 0"), "\(metrics)")
        let table = try daemon.spillway("status").stdout
        #expect(table.split(separator: "\n").contains { $0.hasPrefix("nobody2") && $0.hasSuffix("  1") }, "\(table)")

        // Without an ask socket: one line, saying so.
        try FileManager.default.removeItem(atPath: spill + "/tmp")
        try FileManager.default.removeItem(atPath: root + "/tmp/mine/big")
        let alone = try Self.asNobody(write, root: root, spill: spill, view: view, ask: false)
        let aloneLines = alone.stderr.split(separator: "\n").filter { $0.hasPrefix("spillway: cannot help: ") }
        #expect(alone.status != 0 && aloneLines.count == 1 && aloneLines[0].contains("no ask socket"), "\(alone)")
    }

    /// A statically linked program run while the library is active (here the launcher, which
    /// is static) is reported once as not servable before it runs.
    @Test func aStaticProgramRunWhileSpillingIsReportedOnce() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-static-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        for dir in ["tree", "spill"] { try FileManager.default.createDirectory(atPath: base + "/" + dir, withIntermediateDirectories: true) }
        try Command.check([Paths.spillway, "slot", "create", base + "/slot", "--state", "spilling"])
        let environment = ["LD_PRELOAD": Paths.glibcLibrary, "SPILLWAY_SLOT": base + "/slot", "SPILLWAY_SPILL": base + "/spill",
                           "SPILLWAY_ROOT": base + "/tree", "SPILLWAY_DEBUG": "1"]
        let direct = try Command.run(["sh", "-c", "exec \(Paths.launcher) --no-such-option"], environment: environment)
        let lines = direct.stderr.split(separator: "\n").filter { $0.hasPrefix("spillway: cannot help: ") }
        #expect(lines.count == 1 && lines[0].contains("\(Paths.launcher): program not servable"), "\(direct)")
        // While normal the library adds nothing.
        try Command.check([Paths.spillway, "slot", "set", base + "/slot", "--state", "normal"])
        let idle = try Command.run(["sh", "-c", "exec \(Paths.launcher) --no-such-option"], environment: environment)
        #expect(!idle.stderr.contains("spillway: cannot help"), "\(idle)")
    }
}
