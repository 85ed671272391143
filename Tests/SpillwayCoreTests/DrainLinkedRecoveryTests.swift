import SpillwayCore
import Testing

/// The pure decisions for moves of hard-linked names cut short, and how a drain that waits names
/// its files.
@Suite struct DrainLinkedRecoveryTests {
    typealias Name = MoveRecovery.LinkedName
    static let intact = MoveRecovery.Found.ours(changed: false, mtimeNanoseconds: 1)
    static let written = MoveRecovery.Found.ours(changed: true, mtimeNanoseconds: 2)

    @Test func linkedNamesFinishOnlyTogetherAndOnlyWithTheCopiedVersion() {
        let cases: [([Name], MoveRecovery.Outcome)] = [
            // Nothing renamed yet: back, like one file.
            ([Name(placed: false, tempPresent: true, source: Self.intact), Name(placed: false, tempPresent: true, source: Self.intact)], .rolledBack),
            // The first name in place, the second not yet: forward, the second follows it.
            ([Name(placed: true, tempPresent: false, source: Self.intact), Name(placed: false, tempPresent: true, source: Self.intact)], .finished),
            // The first name's source gone already: forward.
            ([Name(placed: true, tempPresent: false, source: .absent), Name(placed: true, tempPresent: false, source: Self.intact)], .finished),
            // Written since the copy: back.
            ([Name(placed: true, tempPresent: false, source: Self.written), Name(placed: false, tempPresent: true, source: Self.written)], .rolledBack),
            // The second name's copy lost: back.
            ([Name(placed: true, tempPresent: false, source: Self.intact), Name(placed: false, tempPresent: false, source: Self.intact)], .rolledBack),
            // The container put something else under a name: back.
            ([Name(placed: true, tempPresent: false, source: Self.intact), Name(placed: false, tempPresent: true, source: .other)], .rolledBack),
        ]
        for (names, outcome) in cases {
            #expect(MoveRecovery.decideLinked(names) == outcome, "\(names)")
        }
        #expect(MoveRecovery.rollBackRemovesDestination(Name(placed: true, tempPresent: false, source: Self.written)))
        #expect(!MoveRecovery.rollBackRemovesDestination(Name(placed: true, tempPresent: false, source: .absent)))
        #expect(!MoveRecovery.rollBackRemovesDestination(Name(placed: false, tempPresent: true, source: Self.intact)))
    }

    @Test func aWaitingDrainNamesItsFileAndHolderAndCountsRefusedApart() {
        var tracker = DrainProgressTracker(startedAt: Timestamp(nanosecondsSinceEpoch: 1_000_000_000))
        tracker.passPlanned(files: 2, bytes: 10, at: Timestamp(nanosecondsSinceEpoch: 1_000_000_000))
        tracker.deferred(DrainHeldFile(path: "log", reason: "a process holds it open for writing",
                                       holders: [DrainHolder(pid: 42, command: "python3")]), at: Timestamp(nanosecondsSinceEpoch: 2_000_000_000))
        #expect(tracker.progress.summary.hasSuffix("1 waiting for log: a process holds it open for writing (pid 42 python3)"), "\(tracker.progress.summary)")
        tracker.deferred(DrainHeldFile(path: "d", reason: "a symbolic link is in the way", refused: true), at: Timestamp(nanosecondsSinceEpoch: 2_000_000_000))
        #expect(tracker.progress.summary.hasSuffix("1 waiting for log: a process holds it open for writing (pid 42 python3), 1 refused"), "\(tracker.progress.summary)")
        #expect(tracker.progress.refused.map(\.path) == ["d"])
        tracker.passPlanned(files: 2, bytes: 10, at: Timestamp(nanosecondsSinceEpoch: 3_000_000_000))
        #expect(tracker.progress.held == nil && tracker.progress.filesDeferred == 0)
    }
}
