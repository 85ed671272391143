import ArgumentParser
import SpillwayCore
import SpillwaySystem
import SystemPackage

/// `spillway inspect PROGRAM...`: what kind a program is (glibc, musl, static, Go), read from
/// its ELF headers with the launcher's reader, how Spillway serves it (a preload library or the
/// FUSE union, by ``ProgramServing``) and why.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Tell how Spillway reaches a program (glibc or musl preload library, or FUSE for static and Go programs) and why."
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
                let rule = ProgramServing.rule(for: kind)
                print("\(path): \(kind); served by \(rule.serving): \(rule.why)")
            } catch {
                print("\(path): \(error)")
                failed = true
            }
        }
        if failed { throw ExitCode.failure }
    }
}
