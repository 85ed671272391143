import Foundation
import Testing
@testable import SpillwayCore

/// Preload library or FUSE union for a container the runtime wrapper creates.
@Suite struct ServingModeTests {
    static let glibc = ProgramKind.glibc(interpreter: "/lib64/ld-linux-x86-64.so.2")
    static let musl = ProgramKind.musl(interpreter: "/lib/ld-musl-x86_64.so.1")
    static let cgo = ProgramKind.go(interpreter: "/lib64/ld-linux-x86-64.so.2")
    static let goStatic = ProgramKind.go(interpreter: nil)

    @Test(arguments: [
        (glibc, [:], [], ServingMode.preload, "the program is dynamic (glibc"),
        (musl, [:], [], .preload, "the program is dynamic (musl"),
        (ProgramKind.staticBinary, [:], [], .fuse, "the program is statically linked"),
        (cgo, [:], [], .fuse, "the program is Go (cgo, dynamic loader /lib64/ld-linux-x86-64.so.2): Go makes its own system calls"),
        (goStatic, [:], [], .fuse, "the program is Go (no cgo, statically linked): Go makes its own system calls"),
        (cgo, ["spillway.mode": "preload"], [], .preload, "asked for by annotation"),
        (nil, [:], [], .preload, "the program could not be read"),
        (glibc, ["spillway.mode": "fuse"], [], .fuse, "asked for by annotation spillway.mode"),
        (ProgramKind.staticBinary, ["spillway.mode": "preload"], [], .preload, "asked for by annotation"),
        (glibc, [:], ["PATH=/bin", "SPILLWAY_MODE=fuse"], .fuse, "asked for by environment SPILLWAY_MODE"),
        (glibc, [:], ["SPILLWAY_MODE=preload", "SPILLWAY_MODE=fuse"], .fuse, "environment"),
        (ProgramKind.staticBinary, ["spillway.mode": "preload"], ["SPILLWAY_MODE=fuse"], .preload, "annotation"),
    ] as [(ProgramKind?, [String: String], [String], ServingMode, String)])
    func chooses(program: ProgramKind?, annotations: [String: String], environment: [String], mode: ServingMode, reason: String) throws {
        let choice = try ServingMode.choose(program: program, annotations: annotations, environment: environment)
        #expect(choice.mode == mode)
        #expect(choice.reason.contains(reason), "\(choice.reason)")
    }

    /// A program the preload library serves, in an image whose PATH holds a Go program (which a
    /// shell may start after the mode is fixed): FUSE, naming that program. A static C program
    /// there (every Debian image has a static ldconfig) changes nothing.
    @Test func aGoProgramOnTheImagesPathMakesItFuse() throws {
        var asked: [ProgramKind] = []
        let image: ((ProgramKind) -> Bool) -> (path: String, kind: ProgramKind)? = { wanted in
            for (path, kind) in [("/sbin/ldconfig", ProgramKind.staticBinary), ("/usr/local/bin/tool", Self.goStatic)] {
                asked.append(kind)
                if wanted(kind) { return (path, kind) }
            }
            return nil
        }
        let choice = try ServingMode.choose(program: Self.glibc, annotations: [:], environment: [], imageProgram: image)
        #expect(choice.mode == .fuse)
        #expect(choice.reason.contains("the image holds /usr/local/bin/tool, Go (no cgo, statically linked), which it may start"), "\(choice.reason)")
        #expect(asked == [.staticBinary, Self.goStatic])

        let onlyStatic: ((ProgramKind) -> Bool) -> (path: String, kind: ProgramKind)? = { wanted in
            wanted(.staticBinary) ? ("/sbin/ldconfig", .staticBinary) : nil
        }
        #expect(try ServingMode.choose(program: Self.glibc, annotations: [:], environment: [], imageProgram: onlyStatic).mode == .preload)
        // Asked for by hand, or a program that is FUSE-served itself: the image is not looked at.
        var looked = false
        let watched: ((ProgramKind) -> Bool) -> (path: String, kind: ProgramKind)? = { _ in looked = true; return nil }
        #expect(try ServingMode.choose(program: Self.glibc, annotations: ["spillway.mode": "preload"], environment: [], imageProgram: watched).mode == .preload)
        #expect(try ServingMode.choose(program: Self.cgo, annotations: [:], environment: [], imageProgram: watched).mode == .fuse)
        #expect(!looked)
    }

    /// The rule table: every kind has its row, and only the preload-served kinds name a library.
    @Test(arguments: ProgramKind.Class.allCases)
    func everyKindHasARule(programClass: ProgramKind.Class) {
        let rule = ProgramServing.rule(for: programClass)
        switch programClass {
        case .glibc: #expect(rule.serving == .preloadLibrary("libspillway.so"))
        case .musl: #expect(rule.serving == .preloadLibrary("libspillway-musl.so"))
        case .staticBinary: #expect(rule.serving == .fuse && !rule.startedLaterMeansFuse)
        case .go: #expect(rule.serving == .fuse && rule.startedLaterMeansFuse)
        }
        #expect(!rule.why.isEmpty)
    }

    @Test(arguments: [
        (["spillway.mode": "overlay"], [String](), "annotation spillway.mode is 'overlay'; use preload or fuse"),
        ([:], ["SPILLWAY_MODE="], "environment SPILLWAY_MODE is ''; use preload or fuse"),
    ] as [([String: String], [String], String)])
    func refusesUnknownModes(annotations: [String: String], environment: [String], message: String) {
        #expect(throws: InputError(message)) {
            try ServingMode.choose(program: .staticBinary, annotations: annotations, environment: environment)
        }
    }
}
