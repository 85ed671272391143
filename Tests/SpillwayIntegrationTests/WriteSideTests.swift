import CSpillway
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
        try withQuotaStage(limit: limit, subMegabytes: subMegabytes) { stage in
            try FileManager.default.createDirectory(atPath: stage.tree + "/data", withIntermediateDirectories: true)
            let slot = stage.sub.mountPoint + "/slot"
            try Command.check([Paths.spillway, "slot", "create", slot, "--state", state])
            try body(Quota(main: stage.main, sub: stage.sub, tree: stage.tree, spill: stage.spill, slot: slot))
        }
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

    /// A slot overwritten with random bytes after the library mapped it means nobody watches the
    /// spill area: the library is plain libc then, and a write past the quota fails as without it.
    @Test func aSlotTurnedToGarbageRescuesNothing() throws {
        try withQuota { q in
            let script = """
                import errno, os
                f = open('data/first', 'wb'); f.write(b'x'); f.close()   # the library has mapped the slot
                with open('\(q.slot)', 'r+b') as slot: slot.write(os.urandom(64))
                try:
                    with open('data/big', 'wb') as out:
                        for _ in range(96): out.write(os.urandom(1 << 20))
                    print('wrote all')
                except OSError as e:
                    print(errno.errorcode[e.errno])
                """
            let run = try q.run(["python3", "-c", script])
            #expect(run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "EDQUOT", "\(run)")
            #expect(!q.inSpill("data/big"), "a garbage slot still rescued into the spill area")
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

    /// What sqlite_grow.py prints when all `rows` rows are there and right.
    static func sqliteSummary(rows: Int) -> String { "ok \(rows) 0" }

    @Test func anSQLiteInsertLoopPastTheQuotaSucceedsWhileNormal() throws {
        try withQuota { q in
            let (rows, size) = (400, 200_000) // 80 MB into a 48 MiB quota
            let grow = try q.run(["python3", Self.fixtures + "/sqlite_grow.py", "data/app.db", "delete", "\(rows)", "\(size)", "0"])
            #expect(grow.status == 0, "\(grow)")
            #expect(grow.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == Self.sqliteSummary(rows: rows), "\(grow)")
            #expect(q.inSpill("data/app.db") && !q.onMain("data/app.db"))
            // The supervisor raises the flag once it sees the rescued data; then a fresh reader,
            // through the library, finds every row where the writer left it.
            try q.set("spilling")
            let check = try q.run(["sqlite3", "data/app.db", "pragma integrity_check; select count(*) from t"])
            #expect(check.stdout == "ok\n\(rows)\n", "\(check)")
        }
    }

    /// A database opened before the flag rose keeps growing after it (SQLite remembers the file's
    /// inode and refuses to write if a stat of its path shows another: the library presents the
    /// moved file's original identity).
    @Test(arguments: ["delete", "wal"])
    func anSQLiteDatabaseGrowsAcrossTheFlip(journal: String) throws {
        try withQuota(limit: "400M") { q in
            let (rows, size) = (300, 20_000)
            let writer = Process()
            let output = Pipe()
            writer.executableURL = URL(fileURLWithPath: try Command.resolve("python3"))
            writer.arguments = [Self.fixtures + "/sqlite_grow.py", q.tree + "/data/app.db", journal, "\(rows)", "\(size)", "0.004"]
            writer.environment = ProcessInfo.processInfo.environment.merging(q.environment) { _, new in new }
            writer.standardOutput = output
            try writer.run()
            #expect(Self.wait { Self.size(q.tree + "/data/app.db") >= 50 * size }, "the database starts on the main disk")
            try q.set("spilling")
            writer.waitUntilExit()
            let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(writer.terminationStatus == 0)
            #expect(printed.trimmingCharacters(in: .whitespacesAndNewlines) == Self.sqliteSummary(rows: rows))
            #expect(q.inSpill("data/app.db") && !q.onMain("data/app.db"))
            #expect(!q.onMain("data/app.db-wal") && !q.onMain("data/app.db-journal"))
            let check = try Command.run(["sqlite3", q.spill + "/data/app.db", "pragma integrity_check; select count(*) from t"])
            #expect(check.stdout == "ok\n\(rows)\n", "\(check)")
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
            let identity = "import os; s = os.stat('data/kept'); f = os.open('data/kept', os.O_RDONLY); t = os.fstat(f); print(s.st_dev, s.st_ino, t.st_dev, t.st_ino)"
            let original = try q.run(["python3", "-c", identity])
            let append = try q.run(["sh", "-c", "echo more >> data/kept"])
            #expect(append.status == 0, "\(append)")
            #expect(!q.onMain("data/kept") && q.inSpill("data/kept"))
            // Through the library the moved file keeps the identity it had (stat and fstat alike),
            // though the spill area's copy is another inode on another device.
            let after = try q.run(["python3", "-c", identity])
            #expect(after.stdout == original.stdout && original.status == 0, "before: \(original) after: \(after)")
            let plain = try Command.check(["stat", "-c", "%d %i", q.spill + "/data/kept"])
            #expect(!original.stdout.hasPrefix(plain.trimmingCharacters(in: .whitespacesAndNewlines)))
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

    /// Does any open file description hold a writer mark on `path` (spillway_slot.h)?
    static func hasWriterMark(_ path: String) throws -> Bool {
        let fd = open(path, O_RDONLY | O_NOFOLLOW)
        try #require(fd >= 0, "open \(path): errno \(errno)")
        defer { close(fd) }
        var probe = flock()
        probe.l_type = Int16(F_WRLCK)
        probe.l_whence = Int16(SEEK_SET)
        probe.l_start = off_t(SPILLWAY_WRITER_MARK_OFFSET)
        probe.l_len = off_t(SPILLWAY_WRITER_MARK_SPAN)
        let ofdGetLock: Int32 = 36 // F_OFD_GETLK, which Glibc's Swift overlay does not export
        try #require(fcntl(fd, ofdGetLock, &probe) == 0, "F_OFD_GETLK: errno \(errno)")
        return probe.l_type != Int16(F_UNLCK)
    }

    @Test func writersOfSpilledFilesCarryTheDrainsMark() throws {
        try withQuota(state: "spilling") { q in
            try FileManager.default.createDirectory(atPath: q.spill + "/data", withIntermediateDirectories: true)
            try Data("spilled\n".utf8).write(to: URL(fileURLWithPath: q.spill + "/data/held"))
            #expect(try !Self.hasWriterMark(q.spill + "/data/held"))
            // Two writers at once (a write-only and a read-write one), each with its own mark.
            let script = """
                import os, sys, time
                a = os.open('data/held', os.O_WRONLY | os.O_APPEND)
                b = open('data/held', 'r+b')
                print('open', flush=True)
                sys.stdin.readline()
                os.close(a)
                print('one closed', flush=True)
                sys.stdin.readline()
                """
            let writer = Process()
            let input = Pipe(), output = Pipe()
            writer.executableURL = URL(fileURLWithPath: try Command.resolve("python3"))
            writer.arguments = ["-c", script]
            writer.currentDirectoryURL = URL(fileURLWithPath: q.tree)
            writer.environment = ProcessInfo.processInfo.environment.merging(q.environment) { _, new in new }
            writer.standardInput = input
            writer.standardOutput = output
            try writer.run()
            defer { if writer.isRunning { writer.terminate() } }
            let lines = output.fileHandleForReading
            func nextLine() -> String {
                var line = Data()
                while let byte = try? lines.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line += byte }
                return String(decoding: line, as: UTF8.self)
            }
            #expect(nextLine() == "open")
            #expect(try Self.hasWriterMark(q.spill + "/data/held"))
            input.fileHandleForWriting.write(Data("\n".utf8))
            #expect(nextLine() == "one closed")
            #expect(try Self.hasWriterMark(q.spill + "/data/held"), "the other writer still holds its mark")
            input.fileHandleForWriting.write(Data("\n".utf8))
            writer.waitUntilExit()
            #expect(writer.terminationStatus == 0)
            #expect(try !Self.hasWriterMark(q.spill + "/data/held"), "marks go with the descriptions")
            // Readers carry no mark.
            let reader = try q.run(["cat", "data/held"])
            #expect(reader.stdout == "spilled\n")
        }
    }

    /// A writer that opens a spilled file while the drain is moving it back waits for the move
    /// (the drain holds flock(LOCK_EX) on the file) and then writes to the file's new home.
    @Test func aWriterOpeningDuringADrainFollowsTheFileBack() throws {
        try withQuota(state: "draining") { q in
            let spilled = q.spill + "/data/back"
            try FileManager.default.createDirectory(atPath: q.spill + "/data", withIntermediateDirectories: true)
            try Data("first\n".utf8).write(to: URL(fileURLWithPath: spilled))
            let lock = open(spilled, O_RDONLY)
            try #require(lock >= 0 && flock(lock, LOCK_EX) == 0)
            let writer = Process()
            writer.executableURL = URL(fileURLWithPath: "/bin/sh")
            writer.arguments = ["-c", "echo second >> data/back"]
            writer.currentDirectoryURL = URL(fileURLWithPath: q.tree)
            writer.environment = ProcessInfo.processInfo.environment.merging(q.environment) { _, new in new }
            try writer.run()
            Thread.sleep(forTimeInterval: 0.3)
            #expect(writer.isRunning, "the writer waits while the file is being moved")
            // What the drain does while it holds the lock: the copy on the main disk, the spilled one removed.
            try Command.check(["cp", "-p", spilled, q.tree + "/data/back"])
            try FileManager.default.removeItem(atPath: spilled)
            close(lock)
            writer.waitUntilExit()
            #expect(writer.terminationStatus == 0)
            #expect(try String(contentsOfFile: q.tree + "/data/back", encoding: .utf8) == "first\nsecond\n")
            #expect(!q.inSpill("data/back"))
        }
    }
}
