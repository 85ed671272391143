import Foundation
import SpillwayCore
import SpillwaySystem
import SpillwayTestSupport
import Testing

/// Go programs (Debian's golang-go, the fixture go_writer built with and without cgo) in real
/// Docker containers (btrfs storage driver, `--storage-opt size` with 80 MiB of headroom,
/// `--runtime spillway`): Go writes with its own system calls, which no preload library sees,
/// so the runtime wrapper serves such a container through its FUSE union, whether Go is the
/// container's program or a shell starts it later. Each writes more than twice its headroom
/// (a new file with os.Create, and an append to a file the image holds) and exits 0; the bytes
/// are right inside the container and on the sub disk.
@Suite("Go programs under a real dockerd", .serialized)
struct GoContainerTests {
    static let image = "spillway-test:bookworm-go"
    static let headroomMiB = 80
    /// What each run writes: a new file and an append, together more than twice the headroom.
    static let (newMiB, appendMiB) = (100, 64)

    /// The container's size: the image's bytes (which the btrfs quota counts) plus the headroom.
    static func size() throws -> String {
        let attributes = try FileManager.default.attributesOfItem(atPath: try ContainerImages.bookwormGo())
        let imageMiB = Int(((attributes[.size] as? UInt64) ?? 0) >> 20) + 1
        return "\(imageMiB + headroomMiB)M"
    }

    /// The sha256 of the new file and of the appended log as go_writer leaves them, from a run
    /// of the same program on the host (its bytes are a fixed stream).
    static func expectedDigests() throws -> (new: String, log: String) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("go-expected-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try GoPrograms.initialLog.write(toFile: directory + "/log", atomically: false, encoding: .utf8)
        try Command.check([try GoPrograms.path(.static), directory + "/new", "\(newMiB)", directory + "/log", "\(appendMiB)"])
        return (try ContainerTests.sha256(directory + "/new"), try ContainerTests.sha256(directory + "/log"))
    }

    /// The go_writer command line of a run.
    static func writer(_ build: GoPrograms.Build) -> [String] {
        ["/usr/local/bin/" + build.programName, "/tmp/new.bin", "\(newMiB)", GoPrograms.logInImage, "\(appendMiB)"]
    }

    /// After a run named `name` that wrote through the union: it exited 0, printed the right
    /// digests as it read its files back, is shown in mode `fuse` and `spilling`, and both files
    /// are whole, with the right bytes, in its spill area on the sub disk.
    static func checkSpilled(_ env: ContainerEnvironment, _ name: String, _ result: HostCommand.Result,
                             _ expected: (new: String, log: String)) throws {
        #expect(result.status == 0, "\(name): \(result)\n\(env.daemon.log().suffix(2000))")
        #expect(result.stdout.contains("sha256 \(expected.new) /tmp/new.bin"), "\(name): \(result)")
        #expect(result.stdout.contains("sha256 \(expected.log) \(GoPrograms.logInImage)"), "\(name): \(result)")
        #expect(!result.stderr.contains("spillway-entry"), "\(name): \(result)")
        let managed = try #require(FuseContainerTests.container(env, name), "\(name) is not managed")
        #expect(managed.mode == "fuse", "\(name): \(managed)")
        #expect(ContainerTests.wait { FuseContainerTests.container(env, name)?.state == .spilling }, "\(name) never showed spilling")
        let spill = try #require(managed.spillPath)
        #expect(spill.hasPrefix(env.daemon.sub.mountPoint + "/"))
        #expect(try ContainerTests.sha256(spill + "/tmp/new.bin") == expected.new, "\(name): the new file is not on the sub disk")
        #expect(try ContainerTests.sha256(spill + GoPrograms.logInImage) == expected.log, "\(name): the appended log is not on the sub disk")
        let logBytes = (try FileManager.default.attributesOfItem(atPath: spill + GoPrograms.logInImage)[.size] as? Int) ?? 0
        #expect(logBytes == GoPrograms.initialLog.utf8.count + appendMiB << 20)
        // What the container's root (the main disk) holds of the two is not a second copy.
        #expect(!FileManager.default.fileExists(atPath: managed.root + "/tmp/new.bin"), "\(name): new.bin is on both disks")
    }

    /// The Go program as the container's program, built with cgo (a glibc PT_INTERP) and
    /// without: mode `fuse`, both writes succeed past the quota; with plain runc, or in mode
    /// `preload` asked for by hand, the same run fails with EDQUOT.
    @Test func goProgramsWriteTwiceTheirHeadroom() throws {
        let expected = try Self.expectedDigests()
        try withContainerEnvironment(mainMegabytes: 3072) { env in
            try env.dockerd.importImage(try ContainerImages.bookwormGo(), tag: Self.image)
            let size = try Self.size()
            for build in GoPrograms.Build.allCases {
                let name = "go-" + build.rawValue
                let result = try env.run(size: size, name: name, [Self.image] + Self.writer(build))
                #expect(result.stdout.contains("go_writer: " + (build == .cgo ? "cgo" : "no cgo")), "\(result)")
                try Self.checkSpilled(env, name, result, expected)
            }
            let plain = try env.run(runtime: "runc", size: size, name: "go-plain", [Self.image] + Self.writer(.static))
            #expect(plain.status != 0, "\(plain)")
            #expect(plain.stderr.contains("disk quota exceeded"), "\(plain)")
            // Why the rule: the cgo build forced into mode preload gets the preload library
            // (its PT_INTERP is glibc's), which never sees Go's system calls.
            let forced = try env.run(size: size, name: "go-forced-preload", ["-e", "SPILLWAY_MODE=preload", Self.image] + Self.writer(.cgo))
            #expect(FuseContainerTests.container(env, "go-forced-preload")?.mode == "preload")
            #expect(forced.status != 0, "\(forced)")
            #expect(forced.stderr.contains("disk quota exceeded"), "\(forced)")
        }
    }

    /// A shell as the container's program (glibc, which the preload library would serve) that
    /// starts the Go program later: the Go program on the image's PATH, or named by full path on
    /// the shell's command line, makes the container FUSE-served from the start, and the Go
    /// program's writes succeed past the quota. The same image with a PATH that holds no Go
    /// program and a command line that names none stays preload-served (the static ldconfig of
    /// every Debian image changes nothing).
    @Test func aGoProgramStartedByAShellIsServedToo() throws {
        let expected = try Self.expectedDigests()
        try withContainerEnvironment(mainMegabytes: 3072) { env in
            try env.dockerd.importImage(try ContainerImages.bookwormGo(), tag: Self.image)
            let size = try Self.size()
            let script = Self.writer(.cgo).joined(separator: " ")
                + " && sha256sum /tmp/new.bin " + GoPrograms.logInImage
            let result = try env.run(size: size, name: "go-by-shell", [Self.image, "sh", "-c", script])
            try Self.checkSpilled(env, "go-by-shell", result, expected)
            // sha256sum, a glibc program, reads the files back through the union.
            #expect(result.stdout.contains(expected.new + "  /tmp/new.bin"), "\(result)")
            #expect(result.stdout.contains(expected.log + "  " + GoPrograms.logInImage), "\(result)")

            // The Go program on no PATH, named by the shell's command line.
            let named = Self.writer(.cgo).dropFirst().joined(separator: " ")
            let offPath = try env.run(size: size, name: "go-named", ["-e", "PATH=/usr/bin:/bin", Self.image, "sh", "-c",
                                                                     "cd / && \(GoPrograms.offPath) \(named)"])
            try Self.checkSpilled(env, "go-named", offPath, expected)

            // A Go program the create-time look cannot find (its directory in a variable): the
            // container is preload-served, and the exec hook says the program is not served.
            let hidden = try env.run(size: size, name: "go-hidden", ["-e", "PATH=/usr/bin:/bin", Self.image, "sh", "-c",
                                                                     "d=/opt/go; \"$d\"/go-writer-cgo --env"])
            #expect(FuseContainerTests.container(env, "go-hidden")?.mode == "preload")
            // It runs, with what the shell had (the launcher's SPILLWAY_PROGRAM=glibc, the library).
            #expect(hidden.status == 0 && hidden.stdout.hasPrefix("SPILLWAY_PROGRAM=glibc LD_PRELOAD=/.spillway/"), "\(hidden)")
            #expect(hidden.stderr.contains("spillway: \(GoPrograms.offPath): Go makes its own system calls"), "\(hidden)")
            #expect(hidden.stderr.contains("served by the preload library"), "\(hidden)")

            // `docker exec` of it in a preload-served container: the launcher in front says the
            // same, and runs it without the library.
            let running = try env.run(size: size, name: "go-exec", ["-d", "-e", "PATH=/usr/bin:/bin", Self.image, "sleep", "600"])
            try #require(running.status == 0, "\(running)")
            defer { _ = try? env.dockerd.docker("rm", "-f", "go-exec") }
            let execd = try env.dockerd.docker("exec", "go-exec", GoPrograms.offPath, "--env")
            #expect(FuseContainerTests.container(env, "go-exec")?.mode == "preload")
            #expect(execd.status == 0 && execd.stdout == "SPILLWAY_PROGRAM=go LD_PRELOAD=\n", "\(execd)")
            #expect(execd.stderr.contains("spillway-entry: \(GoPrograms.offPath): Go makes its own system calls"), "\(execd)")
            #expect(execd.stderr.contains("served by the preload library (create it with spillway.mode=fuse); running it without Spillway"),
                    "\(execd)")

            let noGo = try env.run(size: size, name: "no-go-on-path", ["-e", "PATH=/usr/bin:/bin", Self.image, "sh", "-c", "echo ran"])
            #expect(noGo.status == 0 && noGo.stdout == "ran\n", "\(noGo)")
            #expect(FuseContainerTests.container(env, "no-go-on-path")?.mode == "preload",
                    "\(String(describing: FuseContainerTests.container(env, "no-go-on-path")))")
        }
    }
}

/// `spillway inspect` of the Go program, both builds: it names Go and the FUSE union, and why.
/// And the preload library's exec hooks, which recognise a Go program with the same reader.
@Suite("spillway inspect of Go programs")
struct GoInspectTests {
    /// With the library configured (a preload-served container), a shell's execve and python's
    /// os.execv of a Go program print one line naming it and why; a glibc program, none. The
    /// program runs either way.
    @Test func execHooksSayAGoProgramIsNotServed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("go-exec-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory + "/spill", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory + "/root", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Command.check([Paths.spillway, "slot", "create", directory + "/slot", "--state", "normal"])
        let go = try GoPrograms.path(.static)
        let script = "\(go) --env; /bin/true; python3 -c 'import os; os.execv(\"\(go)\", [\"go\", \"--env\"])'"
        let result = try Command.run(["sh", "-c", script], environment: [
            "LD_PRELOAD": Paths.glibcLibrary, "SPILLWAY_SLOT": directory + "/slot", "SPILLWAY_SPILL": directory + "/spill",
            "SPILLWAY_ROOT": directory + "/root",
        ])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.components(separatedBy: "SPILLWAY_PROGRAM=").count == 3, "\(result)")
        let line = "spillway: \(go): Go makes its own system calls, with cgo or without, and no preload library sees them, "
            + "and this container is served by the preload library: its writes past the quota are not spilled (create it with spillway.mode=fuse)\n"
        #expect(result.stderr == line + line, "\(result)")
        // Not configured (no slot): plain libc, nothing said.
        let plain = try Command.run(["sh", "-c", "\(go) --env"], environment: ["LD_PRELOAD": Paths.glibcLibrary])
        #expect(plain.status == 0 && plain.stderr.isEmpty, "\(plain)")
    }

    @Test(arguments: GoPrograms.Build.allCases)
    func inspectNamesGoAndFuse(build: GoPrograms.Build) throws {
        let path = try GoPrograms.path(build)
        let result = try Command.run([Paths.spillway, "inspect", path])
        #expect(result.status == 0, "\(result)")
        let linkage = build == .cgo ? "Go (cgo, dynamic loader /lib64/ld-linux-x86-64.so.2)" : "Go (no cgo, statically linked)"
        #expect(result.stdout == "\(path): \(linkage); served by the FUSE union: Go makes its own system calls, "
            + "with cgo or without, and no preload library sees them\n", "\(result)")
    }
}
