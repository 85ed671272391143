import SpillwayCore
import Testing

/// What the supervisor calls wrong with a slot it keeps (and repairs).
@Suite("Slot faults")
struct SlotFaultTests {
    static let written = SlotSnapshot(generation: 8, state: .spilling, mainLimit: 64 << 20, containerID: "c1")

    @Test func aSlotAsWrittenHasNoFault() {
        var same = Self.written
        same.generation = 10
        same.updatedNanoseconds = 99
        #expect(SlotFault.faults(content: .valid(same), path: .heldFile, expected: Self.written).isEmpty)
    }

    @Test func eachFaultIsNamed() {
        let truncated = SlotFault.faults(content: .invalid(.wrongSize(0)), path: .heldFile, expected: Self.written)
        #expect(truncated == [.damaged(.wrongSize(0))])
        #expect(truncated[0].reason == "truncated" && truncated[0].description.contains("0 bytes long instead of 4096"))
        #expect(SlotFault.damaged(.wrongSize(8192)).reason == "wrong_size")
        #expect(SlotFault.damaged(.badMagic(0x1234)).reason == "corrupt")
        #expect(SlotFault.damaged(.badMagic(0x1234)).description.contains("magic 0x1234"))

        var other = Self.written
        other.containerID = "c2"
        let foreign = SlotFault.faults(content: .valid(other), path: .heldFile, expected: Self.written)
        #expect(foreign == [.foreign("container id 'c2'")])
        var normal = Self.written
        normal.state = .normal
        #expect(SlotFault.faults(content: .valid(normal), path: .heldFile, expected: Self.written) == [.foreign("state normal")])

        let both = SlotFault.faults(content: .invalid(.badVersion(9)), path: .symlink, expected: Self.written)
        #expect(both == [.damaged(.badVersion(9)), .replaced(.symlink)])
        #expect(both.map(\.reason) == ["corrupt", "replaced"])
        #expect(both[1].description == "was replaced by a symlink")
        #expect(SlotFault.replaced(.missing).reason == "removed")
    }
}
