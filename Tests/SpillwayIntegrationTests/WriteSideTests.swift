import Foundation
import SpillwayTestSupport
import Testing

/// The write side of the preload library against a real btrfs qgroup quota: writes past the
/// quota succeed (the file moves to the spill area and the write is retried), writers that
/// opened their file before the flag rose follow it into the spill area, and nothing is lost
/// or duplicated.
@Suite("Preload library: writes, moves and quotas", .serialized)
struct WriteSideTests {
    static let fixtures = Paths.packageRoot.appendingPathComponent("Tests/SpillwayIntegrationTests/Fixtures").path

    /// A container tree under a 48 MiB qgroup limit on btrfs, its spill area on ext4, a slot.
    struct Quota {
        let main: LoopFilesystem
        let sub: LoopFilesystem
        let tree: String
        let spill: String
        let slot: String

        var environment: [String: String] {
            ["LD_PRELOAD": Paths.glibcLibrary, "SPILLWAY_SLOT": slot, "SPILLWAY_SPILL": spill, "SPILLWAY_ROOT": tree]
        }

        func set(_ state: String) throws {
            try Command.check([Paths.spillway, "slot", "set", slot, "--state", state])
        }

        func run(_ argv: [String]) throws -> CommandResult {
            try Command.run(argv, environment: environment, directory: tree)
        }

        func onMain(_ rel: String) -> Bool { FileManager.default.fileExists(atPath: tree + "/" + rel) }
        func inSpill(_ rel: String) -> Bool { FileManager.default.fileExists(atPath: spill + "/" + rel) }
    }

    func withQuota(limit: String = "48M", subMegabytes: Int = 512, state: String = "normal", _ body: (Quota) throws -> Void) throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let main = try LoopFilesystem(type: "btrfs", megabytes: 512)
        defer { main.destroy() }
        let sub = try LoopFilesystem(type: "ext4", megabytes: subMegabytes)
        defer { sub.destroy() }
        try Command.check(["btrfs", "quota", "enable", main.mountPoint])
        let tree = main.mountPoint + "/container"
        try Command.check(["btrfs", "subvolume", "create", tree])
        try Command.check(["btrfs", "qgroup", "limit", limit, tree])
        try FileManager.default.createDirectory(atPath: tree + "/data", withIntermediateDirectories: true)
        let spill = sub.mountPoint + "/spill"
        try FileManager.default.createDirectory(atPath: spill, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let slot = sub.mountPoint + "/slot"
        try Command.check([Paths.spillway, "slot", "create", slot, "--state", state])
        try body(Quota(main: main, sub: sub, tree: tree, spill: spill, slot: slot))
    }

    /// Waits (up to 20 s) until `condition` holds; the machine may be busy.
    static func wait(until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if condition() { return true }
            Thread.sleep(forTimeInterval: 0.01)
        }
        return condition()
    }

    /// Bytes in `path` now (0 if it does not exist).
    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
    }

    /// What appender.py writes: "TAG 000000" ... "TAG <count-1>".
    static func records(_ tag: String, _ count: Int) -> [String] {
        (0..<count).map { index in
            let digits = String(index)
            return tag + " " + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
        }
    }

    static func sha256(_ path: String) throws -> String {
        String(try Command.check(["sha256sum", path]).prefix(64))
    }

    static func randomFile(megabytes: Int, in directory: String) throws -> String {
        let path = directory + "/source-\(megabytes)M"
        try Command.check(["dd", "if=/dev/urandom", "of=\(path)", "bs=1M", "count=\(megabytes)", "status=none"])
        return path
    }

    @Test func ddOfTwiceTheQuotaSucceedsWhileNormal() throws {
        try withQuota { q in
            let source = try Self.randomFile(megabytes: 96, in: q.sub.mountPoint)
            let plain = try Command.run(["dd", "if=\(source)", "of=\(q.tree)/data/plain", "bs=1M", "status=none"])
            #expect(plain.status != 0 && plain.stderr.contains("Disk quota exceeded"), "without the library: \(plain)")
            try FileManager.default.removeItem(atPath: q.tree + "/data/plain")
            let dd = try q.run(["dd", "if=\(source)", "of=data/big", "bs=1M", "status=none"])
            #expect(dd.status == 0, "\(dd)")
            #expect(q.inSpill("data/big") && !q.onMain("data/big"))
            #expect(try Self.sha256(q.spill + "/data/big") == Self.sha256(source))
            // The process that spilled finds its file by its own name at once.
            let script = """
                import hashlib, shutil
                with open('\(source)', 'rb') as src, open('data/again', 'wb') as dst: shutil.copyfileobj(src, dst)
                print(hashlib.sha256(open('data/again', 'rb').read()).hexdigest())
                """
            let same = try q.run(["python3", "-c", script])
            let expected = try Self.sha256(source)
            #expect(same.status == 0 && same.stdout.hasPrefix(expected), "\(same)")
        }
    }

    @Test func cpOfAFileLargerThanTheQuotaSucceeds() throws {
        try withQuota { q in
            let source = try Self.randomFile(megabytes: 64, in: q.sub.mountPoint)
            let cp = try q.run(["cp", source, "data/copy"])
            #expect(cp.status == 0, "\(cp)")
            #expect(try Self.sha256(q.spill + "/data/copy") == Self.sha256(source))
            #expect(!q.onMain("data/copy"))
        }
    }

    @Test func theErrorComesOnlyWhenTheSpillAreaIsFullToo() throws {
        try withQuota(subMegabytes: 64) { q in
            let dd = try q.run(["dd", "if=/dev/zero", "of=data/huge", "bs=1M", "count=200", "status=none"])
            #expect(dd.status != 0)
            #expect(dd.stderr.contains("No space left on device") || dd.stderr.contains("Disk quota exceeded"), "\(dd)")
        }
    }

    @Test func aWriterFromBeforeTheFlipFollowsItsFile() throws {
        try withQuota { q in
            let env = q.environment
            let writer = Process()
            writer.executableURL = URL(fileURLWithPath: try Command.resolve("python3"))
            writer.arguments = [Self.fixtures + "/appender.py", q.tree + "/data/log", "A", "300", "0.003"]
            writer.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
            try writer.run()
            #expect(Self.wait { Self.size(q.tree + "/data/log") >= 50 * 9 }, "the log starts on the main disk")
            try q.set("spilling")
            writer.waitUntilExit()
            #expect(writer.terminationStatus == 0)
            #expect(q.inSpill("data/log") && !q.onMain("data/log"))
            let lines = try String(contentsOfFile: q.spill + "/data/log", encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(lines == Self.records("A", 300))
        }
    }

    @Test func twoAppendersAcrossTheFlipLoseAndDuplicateNothing() throws {
        try withQuota { q in
            var writers: [Process] = []
            for tag in ["A", "B"] {
                let writer = Process()
                writer.executableURL = URL(fileURLWithPath: try Command.resolve("python3"))
                writer.arguments = [Self.fixtures + "/appender.py", q.tree + "/data/shared.log", tag, "400", "0.002"]
                writer.environment = ProcessInfo.processInfo.environment.merging(q.environment) { _, new in new }
                try writer.run()
                writers.append(writer)
            }
            #expect(Self.wait { Self.size(q.tree + "/data/shared.log") >= 100 * 9 })
            try q.set("spilling")
            writers.forEach { $0.waitUntilExit() }
            #expect(writers.allSatisfy { $0.terminationStatus == 0 })
            #expect(q.inSpill("data/shared.log") && !q.onMain("data/shared.log"))
            let lines = try String(contentsOfFile: q.spill + "/data/shared.log", encoding: .utf8).split(separator: "\n").map(String.init)
            for tag in ["A", "B"] {
                let mine = lines.filter { $0.hasPrefix(tag + " ") }
                #expect(mine == Self.records(tag, 400), "\(tag)'s records, in order, once each")
            }
            #expect(lines.count == 800)
        }
    }

    @Test func randomPwritesAcrossTheFlipMatchTheModel() throws {
        try withQuota { q in
            let writer = Process()
            let out = Pipe()
            writer.executableURL = URL(fileURLWithPath: try Command.resolve("python3"))
            writer.arguments = [Self.fixtures + "/pwriter.py", q.tree + "/data/random", "600", "0.001"]
            writer.environment = ProcessInfo.processInfo.environment.merging(q.environment) { _, new in new }
            writer.standardOutput = out
            try writer.run()
            #expect(Self.wait { Self.size(q.tree + "/data/random") == 1 << 20 })
            Thread.sleep(forTimeInterval: 0.1)
            try q.set("spilling")
            writer.waitUntilExit()
            let model = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(writer.terminationStatus == 0)
            #expect(try Self.sha256(q.spill + "/data/random") == model)
            #expect(!q.onMain("data/random"))
        }
    }

    /// Opening a main-disk file for writing while spilling moves it whole first, keeping its
    /// content, mode, owner, times, extended attributes and holes; with O_TRUNC only the metadata.
    @Test func openForWritingMovesTheWholeFileWithItsMetadata() throws {
        try withQuota(state: "spilling") { q in
            let file = q.tree + "/data/kept"
            try Command.check(["sh", "-c", "printf 'head' > \(file) && truncate -s 3M \(file) && printf 'tail' >> \(file)"])
            try Command.check(["chown", "1234:5678", file])
            try Command.check(["chmod", "0640", file])
            try Command.check(["touch", "-d", "2020-02-02 02:02:02", file])
            try Command.check(["python3", "-c", "import os; os.setxattr('\(file)', 'user.colour', b'blue')"])
            let before = try Self.sha256(file)
            let append = try q.run(["sh", "-c", "echo more >> data/kept"])
            #expect(append.status == 0, "\(append)")
            #expect(!q.onMain("data/kept") && q.inSpill("data/kept"))
            let moved = q.spill + "/data/kept"
            let stat = try Command.check(["stat", "-c", "%u:%g %a %s", moved]).trimmingCharacters(in: .whitespacesAndNewlines)
            let expectedSize = 3 * 1024 * 1024 + 4 + 5
            #expect(stat == "1234:5678 640 \(expectedSize)")
            let xattr = try Command.check(["python3", "-c", "import os; print(os.getxattr('\(moved)', 'user.colour').decode())"])
            #expect(xattr == "blue\n")
            let blocks = Int(try Command.check(["stat", "-c", "%b", moved]).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
            #expect(blocks * 512 < 1024 * 1024, "the 3 MiB hole stayed a hole (\(blocks) blocks)")
            let content = try Command.check(["sh", "-c", "head -c 3145732 \(moved) | sha256sum"])
            #expect(content.hasPrefix(before))

            let truncated = q.tree + "/data/truncated"
            try Command.check(["sh", "-c", "head -c 1000000 /dev/urandom > \(truncated) && chmod 0600 \(truncated)"])
            let overwrite = try q.run(["sh", "-c", "echo fresh > data/truncated"])
            #expect(overwrite.status == 0)
            #expect(try String(contentsOfFile: q.spill + "/data/truncated", encoding: .utf8) == "fresh\n")
            #expect(try Command.check(["stat", "-c", "%a", q.spill + "/data/truncated"]) == "600\n")
            #expect(!q.onMain("data/truncated"))
            // No temporary or intent file is left behind.
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: q.spill + "/data").filter { $0.hasPrefix(".spillway-") }
            #expect(leftovers.isEmpty)
        }
    }
}
