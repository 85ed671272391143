import Foundation
import Testing
@testable import SpillwayCore

/// Preload library or FUSE union for a container the runtime wrapper creates.
@Suite struct ServingModeTests {
    static let glibc = ProgramKind.glibc(interpreter: "/lib64/ld-linux-x86-64.so.2")
    static let musl = ProgramKind.musl(interpreter: "/lib/ld-musl-x86_64.so.1")

    @Test(arguments: [
        (glibc, [:], [], ServingMode.preload, "the program is dynamic (glibc"),
        (musl, [:], [], .preload, "the program is dynamic (musl"),
        (ProgramKind.staticBinary, [:], [], .fuse, "the program is statically linked"),
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
