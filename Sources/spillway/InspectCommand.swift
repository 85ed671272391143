import ArgumentParser
import SpillwayCore
import SpillwaySystem
import SystemPackage

/// `spillway inspect PROGRAM...`: which preload library serves a program, or whether it needs
/// the FUSE fallback (static programs), read from its ELF headers as the launcher reads them.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Tell how Spillway reaches a program: glibc or musl preload library, or FUSE."
    )

    @Argument(help: "Programs to inspect, as paths or names found on PATH.")
    var programs: [String]

    func run() throws {
        var failed = false
        for name in programs {
            guard let path = ProcessReplacement.resolve(name) else {
                print("\(name): not found on PATH or not executable")
                failed = true
                continue
            }
            do {
                let kind = try ElfInspector.inspect(FilePath(path))
                let served = kind.preloadLibrary ?? "the FUSE fallback"
                print("\(path): \(kind); served by \(served)")
            } catch {
                print("\(path): \(error)")
                failed = true
            }
        }
        if failed { throw ExitCode.failure }
    }
}
