import Foundation
import SpillwayTestSupport
import Testing

/// The drain is root working in trees a container controls. Racers swap directories of the
/// spill area and of the tree for symlinks to an outside sentinel (renameat2 RENAME_EXCHANGE)
/// while drains run; symlinks, FIFOs and device nodes are planted at every position. Pass means:
/// the sentinel is untouched, no drain hangs, and every ordinary file ends up back in the tree.
@Suite("Drain under attack", .serialized)
struct DrainAttackTests {
    static let racer = Paths.testProgram("swap-racer")
    static let directories = 10

    /// Plants ordinary files and traps in the spill area (and traps in the tree).
    static func plant(_ stage: DrainCrashTests.Stage, sentinel: String, round: Int) throws {
        var script = "set -e\n"
        for d in 0..<directories {
            for side in ["s", "t"] {
                let dir = "\(stage.spill)/\(side)\(d)"
                script += "mkdir -p '\(dir)/inner'\n"
                for f in 0..<20 { script += "echo 'round \(round) file \(f)' > '\(dir)/f\(round)-\(f)'\n" }
                script += "echo inner > '\(dir)/inner/g\(round)'\n"
                script += "ln -sfn '\(sentinel)' '\(dir)/link\(round)'\n"
                script += "ln -sfn '\(sentinel)/secret' '\(dir)/inner/link\(round)'\n"
                script += "[ -e '\(dir)/fifo\(round)' ] || mkfifo '\(dir)/fifo\(round)'\n"
                script += "[ -e '\(dir)/null\(round)' ] || mknod '\(dir)/null\(round)' c 1 3\n"
            }
        }
        // Traps on the tree side: where the drain would make directories or files.
        script += "mkdir -p '\(stage.tree)'\n"
        script += "[ -e '\(stage.tree)/trap-dir' ] || ln -s '\(sentinel)' '\(stage.tree)/trap-dir'\n"
        script += "mkdir -p '\(stage.spill)/trap-dir'; echo x > '\(stage.spill)/trap-dir/would-escape'\n"
        script += "[ -e '\(stage.tree)/trap-fifo' ] || mkfifo '\(stage.tree)/trap-fifo'\n"
        script += "mkdir -p '\(stage.spill)/trap-fifo'; echo x > '\(stage.spill)/trap-fifo/would-block'\n"
        try Command.check(["sh", "-c", script])
        // The tree-side halves of the raced directories exist already (merged directories).
        for d in 0..<directories { try Command.check(["mkdir", "-p", "\(stage.tree)/t\(d)"]) }
    }

    @Test func racersAndTrapsNeverLeadTheDrainOutsideTheTrees() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        try #require(FileManager.default.isExecutableFile(atPath: Self.racer), "run `make -C CShim` first")
        let stage = try DrainCrashTests.Stage()
        defer { stage.destroy() }
        try stage.reset()
        let sentinel = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-sentinel-\(UUID().uuidString.prefix(8))").path
        try Command.check(["mkdir", "-p", sentinel + "/sub"])
        defer { try? FileManager.default.removeItem(atPath: sentinel) }
        try "do not touch\n".write(toFile: sentinel + "/secret", atomically: false, encoding: .utf8)
        try "nested\n".write(toFile: sentinel + "/sub/file", atomically: false, encoding: .utf8)
        let before = try GrowDrainTests.manifest(sentinel)
        let sentinelDirectory = try Command.check(["stat", "-c", "%Y.%y %h %s", sentinel])

        var swaps = 0
        var round = 0
        var racers: [Process] = []
        defer { racers.forEach { if $0.isRunning { kill($0.processIdentifier, SIGKILL) } } }
        while swaps < 200_000 {  // 2 swaps per racer iteration: at least 100,000 iterations
            round += 1
            try Self.plant(stage, sentinel: sentinel, round: round)
            let spillDirs = (0..<Self.directories).map { "\(stage.spill)/s\($0)" }
            let treeDirs = (0..<Self.directories).map { "\(stage.tree)/t\($0)" }
            let pipes = [Pipe(), Pipe()]
            racers = []
            for (dirs, pipe) in zip([spillDirs, treeDirs], pipes) {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: Self.racer)
                process.arguments = ["3000", sentinel] + dirs
                process.standardOutput = pipe
                try process.run()
                racers.append(process)
            }
            // Drains while the racers run; each must end on its own (timeout: a hang).
            var drains = 0
            repeat {
                let result = try Command.run(["timeout", "60", Paths.spillway, "drain-test", "--state-dir", stage.state,
                                              "--container", "c", "--root", stage.tree, "--spill", stage.spill, "--batch", "8"])
                #expect(result.status != 124, "a drain hung:\n\(result)")
                #expect(!result.stderr.contains("Fatal error"), "\(result)")
                drains += 1
            } while racers.contains(where: \.isRunning) && drains < 50
            for (process, pipe) in zip(racers, pipes) {
                process.waitUntilExit()
                swaps += Int(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            }
            #expect(try GrowDrainTests.manifest(sentinel) == before, "round \(round): the sentinel changed")
            if round > 40 { break }
        }
        #expect(swaps >= 200_000, "only \(swaps) swaps")
        // Without racers, every ordinary file drains; the traps stay where they are.
        let last = try Command.run(["timeout", "60", Paths.spillway, "drain-test", "--state-dir", stage.state,
                                    "--container", "c", "--root", stage.tree, "--spill", stage.spill])
        #expect(last.status == 0, "\(last)")
        let tree = try GrowDrainTests.manifest(stage.tree)
        // A drain that listed a raced directory at the moment it stood under the racer's other
        // name (DIR.evil) moved its files under that name: the container had renamed it.
        func entry(_ directory: String, _ rest: String) -> [String: AnyHashableJSON]? {
            tree[directory + "/" + rest] ?? tree[directory + ".evil/" + rest]
        }
        for d in 0..<Self.directories {
            for side in ["s", "t"] {
                for r in 1...round {
                    #expect(entry("\(side)\(d)", "f\(r)-0") != nil, "\(side)\(d)/f\(r)-0 did not come back")
                    #expect(entry("\(side)\(d)", "inner/link\(r)")?["kind"] == .string("symlink"), "\(side)\(d)/inner/link\(r)")
                    #expect(entry("\(side)\(d)", "fifo\(r)")?["kind"] == .string("node"), "\(side)\(d)/fifo\(r)")
                }
            }
        }
        #expect(try GrowDrainTests.manifest(stage.spill).keys.filter { $0.hasSuffix("/inner/link1") }.isEmpty,
                "a symbolic link stayed in the spill area")
        #expect(last.stdout.contains("deferred trap-dir"), "\(last.stdout)")
        #expect(last.stdout.contains("deferred trap-fifo"), "\(last.stdout)")
        #expect(try GrowDrainTests.manifest(sentinel) == before, "the sentinel changed")
        #expect(try Command.check(["stat", "-c", "%Y.%y %h %s", sentinel]) == sentinelDirectory)
        print("attack: \(swaps) swaps in \(round) rounds")
    }
}
