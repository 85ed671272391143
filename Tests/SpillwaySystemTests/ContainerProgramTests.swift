import Foundation
import SpillwayCore
import SpillwaySystem
import SpillwayTestSupport
import Testing

/// The runtime wrapper's look into a container's root filesystem: its program's kind, and the
/// first Go program on its `PATH`, read as the container would see the tree and never outside it.
@Suite("Finding programs in a container's root filesystem")
struct ContainerProgramTests {
    /// A root with the Go program in /usr/local/bin, a link to it in /bin, busybox (static C)
    /// in /bin, a FIFO under a program's name in /opt/bin, and /escape, a link to the host's
    /// /usr/bin (which holds Go programs: dockerd, containerd, runc).
    static func makeRoot() throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("container-program-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        for directory in ["/usr/local/bin", "/bin", "/opt/bin"] {
            try FileManager.default.createDirectory(atPath: root + directory, withIntermediateDirectories: true)
        }
        try Command.check(["install", "-m", "0755", try GoPrograms.path(.static), root + "/usr/local/bin/server"])
        try Command.check(["install", "-m", "0755", "/bin/busybox", root + "/bin/busybox"])
        try FileManager.default.createSymbolicLink(atPath: root + "/bin/server-link", withDestinationPath: "/usr/local/bin/server")
        try Command.check(["mkfifo", "-m", "0755", root + "/opt/bin/fifo"])
        try FileManager.default.createSymbolicLink(atPath: root + "/escape", withDestinationPath: "/usr/bin")
        return root
    }

    static func isGo(_ kind: ProgramKind) -> Bool { ProgramServing.rule(for: kind).startedLaterMeansFuse }

    @Test func findsTheFirstGoProgramOnThePath() throws {
        let root = try Self.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let found = ContainerProgram.firstOnPath(root: root, searchPath: "/opt/bin:/bin:/usr/local/bin", where: Self.isGo)
        #expect(found?.path == "/usr/local/bin/server")
        #expect(found?.kind == .go(interpreter: nil))
        // The link to it is not followed, busybox is static C, the FIFO is never opened.
        #expect(ContainerProgram.firstOnPath(root: root, searchPath: "/opt/bin:/bin", where: Self.isGo) == nil)
        #expect(ContainerProgram.kind(of: "server-link", root: root, searchPath: "/bin") == .go(interpreter: nil))
        #expect(ContainerProgram.kind(of: "fifo", root: root, searchPath: "/opt/bin") == nil)
    }

    /// A link inside the root that points at an absolute path resolves inside the root
    /// (`RESOLVE_IN_ROOT`): the host's /usr/bin, full of Go programs, is never looked at.
    @Test func neverLooksOutsideTheRoot() throws {
        let root = try Self.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(ContainerProgram.firstOnPath(root: "/", searchPath: "/usr/bin:/usr/sbin", where: Self.isGo) != nil,
                "the host has no Go program on its PATH to test with (docker.io, runc)")
        #expect(ContainerProgram.firstOnPath(root: root, searchPath: "/escape:/../../../usr/bin", where: Self.isGo) == nil)
        #expect(ContainerProgram.kind(of: "/escape/runc", root: root, searchPath: "/bin") == nil)
    }

    /// What the scan costs on a real tree: the host's /usr/bin and /usr/sbin, when nothing
    /// matches (every entry is looked at).
    @Test func scanCost() throws {
        let started = Date()
        #expect(ContainerProgram.firstOnPath(root: "/", searchPath: "/usr/bin:/usr/sbin:/bin:/sbin", where: { _ in false }) == nil)
        let seconds = Date().timeIntervalSince(started)
        let entries = try ["/usr/bin", "/usr/sbin"].map { try FileManager.default.contentsOfDirectory(atPath: $0).count }.reduce(0, +)
        print("ContainerProgram.firstOnPath: \(entries) entries of the host's /usr/bin and /usr/sbin in \(Int(seconds * 1000)) ms")
        #expect(seconds < 5)
    }
}

/// Programs a container's command line or entrypoint script names by absolute path.
@Suite("Programs a container's command line names")
struct ContainerCommandLineProgramTests {
    @Test func findsAGoProgramNamedOnTheCommandLineOrInTheScript() throws {
        let root = try ContainerProgramTests.makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/app", withIntermediateDirectories: true)
        try Command.check(["install", "-m", "0755", try GoPrograms.path(.cgo), root + "/app/server"])
        let script = "#!/bin/sh\nset -e\n[ -d /data ] || mkdir /data\nexec /app/server --listen :8080 \"$@\"\n"
        try script.write(toFile: root + "/entry.sh", atomically: false, encoding: .utf8)
        try Command.check(["chmod", "0755", root + "/entry.sh"])

        let named = ContainerProgram.firstNamed(in: ["sh", "-c", "cd /app && /bin/busybox true; /app/server -v"], root: root,
                                                where: ContainerProgramTests.isGo)
        #expect(named?.path == "/app/server")
        #expect(named?.kind == .go(interpreter: "/lib64/ld-linux-x86-64.so.2"))
        let text = try #require(ContainerProgram.scriptText(of: "/entry.sh", root: root, searchPath: "/bin"))
        #expect(text == script)
        #expect(ContainerProgram.firstNamed(in: [text], root: root, where: ContainerProgramTests.isGo)?.path == "/app/server")
        // Not a script, not Go, not in the root, not a regular file: nothing. (A link named on a
        // command line is followed inside the root, as exec would: /bin/server-link is found.)
        #expect(ContainerProgram.scriptText(of: "/bin/busybox", root: root, searchPath: "/bin") == nil)
        #expect(ContainerProgram.firstNamed(in: ["/bin/busybox /escape/runc /opt/bin/fifo"], root: root,
                                            where: ContainerProgramTests.isGo) == nil)
        #expect(ContainerProgram.firstNamed(in: ["exec /bin/server-link"], root: root, where: ContainerProgramTests.isGo)?.path == "/bin/server-link")
    }
}
