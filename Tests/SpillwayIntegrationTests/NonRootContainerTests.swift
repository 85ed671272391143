import Foundation
import SpillwayCore
import SpillwaySystem
import SpillwayTestSupport
import Testing

/// Users other than the host's root in real containers (private dockerd, btrfs quota,
/// `--runtime spillway`, 80 MiB of headroom in a Debian bookworm image): `--user 65534:65534`,
/// the image's own user `app`, a `docker exec --user` process, and every process of a container
/// under a dockerd started with `--userns-remap=default`. Each writes three times 60 MiB with
/// dd, cp and python3 into new files in an existing and in new directories, exits 0, and leaves
/// the right bytes inside and outside the container, the excess in the spill area.
@Suite("Non-root and user-namespaced containers", .serialized)
struct NonRootContainerTests {
    static let image = "spillway-test:apps"
    static let headroomMiB = 80
    static let fileMiB = 60

    static func status(_ daemon: DaemonFixture) throws -> StatusReport {
        try JSONDecoder().decode(StatusReport.self, from: Data(try daemon.spillway("status", "--json").stdout.utf8))
    }

    static func sha256(_ path: String) throws -> String { String(try Command.check(["sha256sum", path]).prefix(64)) }

    /// The quota that leaves ``headroomMiB`` above the image's own bytes.
    static func size() throws -> String {
        let attributes = try FileManager.default.attributesOfItem(atPath: try ContainerImages.bookwormApps())
        return "\((((attributes[.size] as? UInt64) ?? 0) >> 20) + UInt64(headroomMiB))M"
    }

    /// The writes, as a shell script for the container: three files below `existing` (a
    /// directory the user may write) and `existing/new...` (made by the script).
    static func script(existing: String) -> String {
        """
        set -e
        dd if=/src/source.bin of=\(existing)/dd.bin bs=1M status=none
        mkdir \(existing)/new
        cp /src/source.bin \(existing)/new/cp.bin
        python3 -c 'import os,sys; os.makedirs(sys.argv[2]); open(sys.argv[2] + "/py.bin", "ab").write(open(sys.argv[1], "rb").read())' /src/source.bin \(existing)/new/deeper
        sync
        sha256sum \(existing)/dd.bin \(existing)/new/cp.bin \(existing)/new/deeper/py.bin
        id -u
        """
    }

    static let names = ["dd.bin", "new/cp.bin", "new/deeper/py.bin"]

    /// Checks what a run printed and what its spill area holds.
    static func verify(_ result: HostCommand.Result, env: ContainerEnvironment, container: String, existing: String,
                       expected: String, uid: String) throws {
        #expect(result.status == 0, "\(container): \(result)\n\(env.daemon.log().suffix(2000))")
        #expect(!result.stderr.contains("spillway: cannot help"), "\(container): \(result)")
        for name in names { #expect(result.stdout.contains("\(expected)  \(existing)/\(name)"), "\(container) \(name): \(result)") }
        #expect(result.stdout.hasSuffix("\(uid)\n"), "\(container) ran as \(uid): \(result)")
        let managed = try #require(try Self.status(env.daemon).containers.first { $0.name == container })
        let spill = try #require(managed.spillPath)
        let spilled = names.filter { FileManager.default.fileExists(atPath: spill + existing + "/" + $0) }
        #expect(!spilled.isEmpty, "\(container): nothing in its spill area")
        for name in spilled { #expect(try Self.sha256(spill + existing + "/" + name) == expected, "\(container) \(name)") }
        #expect(managed.cannotHelp == 0 && managed.askRefused == 0, "\(managed)")
    }

    static func source(_ env: ContainerEnvironment) throws -> (path: String, sha: String) {
        let source = env.daemon.base + "/source.bin"
        if !FileManager.default.fileExists(atPath: source) {
            try Command.check(["dd", "if=/dev/urandom", "of=" + source, "bs=1M", "count=\(fileMiB)", "status=none"])
            try Command.check(["chmod", "0644", source])
        }
        return (source, try sha256(source))
    }

    @Test func nobodyTheImagesUserAndAnExecdProcessWritePastTheQuota() throws {
        try withContainerEnvironment(mainMegabytes: 3072) { env in
            try env.dockerd.importImage(try ContainerImages.bookwormApps(), tag: Self.image)
            let (source, expected) = try Self.source(env)
            let size = try Self.size()
            let volume = ["-v", source + ":/src/source.bin:ro", "-e", "SPILLWAY_DEBUG=1"]

            let nobody = try env.run(size: size, name: "nobody", ["--user", "65534:65534"] + volume + [Self.image, "sh", "-c", Self.script(existing: "/tmp")])
            try Self.verify(nobody, env: env, container: "nobody", existing: "/tmp", expected: expected, uid: "65534")

            let app = try env.run(size: size, name: "appuser", ["--user", "app"] + volume + [Self.image, "sh", "-c", Self.script(existing: "/home/app")])
            try Self.verify(app, env: env, container: "appuser", existing: "/home/app", expected: expected, uid: "1000")
            // The parents the supervisor made carry the main disk's owner and mode.
            let spill = try #require(try Self.status(env.daemon).containers.first { $0.name == "appuser" }?.spillPath)
            var home = stat()
            #expect(lstat(spill + "/home/app", &home) == 0 && home.st_uid == 1000 && home.st_gid == 1000, "\(home)")

            let started = try env.run(size: size, name: "execd", ["-d"] + volume + [Self.image, "sleep", "600"])
            try #require(started.status == 0, "\(started)")
            defer { _ = try? env.dockerd.docker("rm", "-f", "execd") }
            let exec = try env.dockerd.docker(["exec", "--user", "65534:65534", "-e", "SPILLWAY_DEBUG=1", "execd", "sh", "-c", Self.script(existing: "/tmp")])
            try Self.verify(exec, env: env, container: "execd", existing: "/tmp", expected: expected, uid: "65534")
        }
    }

    /// dockerd `--userns-remap=default`: the container's root is host uid 231072 (or the host's
    /// dockremap range); its spill area's top belongs to it, and root and nobody both spill.
    @Test func userNamespaceRemappedContainersWritePastTheQuota() throws {
        let remapped = try UserNamespaceRemap.hostRootUID()
        try withContainerEnvironment(mainMegabytes: 3072, dockerdArguments: try UserNamespaceRemap.dockerdArguments()) { env in
            try env.dockerd.importImage(try ContainerImages.bookwormApps(), tag: Self.image)
            let (source, expected) = try Self.source(env)
            let size = try Self.size()
            let volume = ["-v", source + ":/src/source.bin:ro", "-e", "SPILLWAY_DEBUG=1"]

            let root = try env.run(size: size, name: "remapped-root", volume + [Self.image, "sh", "-c", "mkdir /data && " + Self.script(existing: "/data")])
            try Self.verify(root, env: env, container: "remapped-root", existing: "/data", expected: expected, uid: "0")
            let spill = try #require(try Self.status(env.daemon).containers.first { $0.name == "remapped-root" }?.spillPath)
            var top = stat()
            #expect(lstat(spill, &top) == 0 && top.st_uid == remapped, "the spill area's top belongs to the remapped root: \(top.st_uid)")

            let nobody = try env.run(size: size, name: "remapped-nobody", ["--user", "65534:65534"] + volume + [Self.image, "sh", "-c", Self.script(existing: "/tmp")])
            try Self.verify(nobody, env: env, container: "remapped-nobody", existing: "/tmp", expected: expected, uid: "65534")
        }
    }
}
