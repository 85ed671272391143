import Foundation
import SpillwayTestSupport
import Testing

/// `kill -9` of a mover at every step of the move protocol, for every kind of file, then
/// recovery: exactly one complete copy at the original path, no temporary or intent file left.
/// The supervisor's moves run in the hidden, test-only `spillway drain-test` command with
/// `SPILLWAY_TEST_CRASH_AT`; the preload library's moves are staged by hand as it leaves them.
@Suite("Drain crash recovery", .serialized)
struct DrainCrashTests {
    static let steps = [
        "locked", "intent-begun", "temp-created", "data-copied", "metadata-set", "temp-synced", "intent-recorded",
        "renamed", "destination-synced", "source-rechecked", "source-removed", "source-synced", "intent-cleared",
    ]
    static let kinds = ["empty", "one-byte", "4095", "4096", "mib-plus-one", "sparse", "xattrs", "symlink"]

    /// A btrfs main disk with a tree and a btrfs sub disk with a spill area, and a state dir.
    final class Stage {
        let main: LoopFilesystem
        let sub: LoopFilesystem
        let state: String
        var tree: String { main.mountPoint + "/tree" }
        var spill: String { sub.mountPoint + "/spill" }

        init() throws {
            main = try LoopFilesystem(type: "btrfs", megabytes: 256)
            do {
                sub = try LoopFilesystem(type: "btrfs", megabytes: 256, options: "nosuid,nodev")
            } catch {
                main.destroy()
                throw error
            }
            state = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-crash-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        }

        func reset() throws {
            try Command.check(["rm", "-rf", tree, spill, state + "/state.db", state + "/state.db-wal", state + "/state.db-shm"])
            try Command.check(["mkdir", "-p", tree, spill])
        }

        /// Runs `spillway drain-test`; with `crashAt`, expects it to die by SIGKILL.
        @discardableResult
        func drain(crashAt: String? = nil, recoverOnly: Bool = false, batch: Int = 1, staleAfter: Double = 60) throws -> CommandResult {
            var argv = [Paths.spillway, "drain-test", "--state-dir", state, "--container", "c", "--root", tree, "--spill", spill,
                        "--batch", "\(batch)", "--stale-after", "\(staleAfter)"]
            if recoverOnly { argv.append("--recover-only") }
            return try Command.run(argv, environment: crashAt.map { ["SPILLWAY_TEST_CRASH_AT": $0] } ?? [:])
        }

        func destroy() {
            sub.destroy()
            main.destroy()
            try? FileManager.default.removeItem(atPath: state)
        }
    }

    /// Each original entry is in exactly one of the two trees, exactly as it was; nothing else is.
    static func expectOneCopy(_ original: GrowDrainTests.Manifest, _ stage: Stage, _ label: String) throws {
        let tree = try GrowDrainTests.manifest(stage.tree)
        let spill = try GrowDrainTests.manifest(stage.spill)
        #expect(GrowDrainTests.leftovers(tree).isEmpty && GrowDrainTests.leftovers(spill).isEmpty,
                "\(label): leftovers \(GrowDrainTests.leftovers(tree)) \(GrowDrainTests.leftovers(spill))")
        for (path, entry) in original {
            let places = [tree[path], spill[path]].compactMap { $0 }
            if entry["kind"] == .string("dir") { continue }  // directories may be on both sides
            #expect(places.count == 1, "\(label): \(path) is in \(places.count) places")
            #expect(places.first == entry, "\(label): \(path) was \(entry), is \(places.first.map { "\($0)" } ?? "missing")")
        }
    }

    @Test func killingTheDrainAtEveryStepLeavesOneCompleteCopyOfEveryKind() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let stage = try Stage()
        defer { stage.destroy() }
        var runs = 0
        for step in Self.steps {
            for (index, kind) in Self.kinds.enumerated() {
                try stage.reset()
                try GrowDrainTests.make(stage.spill, kinds: Self.kinds)
                let original = try GrowDrainTests.manifest(stage.spill)
                // Batches of one for most runs; every third run moves the whole lot as one batch.
                let batch = index % 3 == 2 ? 64 : 1
                let crashed = try stage.drain(crashAt: "\(step):\(kind)", batch: batch)
                #expect(crashed.status != 0, "\(step) \(kind): the mover did not die: \(crashed)")
                let recovered = try stage.drain(recoverOnly: true)
                #expect(recovered.status == 0, "\(recovered)")
                try Self.expectOneCopy(original, stage, "\(step) \(kind) (batch \(batch)) after recovery")
                // What recovery leaves drains completely.
                let finished = try stage.drain()
                #expect(finished.status == 0, "\(finished)")
                let tree = try GrowDrainTests.manifest(stage.tree)
                for (path, entry) in original where entry["kind"] != .string("dir") {
                    #expect(tree[path] == entry, "\(step) \(kind): \(path) after the final drain")
                }
                #expect(try GrowDrainTests.manifest(stage.spill).isEmpty, "\(step) \(kind): spill area not empty")
                runs += 1
            }
        }
        #expect(runs == Self.steps.count * Self.kinds.count)
    }

    /// The preload library's moves into the spill area, left at each point a crash can leave them
    /// (spillway_slot.h: temporary file, intent record, rename, unlink), are finished or rolled back.
    @Test(arguments: ["temp-only", "torn-intent", "before-rename", "after-rename", "after-unlink", "source-changed-after-rename", "live-mover"])
    func libraryMovesCutShortAreRecovered(state: String) throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let stage = try Stage()
        defer { stage.destroy() }
        try stage.reset()
        try Command.check(["mkdir", "-p", stage.tree + "/d", stage.spill + "/d"])
        try GrowDrainTests.make(stage.tree + "/d", kinds: ["mib-plus-one", "xattrs"])
        let original = try GrowDrainTests.manifest(stage.tree)
        let source = stage.tree + "/d/mib-plus-one"
        var st = stat()
        #expect(lstat(source, &st) == 0)
        let mtime = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        let intentText = "spillway-move 2\nto-spill\nd/mib-plus-one\n\(st.st_ino) \(st.st_size) \(mtime)\n"
        let temp = stage.spill + "/d/.spillway-move.77.78"
        let intent = stage.spill + "/d/.spillway-intent.77.78"
        let destination = stage.spill + "/d/mib-plus-one"
        let origin = "\(st.st_dev):\(st.st_ino)"
        // A copy as the library makes it: data, metadata, the origin attribute.
        func copy(to path: String) throws {
            try Command.check(["cp", "-a", "--sparse=always", source, path])
            try Command.check(["python3", "-c", "import os, sys; os.setxattr(sys.argv[1], 'user.spillway.origin', sys.argv[2].encode())", path, origin])
            try Command.check(["touch", "-h", "-m", "-d", "@\(st.st_mtim.tv_sec).\(String(format: "%09d", st.st_mtim.tv_nsec))", path])
        }
        var lock: Int32 = -1
        switch state {
        case "temp-only":
            try copy(to: temp)
        case "torn-intent":
            try copy(to: temp)
            try String(intentText.prefix(20)).write(toFile: intent, atomically: false, encoding: .utf8)
        case "before-rename":
            try copy(to: temp)
            try intentText.write(toFile: intent, atomically: false, encoding: .utf8)
        case "after-rename":
            try copy(to: destination)
            try intentText.write(toFile: intent, atomically: false, encoding: .utf8)
        case "after-unlink":
            try copy(to: destination)
            try intentText.write(toFile: intent, atomically: false, encoding: .utf8)
            try Command.check(["rm", source])
        case "source-changed-after-rename":
            try copy(to: destination)
            try intentText.write(toFile: intent, atomically: false, encoding: .utf8)
            try Command.check(["sh", "-c", "echo more >> '\(source)'"])
        case "live-mover":
            try copy(to: temp)
            try intentText.write(toFile: intent, atomically: false, encoding: .utf8)
            lock = open(source, O_RDONLY)
            #expect(flock(lock, LOCK_EX) == 0)
        default:
            Issue.record("unknown state \(state)")
        }
        let recovered = try stage.drain(recoverOnly: true, staleAfter: 0)
        #expect(recovered.status == 0, "\(recovered)")
        if lock >= 0 {
            // A mover still holds the source: its files are left alone.
            #expect(FileManager.default.fileExists(atPath: intent), "\(state): a live mover's intent was touched")
            #expect(FileManager.default.fileExists(atPath: temp))
            #expect(recovered.stdout.contains("1 live"), "\(recovered.stdout)")
            close(lock)
            #expect(try stage.drain(recoverOnly: true, staleAfter: 0).status == 0)
        }
        let tree = try GrowDrainTests.manifest(stage.tree)
        let spill = try GrowDrainTests.manifest(stage.spill)
        #expect(GrowDrainTests.leftovers(tree).isEmpty && GrowDrainTests.leftovers(spill).isEmpty, "\(state): \(spill.keys.sorted())")
        let places = [tree["d/mib-plus-one"], spill["d/mib-plus-one"]].compactMap { $0 }
        // Staging with cp read the source, which moved its access time: compare without it.
        func plain(_ entry: [String: AnyHashableJSON]?) -> [String: AnyHashableJSON]? { entry?.filter { $0.key != "atime_ns" } }
        switch state {
        case "after-unlink":
            #expect(places.count == 1 && spill["d/mib-plus-one"] != nil, "\(state)")
        case "after-rename":
            #expect(places.count == 1 && plain(spill["d/mib-plus-one"]) == plain(original["d/mib-plus-one"]), "\(state): finished into the spill area")
        case "source-changed-after-rename":
            #expect(places.count == 1 && tree["d/mib-plus-one"] != nil, "\(state): the changed source is kept")
        default:
            #expect(places.count == 1 && plain(tree["d/mib-plus-one"]) == plain(original["d/mib-plus-one"]), "\(state): rolled back")
        }
        #expect(tree["d/xattrs"] == original["d/xattrs"], "an uninvolved file is untouched")
    }
}
