import CSpillway
import Foundation
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

    /// The Go test program built by the host's Go, with cgo (a glibc `PT_INTERP`) and without:
    /// Go either way, served by the FUSE union.
    @Test(arguments: GoPrograms.Build.allCases)
    func goPrograms(build: GoPrograms.Build) throws {
        let kind = try ElfInspector.inspect(FilePath(try GoPrograms.path(build)))
        switch build {
        case .cgo: #expect(kind == .go(interpreter: "/lib64/ld-linux-x86-64.so.2"), "\(kind)")
        case .static: #expect(kind == .go(interpreter: nil), "\(kind)")
        }
        #expect(ProgramServing.rule(for: kind).serving == .fuse)
        #expect(kind.preloadLibrary == nil)
    }

    /// Built with an empty build id (`-ldflags=-buildid=`) Go writes no build-id note; its
    /// `.go.buildinfo` section still tells.
    @Test func goProgramWithoutItsBuildIDNote() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("elf-go-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let source = Paths.packageRoot.appendingPathComponent("Tests/SpillwayIntegrationTests/Fixtures/go_writer").path
        try Command.check(["go", "build", "-ldflags=-s -w -buildid=", "-o", directory + "/noid", "."], environment: [
            "CGO_ENABLED": "0", "GO111MODULE": "off", "GOCACHE": ContainerImages.cacheDirectory + "/go-writer/gocache",
            "GOPATH": directory + "/gopath", "HOME": directory,
        ], directory: source)
        #expect(!(try Command.check(["readelf", "-n", directory + "/noid"])).contains("GO BUILDID"))
        #expect(try ElfInspector.inspect(FilePath(directory + "/noid")) == .go(interpreter: nil))
    }

    /// The reader takes hostile files (a container's): every prefix length of interest and
    /// randomly damaged headers of the cgo build give a kind or an InvalidFileError, never a
    /// crash or a read outside the file.
    @Test func damagedProgramsAreReadSafely() throws {
        let original = try Data(contentsOf: URL(fileURLWithPath: try GoPrograms.path(.cgo)))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("elf-damaged-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var generator = SystemRandomNumberGenerator()
        var samples: [Data] = [0, 4, 16, 52, 63, 64, 120, 1000, 4096, 20_000].map { original.prefix($0) }
        for _ in 0..<300 {
            var damaged = original.prefix(16_384)
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                damaged[Int.random(in: 0..<damaged.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator)
            }
            samples.append(damaged)
        }
        for sample in samples {
            try sample.write(to: URL(fileURLWithPath: path))
            do { _ = try ElfInspector.inspect(FilePath(path)) } catch is InvalidFileError {}
        }
    }

    @Test func notAProgram() {
        #expect(throws: InvalidFileError.self) { try ElfInspector.inspect(FilePath("/etc/passwd")) }
        #expect(throws: SystemError.self) { try ElfInspector.inspect(FilePath("/no/such/program")) }
    }

    /// The C mirror of the rule table (`spillway_program_serving`, `spillway_program_kind_name`,
    /// `spillway_program_why`, `spillway_program_started_later_means_fuse` in
    /// spillway_program.h, which the launcher and the exec hooks follow) says what
    /// ``ProgramServing`` says, for every kind.
    @Test(arguments: ProgramKind.Class.allCases)
    func cAndSwiftRulesAgree(programClass: ProgramKind.Class) {
        let cKind = spillway_program_kind(rawValue: programClass.rawValue)
        let expected: spillway_serving = switch ProgramServing.rule(for: programClass).serving {
        case .preloadLibrary("libspillway.so"): SPILLWAY_SERVED_BY_GLIBC_LIBRARY
        case .preloadLibrary("libspillway-musl.so"): SPILLWAY_SERVED_BY_MUSL_LIBRARY
        case .preloadLibrary: SPILLWAY_SERVED_AS_IS
        case .fuse: SPILLWAY_SERVED_BY_FUSE
        }
        #expect(spillway_program_serving(cKind) == expected, "\(programClass)")
        #expect(String(cString: spillway_program_kind_name(cKind)) == programClass.environmentValue)
        #expect(String(cString: spillway_program_why(cKind)) == ProgramServing.rule(for: programClass).why)
        #expect((spillway_program_started_later_means_fuse(cKind) != 0) == ProgramServing.rule(for: programClass).startedLaterMeansFuse)
        #expect(Int32(SPILLWAY_PROGRAM_KIND_COUNT) == Int32(ProgramKind.Class.allCases.count + 1))
    }

    /// The real launcher on real programs does what the table says for the kind
    /// ``ElfInspector`` reads: `SPILLWAY_PROGRAM` names the kind, and `LD_PRELOAD` is set only
    /// for a kind a preload library serves.
    @Test func theLauncherFollowsTheTable() throws {
        let printEnv = "echo SPILLWAY_PROGRAM=$SPILLWAY_PROGRAM LD_PRELOAD=$LD_PRELOAD"
        let runs: [(program: String, arguments: [String])] = [
            ("/bin/sh", ["-c", printEnv]),
            ("/bin/busybox", ["sh", "-c", printEnv]),
            (try GoPrograms.path(.cgo), ["--env"]),
            (try GoPrograms.path(.static), ["--env"]),
        ]
        for run in runs {
            let kind = try ElfInspector.inspect(FilePath(run.program))
            let rule = ProgramServing.rule(for: kind)
            let result = try Command.run([Paths.launcher, run.program] + run.arguments,
                                         environment: ["SPILLWAY_LIB_DIR": Paths.shimBuild.path])
            #expect(result.status == 0 && result.stderr.isEmpty, "\(run.program): \(result)")
            let words = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
            #expect(words.first == "SPILLWAY_PROGRAM=\(kind.programClass.environmentValue)"[...], "\(run.program): \(result.stdout)")
            let preload = words.dropFirst().first.map { String($0.dropFirst("LD_PRELOAD=".count)) } ?? ""
            #expect(preload.isEmpty == (rule.serving.preloadLibrary == nil), "\(run.program) (\(kind)): LD_PRELOAD=\(preload)")
        }
    }
}
