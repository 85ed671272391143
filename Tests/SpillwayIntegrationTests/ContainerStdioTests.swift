import Foundation
import SpillwayCore
import SpillwaySystem
import SpillwayTestSupport
import Testing

/// Writes through stdio in real containers (a private dockerd with the btrfs storage driver,
/// `--storage-opt size`, `--runtime spillway`, Debian bookworm with gawk and musl): with 80 MiB
/// of headroom, each Debian program and the stdio-writer fixture (glibc and musl) writes at
/// least twice that, exits 0, and leaves the right bytes, checked inside the container (against
/// the same program's output through a pipe, which takes no disk) and outside (the file in the
/// container's spill area).
@Suite("Containers: writes through stdio", .serialized)
struct ContainerStdioTests {
    static let image = "spillway-test:apps"
    static let headroom: UInt64 = 80 << 20
    static let tools = Paths.shimBuild.appendingPathComponent("tests").path

    /// The container's quota for 80 MiB of headroom: what a fresh container of the image uses, plus 80 MiB.
    static func size(_ env: ContainerEnvironment) throws -> String {
        let probe = try env.run(size: "2G", name: "probe", ["-d", image, "sleep", "600"])
        try #require(probe.status == 0, "\(probe)")
        defer { _ = try? env.dockerd.docker("rm", "-f", "probe") }
        var used: UInt64 = 0
        let known = try ContainerTests.wait(seconds: 60) {
            used = try ContainerTests.status(env.daemon).containers.first { $0.name == "probe" }?.usedBytes ?? 0
            return used > 0
        }
        try #require(known, "the daemon never measured the probe container")
        return "\((used + headroom) >> 20)M"
    }

    /// Host files the programs read (/src, read-only: not on the quota).
    static func inputs(_ base: String) throws -> String {
        let src = base + "/src"
        try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
        try Command.check(["sh", "-c", "head -c 200M /dev/urandom > \(src)/random && seq 1 20000000 | shuf > \(src)/numbers"])
        return src
    }

    /// Runs `script` in a new container and checks `file`: the script prints the file's
    /// checksum and the expected one ("got SUM" and "want SUM"); the spill area holds the same.
    static func check(_ env: ContainerEnvironment, size: String, src: String, name: String, file: String, minimum: UInt64, _ script: String) throws {
        let line = "set -e; mkdir -p /data; \(script); sync; echo got $(sha256sum < \(file) | cut -c1-64)"
        let run = try env.run(size: size, name: name, ["-v", src + ":/src:ro", "-v", tools + ":/tools:ro", image, "sh", "-c", line])
        defer { _ = try? env.dockerd.docker("rm", "-f", name) }
        #expect(run.status == 0, "\(name): \(run)")
        let words = run.stdout.split(whereSeparator: { $0 == "\n" || $0 == " " }).map(String.init)
        let got = words.firstIndex(of: "got").map { words[$0 + 1] }
        let want = words.firstIndex(of: "want").map { words[$0 + 1] }
        #expect(got != nil && got == want, "\(name): inside the container \(run.stdout)")
        let report = try ContainerTests.status(env.daemon)
        let managed = try #require(report.containers.first { $0.name == name }, "\(report)")
        let spilled = try #require(managed.spillPath) + file
        let bytes = (try? FileManager.default.attributesOfItem(atPath: spilled))?[.size] as? UInt64 ?? 0
        #expect(bytes >= minimum, "\(name): \(bytes) bytes in the spill area at \(file), wanted at least \(minimum)")
        if bytes > 0 { #expect(try ContainerTests.sha256(spilled) == got, "\(name): the spill area's copy differs") }
    }

    @Test func debianProgramsWriteTwiceTheirHeadroom() throws {
        let image = try ContainerImages.bookwormApps()
        try withContainerEnvironment(mainMegabytes: 3072, subMegabytes: 2048) { env in
            try env.dockerd.importImage(image, tag: Self.image)
            let size = try Self.size(env)
            let src = try Self.inputs(env.daemon.base)
            let twice = 2 * Self.headroom
            try Self.check(env, size: size, src: src, name: "head", file: "/data/head.bin", minimum: 200 << 20,
                           "echo want $(head -c 200M /src/random | sha256sum | cut -c1-64); head -c 200M /src/random > /data/head.bin")
            try Self.check(env, size: size, src: src, name: "sort", file: "/data/sorted", minimum: twice,
                           "echo want $(LC_ALL=C sort /src/numbers | sha256sum | cut -c1-64); LC_ALL=C sort /src/numbers -o /data/sorted")
            let program = "NR <= 10000000 { print $1, $1 * 2"
            try Self.check(env, size: size, src: src, name: "awk", file: "/data/awk.out", minimum: twice,
                           "echo want $(awk '\(program) }' /src/numbers | sha256sum | cut -c1-64); awk '\(program) > \"/data/awk.out\" }' /src/numbers")
            try Self.check(env, size: size, src: src, name: "gzip", file: "/data/random.gz", minimum: twice,
                           "echo want $(gzip -1 -c /src/random | sha256sum | cut -c1-64); gzip -1 -c /src/random > /data/random.gz")
            // sed -i on a 60 MB file (inside the headroom) whose edit makes it 230 MB.
            let edit = "s/$/ and some text that makes every line longer/"
            try Self.check(env, size: size, src: src, name: "sed", file: "/data/edit", minimum: twice,
                           "head -n 6500000 /src/numbers > /data/edit; echo want $(sed '\(edit)' /data/edit | sha256sum | cut -c1-64); sed -i '\(edit)' /data/edit")
        }
    }

    /// An environment with the apps image, the quota for 80 MiB of headroom, and the checksum
    /// of stdio-writer's 200 MiB stream.
    static func withWriterEnvironment(_ body: (ContainerEnvironment, String, String) throws -> Void) throws {
        let image = try ContainerImages.bookwormApps()
        try withContainerEnvironment(mainMegabytes: 3072) { env in
            try env.dockerd.importImage(image, tag: Self.image)
            let size = try Self.size(env)
            let expected = env.daemon.base + "/expected"
            try Command.check([Paths.testProgram("stdio-writer"), "fprintf", expected, "200"])
            let want = try ContainerTests.sha256(expected)
            try FileManager.default.removeItem(atPath: expected)
            try body(env, size, want)
        }
    }

    /// A C program that opens its log with fopen while `normal` and fprintfs 200 MiB, built for
    /// glibc and for musl (dynamic, the image's musl loader).
    @Test(arguments: ["stdio-writer", "stdio-writer-musl"])
    func aLogOpenedWhileNormalGrowsPastTheQuota(program: String) throws {
        try Self.withWriterEnvironment { env, size, want in
            try Self.check(env, size: size, src: env.daemon.base, name: "log", file: "/data/log", minimum: 200 << 20,
                           "echo want \(want); /tools/\(program) fprintf /data/log 200")
        }
    }

    /// The same program with its stream opened (and its first line buffered) before the flag
    /// rose: another process fills the container past the threshold, the supervisor raises the
    /// flag, and only then does the program write its 200 MiB.
    @Test(arguments: ["stdio-writer", "stdio-writer-musl"])
    func aLogOpenedBeforeTheFlagFollowsItsFile(program: String) throws {
        try Self.withWriterEnvironment { env, size, want in
            let script = "mkdir -p /data && /tools/\(program) fprintf /data/log 200 /tmp/gate && sync && sha256sum < /data/log"
            let started = try env.run(size: size, name: "gated", ["-d", "-v", Self.tools + ":/tools:ro", Self.image, "sh", "-c", script])
            try #require(started.status == 0, "\(started)")
            defer { _ = try? env.dockerd.docker("rm", "-f", "gated") }
            let opened = try ContainerTests.wait(seconds: 60) { try env.dockerd.docker("exec", "gated", "test", "-e", "/tmp/gate.ready").status == 0 }
            try #require(opened, "the writer never opened its log")
            // sync: btrfs counts the bytes in the qgroup the supervisor reads when its transaction commits.
            let fill = try env.dockerd.docker("exec", "gated", "sh", "-c", "dd if=/dev/urandom of=/data/fill bs=1M count=76 status=none && sync")
            #expect(fill.status == 0, "\(fill)")
            let flagged = try ContainerTests.wait(seconds: 60) {
                try ContainerTests.status(env.daemon).containers.contains { $0.name == "gated" && $0.state == .spilling }
            }
            #expect(flagged, "the supervisor never raised the flag")
            try env.dockerd.docker("exec", "gated", "touch", "/tmp/gate")
            let waited = try env.dockerd.docker("wait", "gated")
            #expect(waited.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(waited) \(ContainerTests.logs(env, "gated"))")
            #expect(ContainerTests.logs(env, "gated").contains(want), "inside: \(ContainerTests.logs(env, "gated"))")
            let managed = try #require(try ContainerTests.status(env.daemon).containers.first { $0.name == "gated" })
            #expect(try ContainerTests.sha256(try #require(managed.spillPath) + "/data/log") == want)
        }
    }
}
