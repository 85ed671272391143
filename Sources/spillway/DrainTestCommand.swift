import ArgumentParser
import Foundation
import SpillwayCore
import SpillwayDaemon
import SpillwaySystem
import SystemPackage

/// `spillway drain-test`: **test-only**, hidden. Runs the daemon's drain engine (or only its
/// recovery) on one tree and spill area, with the intent journal in `--state-dir`/state.db, so
/// tests can kill the mover at each step of the move protocol (`SPILLWAY_TEST_CRASH_AT=<step>`)
/// and check what recovery leaves. Not for operators: the daemon drains on its own.
struct DrainTestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain-test",
        abstract: "Test only: drain one spill area, or recover it, outside the daemon.",
        shouldDisplay: false
    )

    @Option(help: "Directory of the state database holding the intent journal.")
    var stateDir: String

    @Option(help: "The container id the journal records carry.")
    var container: String

    @Option(help: "The container's tree root.")
    var root: String

    @Option(help: "Its spill area.")
    var spill: String

    @Flag(help: "Only finish or roll back the moves cut short.")
    var recoverOnly = false

    @Option(help: "Files per durability barrier.")
    var batch: Int = 1024

    @Option(help: "Threads making temporary copies at once.")
    var copyWorkers: Int = DrainEngine.Options.defaultWorkers

    @Option(help: "Seconds after which a library's temporary file without a live mover is a leftover.")
    var staleAfter: Double = 60

    func run() throws {
        let store = try StateStore(path: stateDir + "/state.db")
        var options = DrainEngine.Options(batchFiles: batch, copyWorkers: copyWorkers, staleAfterSeconds: staleAfter)
        options.crashPoint = try CrashPoint(environmentValue: ProcessInfo.processInfo.environment[MoveStep.crashEnvironment])
        let engine = DrainEngine(container: container, tree: try HeldDirectory.openRoot(FilePath(root)),
                                 spill: try HeldDirectory.openRoot(FilePath(spill)), journal: StoreMoveJournal(store: store),
                                 options: options)
        let recovered = try engine.recover()
        print("recovered \(recovered.supervisorMoves) drain moves, \(recovered.libraryMoves) library moves, \(recovered.leftoversRemoved) leftovers; \(recovered.libraryMovesLive) live")
        for outcome in recovered.outcomes { print("  \(outcome)") }
        guard !recoverOnly else { return }
        var moved = 0
        var bytes: UInt64 = 0
        let started = Date()
        for _ in 0..<5 {
            let pass = try engine.runPass()
            moved += pass.filesMoved
            bytes += pass.bytesMoved
            for (path, reason) in pass.deferred.sorted(by: { $0.key < $1.key }) { print("deferred \(path): \(reason)") }
            if pass.empty || pass.filesMoved == 0 { break }
        }
        let seconds = Date().timeIntervalSince(started)
        print("moved \(moved) files, \(bytes) bytes in \(String(format: "%.3f", seconds)) s")
    }
}
