import SpillwayCore
import SpillwaySystem
import SpillwayTestSupport
import SystemPackage
import Testing

@Suite("Reading programs' ELF headers")
struct ElfInspectorTests {
    @Test func glibcProgram() throws {
        let kind = try ElfInspector.inspect(FilePath("/bin/sh"))
        #expect(kind.preloadLibrary == "libspillway.so", "\(kind)")
    }

    @Test func muslProgram() throws {
        let kind = try ElfInspector.inspect(FilePath(Paths.testProgram("create-probe-musl")))
        #expect(kind.preloadLibrary == "libspillway-musl.so", "\(kind)")
    }

    @Test func staticPrograms() throws {
        #expect(try ElfInspector.inspect(FilePath(Paths.launcher)) == .staticBinary)
        #expect(try ElfInspector.inspect(FilePath("/bin/busybox")) == .staticBinary)
    }

    @Test func notAProgram() {
        #expect(throws: InvalidFileError.self) { try ElfInspector.inspect(FilePath("/etc/passwd")) }
        #expect(throws: SystemError.self) { try ElfInspector.inspect(FilePath("/no/such/program")) }
    }
}
