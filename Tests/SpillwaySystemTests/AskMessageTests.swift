import CSpillway
import Foundation
import SpillwayCore
import SpillwayTestSupport
import Testing
@testable import SpillwaySystem

/// The ask socket's wire format (decoded from `struct spillway_ask` offsets) and the walk that
/// makes spill-area parents beneath both trees.
@Suite("Ask messages and spill-area parents")
struct AskMessageTests {
    func decode(_ bytes: [UInt8], length: Int? = nil) throws -> AskMessage.Fields {
        try bytes.withUnsafeBytes { try AskMessage.decode($0, length: length ?? bytes.count) }
    }

    @Test func aRequestRoundTrips() throws {
        let fields = try decode(AskMessage.request(kind: AskRequest.parentsKind, containerID: "c1", path: "tmp/a/f"))
        #expect(fields == AskMessage.Fields(kind: 1, containerID: "c1", path: "tmp/a/f", reason: ""))
        #expect(AskMessage.requestSize == 4440 && AskMessage.replySize == 16)
        #expect(AskMessage.replyError(AskMessage.reply(error: EPERM)) == EPERM)
    }

    /// The C compiler's layout of the messages (CShim/tests/slot_layout.c) is Swift's.
    @Test func theLayoutIsTheSameFromCAndSwift() throws {
        var c: [String: UInt64] = [:]
        for line in try Command.check([Paths.testProgram("slot-layout")]).split(separator: "\n") {
            let parts = line.split(separator: " ")
            if parts.count == 2, parts[0].hasPrefix("ask."), let value = UInt64(parts[1]) { c[String(parts[0])] = value }
        }
        #expect(c["ask.size"] == UInt64(MemoryLayout<spillway_ask>.size))
        #expect(c["ask.reply_size"] == UInt64(MemoryLayout<spillway_ask_reply>.size))
        #expect(c["ask.magic"] == UInt64(SPILLWAY_ASK_MAGIC))
        let swift: [String: Int?] = [
            "magic": MemoryLayout<spillway_ask>.offset(of: \.magic), "version": MemoryLayout<spillway_ask>.offset(of: \.version),
            "kind": MemoryLayout<spillway_ask>.offset(of: \.kind), "path_len": MemoryLayout<spillway_ask>.offset(of: \.path_len),
            "reason_len": MemoryLayout<spillway_ask>.offset(of: \.reason_len),
            "container_id": MemoryLayout<spillway_ask>.offset(of: \.container_id),
            "path": MemoryLayout<spillway_ask>.offset(of: \.path), "reason": MemoryLayout<spillway_ask>.offset(of: \.reason),
        ]
        for (field, offset) in swift { #expect(offset.map(UInt64.init) == c["ask.offset.\(field)"], "offset of \(field)") }
        #expect(c["ask.reply.offset.error"] == MemoryLayout<spillway_ask_reply>.offset(of: \.error).map(UInt64.init))
    }

    @Test func malformedMessagesAreRefused() throws {
        let good = AskMessage.request(kind: 1, containerID: "c1", path: "tmp/a/f")
        var wrongMagic = good
        wrongMagic[0] ^= 0xff
        var unterminated = good
        for i in 88..<(88 + 4096) { unterminated[i] = 0x61 }
        var lying = good
        lying[12] = 3  // path_len 3, the path is 7 bytes
        let cases: [([UInt8], Int)] = [(Array(good.prefix(100)), 100), (good, 9000), (wrongMagic, good.count),
                                       (unterminated, good.count), (lying, good.count)]
        for (bytes, length) in cases {
            #expect(throws: AskRefusal.self) { try decode(bytes, length: length) }
        }
    }

    /// Parents are made with the main disk's owners and modes; a symlink in either tree is
    /// refused and nothing is made through it; a missing main-disk directory is answered ENOENT.
    @Test func parentsMirrorTheMainDiskAndNeverFollowSymlinks() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-ask-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: base) }
        let main = base + "/main", spill = base + "/spill", outside = base + "/outside"
        for dir in [main, spill, outside] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try Command.check(["install", "-d", "-m", "1777", main + "/tmp"])
        try Command.check(["install", "-d", "-o", "65534", "-g", "65534", "-m", "0750", main + "/tmp/mine"])
        let outcome = try SpillParents.make(["tmp", "mine", "f"], mainRoot: main, spillRoot: spill)
        #expect(outcome.made == ["tmp", "tmp/mine"])
        var st = stat()
        #expect(lstat(spill + "/tmp", &st) == 0 && st.st_mode & 0o7777 == 0o1777 && st.st_uid == 0)
        #expect(lstat(spill + "/tmp/mine", &st) == 0 && st.st_mode & 0o7777 == 0o750 && st.st_uid == 65534 && st.st_gid == 65534)
        #expect(try SpillParents.make(["tmp", "mine", "g"], mainRoot: main, spillRoot: spill).made.isEmpty)

        // A symlink in the main-disk tree, and one in the spill area.
        try FileManager.default.createSymbolicLink(atPath: main + "/tmp/evil", withDestinationPath: outside)
        #expect { try SpillParents.make(["tmp", "evil", "x", "f"], mainRoot: main, spillRoot: spill) }
            throws: { ($0 as? AskRefusal)?.reason == .outsideTree }
        try FileManager.default.createDirectory(atPath: main + "/d/x", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: spill + "/d", withDestinationPath: outside)
        #expect { try SpillParents.make(["d", "x", "f"], mainRoot: main, spillRoot: spill) }
            throws: { ($0 as? AskRefusal)?.reason == .outsideTree }
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside).isEmpty)
        #expect { try SpillParents.make(["nosuch", "f"], mainRoot: main, spillRoot: spill) }
            throws: { ($0 as? SpillParents.Unserved)?.errno == ENOENT }
    }
}
