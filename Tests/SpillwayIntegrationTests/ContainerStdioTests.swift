import Foundation
import SpillwayCore
import SpillwaySystem
import SpillwayTestSupport
import Testing

/// Writes through stdio in real containers (a private dockerd with the btrfs storage driver,
/// `--storage-opt size`, `--runtime spillway`, Debian bookworm with gawk and musl), for every
/// user a container runs as: root, `--user 65534:65534`, the image's own user `app`, and root
/// and 65534 under a dockerd started with `--userns-remap=default`. With 80 MiB of headroom,
/// each Debian program and the stdio-writer fixture (glibc and musl) writes at least twice that,
/// exits 0, and leaves the right bytes, checked inside the container (against the same
/// program's output through a pipe, which takes no disk) and outside (the file in the
/// container's spill area). Every user writes into an existing directory it owns, a new
/// directory it makes, and /tmp; a failure names the user and the case.
@Suite("Containers: writes through stdio", .serialized)
struct ContainerStdioTests {
    static let image = "spillway-test:apps"
    static let headroom: UInt64 = 80 << 20
    static let tools = Paths.shimBuild.appendingPathComponent("tests").path

    /// A user a container runs as: `label` names it in container names and failures, `home` is
    /// an existing directory it owns (the image's, or the one ``prepareImage(_:)`` makes).
    struct User: CustomTestStringConvertible, Sendable {
        let label: String
        let arguments: [String]
        let uid: String
        let home: String
        var testDescription: String { "\(label) (uid \(uid))" }

        static let root = User(label: "root", arguments: [], uid: "0", home: "/root")
        static let nobody = User(label: "nobody", arguments: ["--user", "65534:65534"], uid: "65534", home: "/srv/nobody")
        static let app = User(label: "app", arguments: ["--user", ContainerImages.appUser.name],
                              uid: "\(ContainerImages.appUser.uid)", home: "/home/\(ContainerImages.appUser.name)")
    }

    /// A dockerd and the users whose containers it runs.
    enum Host: String, CaseIterable, CustomTestStringConvertible, Sendable {
        case plain, userNamespaceRemap
        var testDescription: String { self == .plain ? "dockerd" : "dockerd --userns-remap=default" }
        var users: [User] { self == .plain ? [.root, .nobody, .app] : [.root, .nobody] }
        func dockerdArguments() throws -> [String] { self == .plain ? [] : try UserNamespaceRemap.dockerdArguments() }
    }

    /// The daemon's id of a Docker container (its id's first 12 digits), which the runtime
    /// wrapper registers at create; the Docker name comes later, from Docker discovery.
    static func spillwayID(_ env: ContainerEnvironment, _ container: String) -> String? {
        guard let inspected = try? env.dockerd.docker("inspect", "--format", "{{.Id}}", container), inspected.status == 0 else { return nil }
        return try? EngineContainerID.spillwayID(for: inspected.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// The daemon's status of a container, found by id.
    static func managed(_ env: ContainerEnvironment, _ id: String?) throws -> ContainerStatus? {
        guard let id else { return nil }
        return try ContainerTests.status(env.daemon).containers.first { $0.id == id }
    }

    /// Removes a container and waits until the daemon has forgotten it and freed its spill area:
    /// one environment serves every case, and the sub disk holds only so many spill areas at once
    /// (a container that finds no room on it is never flagged).
    static func remove(_ env: ContainerEnvironment, _ container: String) {
        let id = spillwayID(env, container)
        _ = try? env.dockerd.docker("rm", "-f", container)
        let gone = (try? ContainerTests.wait(seconds: 60) { try managed(env, id) == nil }) ?? false
        #expect(gone, "the daemon still lists \(container) a minute after docker rm")
    }

    /// The quota for 80 MiB of headroom: what a fresh container of the image uses, plus 80 MiB.
    static func size(_ env: ContainerEnvironment) throws -> String {
        let probe = try env.run(size: "2G", name: "probe", ["-d", image, "sleep", "600"])
        try #require(probe.status == 0, "\(probe)")
        defer { remove(env, "probe") }
        var used: UInt64 = 0
        let known = try ContainerTests.wait(seconds: 60) {
            used = try managed(env, spillwayID(env, "probe"))?.usedBytes ?? 0
            return used > 0
        }
        try #require(known, "the daemon never measured the probe container")
        return "\((used + headroom) >> 20)M"
    }

    /// Imports the apps image and gives uid 65534, which owns no directory in Debian, one
    /// (/srv/nobody), as an image that runs as nobody would.
    static func prepareImage(_ env: ContainerEnvironment) throws {
        try env.dockerd.importImage(try ContainerImages.bookwormApps(), tag: image)
        let home = User.nobody.home
        let made = try env.dockerd.docker("run", "--name", "prepare", "--network", "none", image,
                                          "sh", "-c", "mkdir -p \(home) && chown 65534:65534 \(home)")
        defer { _ = try? env.dockerd.docker("rm", "-f", "prepare") }
        try #require(made.status == 0, "\(made)")
        let committed = try env.dockerd.docker("commit", "prepare", image)
        try #require(committed.status == 0, "\(committed)")
    }

    /// Host files the programs read (/src, read-only: not on the quota).
    static func inputs(_ base: String) throws -> String {
        let src = base + "/src"
        try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
        try Command.check(["sh", "-c", "head -c 200M /dev/urandom > \(src)/random && seq 1 20000000 | shuf > \(src)/numbers && chmod -R a+rX \(src)"])
        return src
    }

    /// Runs `body`, recording what it throws as a failure of `label` instead of ending the loop.
    static func attempt(_ label: String, _ body: () throws -> Void) {
        do { try body() } catch { Issue.record("\(label): \(error)") }
    }

    /// Runs `script` as `user` in a new container and checks `file`: the script prints the
    /// file's checksum and the expected one ("got SUM" and "want SUM"), and its uid; the spill
    /// area holds the same bytes.
    static func check(_ env: ContainerEnvironment, user: User, size: String, src: String, name: String, file: String,
                      minimum: UInt64, _ script: String) throws {
        let label = "\(user.testDescription), \(name)"
        let container = user.label + "-" + name
        let line = "set -e; mkdir -p \(user.home)/new; \(script); sync; echo got $(sha256sum < \(file) | cut -c1-64); echo uid $(id -u)"
        let run = try env.run(size: size, name: container, user.arguments + ["-v", src + ":/src:ro", "-v", tools + ":/tools:ro", image, "sh", "-c", line])
        defer { remove(env, container) }
        #expect(run.status == 0, "\(label): \(run)")
        let words = run.stdout.split(whereSeparator: { $0 == "\n" || $0 == " " }).map(String.init)
        func word(after key: String) -> String? { words.firstIndex(of: key).flatMap { $0 + 1 < words.count ? words[$0 + 1] : nil } }
        let got = word(after: "got")
        #expect(got != nil && got == word(after: "want"), "\(label): inside the container \(run.stdout)")
        #expect(word(after: "uid") == user.uid, "\(label): ran as \(word(after: "uid") ?? "?")")
        try verifySpill(env, label: label, container: container, file: file, minimum: minimum, sha: got)
    }

    /// The spill area of `container` holds at least `minimum` bytes of `file`, with checksum `sha`.
    static func verifySpill(_ env: ContainerEnvironment, label: String, container: String, file: String, minimum: UInt64, sha: String?) throws {
        let report = try ContainerTests.status(env.daemon)
        let id = spillwayID(env, container)
        let managed = try #require(report.containers.first { $0.id == id }, "\(label): \(report)")
        #expect(managed.cannotHelp == 0 && managed.askRefused == 0, "\(label): \(managed)")
        let spilled = try #require(managed.spillPath, "\(label): no spill area") + file
        let bytes = (try? FileManager.default.attributesOfItem(atPath: spilled))?[.size] as? UInt64 ?? 0
        #expect(bytes >= minimum, "\(label): \(bytes) bytes in the spill area at \(file), wanted at least \(minimum)")
        if bytes > 0 { #expect(try ContainerTests.sha256(spilled) == sha, "\(label): the spill area's copy differs") }
    }

    /// The Debian programs: `head -c` into a redirect, `sort -o`, awk printing to a file,
    /// `gzip -c >`, and `sed -i` on a 60 MB file (inside the headroom) that its edit makes 230 MB.
    static func debianPrograms(_ env: ContainerEnvironment, user: User, size: String, src: String) {
        let twice = 2 * headroom
        let home = user.home
        let awk = "NR <= 10000000 { print $1, $1 * 2"
        let edit = "s/$/ and some text that makes every line longer/"
        let cases: [(name: String, file: String, minimum: UInt64, script: String)] = [
            ("head", "\(home)/head.bin", 200 << 20,
             "echo want $(head -c 200M /src/random | sha256sum | cut -c1-64); head -c 200M /src/random > \(home)/head.bin"),
            ("sort", "\(home)/new/sorted", twice,
             "echo want $(LC_ALL=C sort /src/numbers | sha256sum | cut -c1-64); LC_ALL=C sort /src/numbers -o \(home)/new/sorted"),
            ("awk", "/tmp/awk.out", twice,
             "echo want $(awk '\(awk) }' /src/numbers | sha256sum | cut -c1-64); awk '\(awk) > \"/tmp/awk.out\" }' /src/numbers"),
            ("gzip", "\(home)/new/random.gz", twice,
             "echo want $(gzip -1 -c /src/random | sha256sum | cut -c1-64); gzip -1 -c /src/random > \(home)/new/random.gz"),
            ("sed", "\(home)/edit", twice,
             "head -n 6500000 /src/numbers > \(home)/edit; echo want $(sed '\(edit)' \(home)/edit | sha256sum | cut -c1-64); sed -i '\(edit)' \(home)/edit"),
        ]
        for item in cases {
            attempt("\(user.testDescription), \(item.name)") {
                try check(env, user: user, size: size, src: src, name: item.name, file: item.file, minimum: item.minimum, item.script)
            }
        }
    }

    static let writers = ["stdio-writer", "stdio-writer-musl"]

    /// A C program that opens its log with fopen while `normal` and fprintfs 200 MiB, built for
    /// glibc and for musl (dynamic, the image's musl loader).
    static func logsOpenedWhileNormal(_ env: ContainerEnvironment, user: User, size: String, src: String, want: String) {
        for program in writers {
            attempt("\(user.testDescription), \(program) opened while normal") {
                try check(env, user: user, size: size, src: src, name: program, file: "\(user.home)/new/log", minimum: 200 << 20,
                          "echo want \(want); /tools/\(program) fprintf \(user.home)/new/log 200")
            }
        }
    }

    /// The same program with its stream opened (and its first line buffered) before the flag
    /// rose: another process of the same user fills the container past the threshold, the
    /// supervisor raises the flag, and only then does the program write its 200 MiB.
    static func logsOpenedBeforeTheFlag(_ env: ContainerEnvironment, user: User, size: String, want: String) {
        for program in writers {
            let label = "\(user.testDescription), \(program) opened before the flag"
            let container = "\(user.label)-gated-\(program)"
            let log = "\(user.home)/new/log"
            attempt(label) {
                let script = "mkdir -p \(user.home)/new && /tools/\(program) fprintf \(log) 200 /tmp/gate && sync && echo got $(sha256sum < \(log))"
                let started = try env.run(size: size, name: container, ["-d"] + user.arguments + ["-v", tools + ":/tools:ro", image, "sh", "-c", script])
                try #require(started.status == 0, "\(label): \(started)")
                defer { remove(env, container) }
                let opened = try ContainerTests.wait(seconds: 60) { try env.dockerd.docker("exec", container, "test", "-e", "/tmp/gate.ready").status == 0 }
                try #require(opened, "\(label): the writer never opened its log \(ContainerTests.logs(env, container))")
                // sync: btrfs counts the bytes in the qgroup the supervisor reads when its transaction commits.
                let fill = try env.dockerd.docker("exec", container, "sh", "-c", "dd if=/dev/urandom of=\(user.home)/fill bs=1M count=76 status=none && sync")
                #expect(fill.status == 0, "\(label): \(fill)")
                let flagged = try ContainerTests.wait(seconds: 60) {
                    try managed(env, spillwayID(env, container))?.state == .spilling
                }
                #expect(flagged, "\(label): the supervisor never raised the flag")
                try env.dockerd.docker("exec", container, "touch", "/tmp/gate")
                let waited = try env.dockerd.docker("wait", container)
                let output = ContainerTests.logs(env, container)
                #expect(waited.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0", "\(label): \(waited) \(output)")
                #expect(output.contains("got \(want)"), "\(label): inside: \(output)")
                try verifySpill(env, label: label, container: container, file: log, minimum: 200 << 20, sha: want)
            }
        }
    }

    /// The whole list for each user of one dockerd: one environment, one container per case.
    @Test(arguments: Host.allCases)
    func everyUserWritesTwiceItsHeadroomThroughStdio(host: Host) throws {
        let started = Date()
        try withContainerEnvironment(mainMegabytes: 3072, subMegabytes: 4096, dockerdArguments: try host.dockerdArguments()) { env in
            try Self.prepareImage(env)
            let size = try Self.size(env)
            let src = try Self.inputs(env.daemon.base)
            let expected = src + "/expected"
            try Command.check([Paths.testProgram("stdio-writer"), "fprintf", expected, "200"])
            let want = try ContainerTests.sha256(expected)
            try FileManager.default.removeItem(atPath: expected)
            for user in host.users {
                let begun = Date()
                Self.debianPrograms(env, user: user, size: size, src: src)
                Self.logsOpenedWhileNormal(env, user: user, size: size, src: src, want: want)
                Self.logsOpenedBeforeTheFlag(env, user: user, size: size, want: want)
                print("ContainerStdioTests \(host.testDescription) \(user.testDescription): \(Int(Date().timeIntervalSince(begun))) s")
            }
        }
        print("ContainerStdioTests \(host.testDescription): \(Int(Date().timeIntervalSince(started))) s")
    }
}
