import Foundation
import SpillwayCore
import SpillwaySystem
import SpillwayTestSupport
import SystemPackage
import Testing

@Suite("Slot files")
struct SlotFileTests {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("slot-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> FilePath { FilePath(directory + "/" + name) }

    @Test func createsAPageWithTheInitialState() throws {
        let slot = try SlotFile.create(at: path("a"), initial: SlotSnapshot(state: .spilling, containerID: "web-1"))
        let read = try slot.read()
        #expect(read.state == .spilling)
        #expect(read.containerID == "web-1")
        #expect(read.generation % 2 == 0 && read.generation > 0)
        let attributes = try FileManager.default.attributesOfItem(atPath: path("a").string)
        #expect(attributes[.size] as? Int == 4096)
        #expect((attributes[.posixPermissions] as? Int) == 0o644)
        // No temporary file is left next to it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["a"])
    }

    @Test func updatesAreSeenThroughAnotherMappingWithAHigherGeneration() throws {
        let writer = try SlotFile.create(at: path("b"), initial: SlotSnapshot())
        let reader = try SlotFile.open(at: path("b"))
        let before = try reader.read()
        try writer.update { $0.state = .draining }
        let after = try reader.read()
        #expect(after.state == .draining)
        #expect(after.generation == before.generation + 2)
    }

    @Test func refusesToOverwriteAnExistingFile() throws {
        _ = try SlotFile.create(at: path("c"), initial: SlotSnapshot(state: .spilling))
        #expect(throws: InvalidFileError.self) { try SlotFile.create(at: path("c"), initial: SlotSnapshot()) }
        #expect(try SlotFile.open(at: path("c")).read().state == .spilling)
    }

    @Test func rejectsFilesThatAreNotSlots() throws {
        _ = FileManager.default.createFile(atPath: path("short").string, contents: Data(count: 100))
        _ = FileManager.default.createFile(atPath: path("zeros").string, contents: Data(count: 4096))
        #expect(throws: InvalidFileError.self) { try SlotFile.open(at: path("short")) }
        #expect(throws: InvalidFileError.self) { try SlotFile.open(at: path("zeros")) }
        #expect(throws: SystemError.self) { try SlotFile.open(at: path("missing")) }
    }

    @Test func failedCreateLeavesNothing() throws {
        #expect(throws: SystemError.self) {
            try SlotFile.create(at: FilePath(directory + "/no/such/dir/slot"), initial: SlotSnapshot())
        }
        #expect(throws: InputError.self) {
            try SlotFile.create(at: path("long"), initial: SlotSnapshot(containerID: String(repeating: "x", count: 80)))
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    }

    /// A reader taking snapshots while another thread updates never sees a mix of two updates.
    @Test func readersNeverSeeATornUpdate() async throws {
        let slotPath = path("race")
        _ = try SlotFile.create(at: slotPath, initial: SlotSnapshot(state: .normal, containerID: "B"))
        let rounds = 20_000
        async let written: Int = Task.detached {
            let writer = try SlotFile.open(at: slotPath)
            for i in 0..<rounds {
                try writer.update { slot in
                    slot.state = i % 2 == 0 ? .spilling : .normal
                    slot.containerID = String(repeating: i % 2 == 0 ? "A" : "B", count: 1 + i % 60)
                    slot.moveEpoch = UInt64(i)
                }
            }
            return rounds
        }.value
        let reader = try SlotFile.open(at: slotPath)
        var torn = 0, reads = 0
        var lastGeneration: UInt64 = 0
        for _ in 0..<200_000 {
            let snapshot = try reader.read()
            reads += 1
            let expectedLetter: Character = snapshot.state == .spilling ? "A" : "B"
            if !snapshot.containerID.allSatisfy({ $0 == expectedLetter }) { torn += 1 }
            if snapshot.moveEpoch > 0, Int(snapshot.moveEpoch) % 60 + 1 != snapshot.containerID.count { torn += 1 }
            #expect(snapshot.generation >= lastGeneration)
            lastGeneration = snapshot.generation
        }
        #expect(try await written == rounds)
        #expect(torn == 0, "\(torn) torn snapshots in \(reads) reads")
        #expect(try reader.read().generation >= UInt64(2 * rounds))
    }

    // MARK: - Files that are not what they should be: errors or repair, never a fault

    func inode(_ name: String) throws -> UInt64 {
        try #require(FileManager.default.attributesOfItem(atPath: path(name).string)[.systemFileNumber] as? UInt64)
    }

    func write(_ bytes: [UInt8], to name: String, truncating: Bool) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path(name).string))
        defer { try? handle.close() }
        if truncating { try handle.truncate(atOffset: 0) }
        try handle.write(contentsOf: Data(bytes))
    }

    /// A held slot truncated to 0, filled with random bytes, or grown: reads say so (no SIGBUS:
    /// nothing is mapped), and a rewrite makes it a whole slot again in the same inode, with a
    /// generation above the last one written.
    @Test(arguments: ["truncated", "random", "grown"])
    func aDamagedSlotReadsAsDamagedAndIsRewrittenInPlace(_ damage: String) throws {
        let slot = try SlotFile.create(at: path("d"), initial: SlotSnapshot(state: .spilling, containerID: "c1"))
        let written = try slot.read()
        let before = try inode("d")
        switch damage {
        case "truncated": try write([], to: "d", truncating: true)
        case "random": try write((0..<4096).map { _ in UInt8.random(in: 0...255) }, to: "d", truncating: false)
        default: try Command.check(["truncate", "-s", "8192", path("d").string])
        }
        guard case .invalid(let found) = try slot.inspect() else {
            Issue.record("\(damage) slot reads as valid")
            return
        }
        switch damage {
        case "truncated": #expect(found == .wrongSize(0) && found.reason == "truncated")
        case "random": #expect(found.reason == "corrupt", "\(found)")
        default: #expect(found == .wrongSize(8192))
        }
        #expect(throws: InvalidFileError.self) { try slot.read() }
        #expect(throws: InvalidFileError.self) { try SlotFile.open(at: path("d")) }
        let repaired = try slot.rewrite(written, after: written.generation)
        #expect(repaired.generation > written.generation && repaired.generation % 2 == 0)
        let again = try SlotFile.open(at: path("d")).read()
        #expect(again.state == .spilling && again.containerID == "c1" && again.generation == repaired.generation)
        #expect(try inode("d") == before)
        #expect((try FileManager.default.attributesOfItem(atPath: path("d").string)[.size] as? Int) == 4096)
    }

    /// A symlink where a slot should be is refused, and what it points to is left alone.
    @Test func aSymlinkIsNeverFollowed() throws {
        let sentinel = directory + "/sentinel"
        try "keep me\n".write(toFile: sentinel, atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: path("link").string, withDestinationPath: sentinel)
        #expect(throws: SystemError.self) { try SlotFile.open(at: path("link")) }
        #expect(throws: InvalidFileError.self) { try SlotFile.create(at: path("link"), initial: SlotSnapshot()) }
        #expect(try String(contentsOfFile: sentinel, encoding: .utf8) == "keep me\n")
    }

    /// The supervisor's slot: truncated, random bytes, replaced by a symlink, removed, or
    /// holding another container's slot, each is found at the next check and put right in
    /// place; the inode stays, a symlink's target is untouched, and removal leaves nothing.
    @Test(arguments: ["truncated", "random", "symlink", "removed", "foreign"])
    func aSupervisedSlotIsRepairedInPlace(_ damage: String) throws {
        let slots = directory + "/slots", spares = directory + "/slots/.held"
        try FileManager.default.createDirectory(atPath: spares, withIntermediateDirectories: true)
        let (slot, found) = try SupervisedSlot.keep(in: FilePath(slots), spares: FilePath(spares), name: "c1.slot",
                                                    snapshot: SlotSnapshot(state: .normal, containerID: "c1"))
        #expect(found.isEmpty)
        try slot.update { $0.state = .spilling }
        #expect(try slot.verify().isEmpty)
        let file = slots + "/c1.slot"
        let before = try #require(FileManager.default.attributesOfItem(atPath: file)[.systemFileNumber] as? UInt64)
        let sentinel = directory + "/sentinel"
        try "sentinel\n".write(toFile: sentinel, atomically: false, encoding: .utf8)
        switch damage {
        case "truncated": try Command.check(["truncate", "-s", "0", file])
        case "random": try Command.check(["dd", "if=/dev/urandom", "of=" + file, "bs=4096", "count=1", "conv=notrunc", "status=none"])
        case "symlink": try Command.check(["ln", "-sf", sentinel, file])
        case "removed": try FileManager.default.removeItem(atPath: file)
        default:
            _ = try SlotFile.create(at: FilePath(directory + "/other.slot"), initial: SlotSnapshot(state: .normal, containerID: "c2"))
            try Command.check(["dd", "if=" + directory + "/other.slot", "of=" + file, "conv=notrunc", "status=none"])
        }
        let faults = try slot.verify()
        let expected: [String: String] = ["truncated": "truncated", "random": "corrupt", "symlink": "replaced", "removed": "removed", "foreign": "foreign"]
        #expect(faults.map(\.reason) == [expected[damage]!], "\(faults)")
        #expect(try slot.verify().isEmpty, "repaired for good")
        let after = try SlotFile.open(at: FilePath(file))
        #expect(after.inode == before)
        let snapshot = try after.read()
        #expect(snapshot.state == .spilling && snapshot.containerID == "c1")
        #expect(try String(contentsOfFile: sentinel, encoding: .utf8) == "sentinel\n")
        slot.remove()
        #expect(try FileManager.default.contentsOfDirectory(atPath: slots) == [".held"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: spares).isEmpty)
    }
}
