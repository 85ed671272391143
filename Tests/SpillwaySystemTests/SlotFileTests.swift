import Foundation
import SpillwayCore
import SpillwaySystem
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
}
