import SpillwayCore
import Testing

@Suite("Slot states and program kinds")
struct SlotStateTests {
    @Test(arguments: SlotState.allCases)
    func parsesItsOwnName(state: SlotState) throws {
        #expect(try SlotState(parsing: state.description) == state)
        #expect(try SlotState(parsing: state.description.uppercased()) == state)
    }

    @Test func rejectsUnknownNameNamingIt() {
        #expect(throws: InputError("--state 'full' is not a state; use one of: normal, spilling, draining")) {
            try SlotState(parsing: "full", what: "--state")
        }
    }

    @Test func rejectsOverlongContainerID() {
        #expect(throws: InputError.self) { try SlotSnapshot.validate(containerID: String(repeating: "a", count: 64)) }
        #expect(throws: Never.self) { try SlotSnapshot.validate(containerID: String(repeating: "a", count: 63)) }
    }

    @Test func programKindFromTheReadersClassNumber() {
        #expect(ProgramKind(classNumber: 1, interpreter: "/lib64/ld-linux-x86-64.so.2")?.preloadLibrary == "libspillway.so")
        #expect(ProgramKind(classNumber: 2, interpreter: "/lib/ld-musl-x86_64.so.1")?.preloadLibrary == "libspillway-musl.so")
        #expect(ProgramKind(classNumber: 3, interpreter: "") == .staticBinary)
        #expect(ProgramKind(classNumber: 4, interpreter: "") == .go(interpreter: nil))
        #expect(ProgramKind(classNumber: 4, interpreter: "/lib64/ld-linux-x86-64.so.2") == .go(interpreter: "/lib64/ld-linux-x86-64.so.2"))
        #expect(ProgramKind(classNumber: 0, interpreter: "") == nil)
        #expect(ProgramKind.staticBinary.preloadLibrary == nil)
        #expect(ProgramKind.go(interpreter: "/lib64/ld-linux-x86-64.so.2").preloadLibrary == nil)
    }
}
