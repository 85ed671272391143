import SpillwayCore
import Testing

/// The drain's pure parts: the plan's order, recovery's decisions, the library's intent records,
/// grow's checks, progress and the test-only crash points.
@Suite("Drain core")
struct DrainCoreTests {
    @Test func planMakesParentsFirstFilesBeforeSubdirectoriesAndLeavesDirectoriesLast() {
        let plan = DrainPlan(entries: [
            SpillEntry(name: "b", kind: .directory, children: [
                SpillEntry(name: "z", kind: .regular, size: 5),
                SpillEntry(name: "c", kind: .directory, children: [SpillEntry(name: "leaf", kind: .symlink)]),
                SpillEntry(name: ".spillway-move.1.2", kind: .regular, size: 100),
            ]),
            SpillEntry(name: "a", kind: .regular, size: 10),
            SpillEntry(name: ".spillway-intent.1.2", kind: .regular, size: 40),
            SpillEntry(name: "fifo", kind: .special),
            SpillEntry(name: ".fuse_hidden0000002a00000003", kind: .regular, size: 7),
        ])
        #expect(plan.steps == [
            .move("a", .regular, size: 10),
            .move("fifo", .special, size: 0),
            .enterDirectory("b"),
            .move("b/z", .regular, size: 5),
            .enterDirectory("b/c"),
            .move("b/c/leaf", .symlink, size: 0),
            .leaveDirectory("b/c"),
            .leaveDirectory("b"),
        ])
        #expect(plan.filesTotal == 4)
        #expect(plan.bytesTotal == 15)
        #expect(DrainPlan(entries: []).steps.isEmpty)
    }

    typealias Found = MoveRecovery.Found

    @Test(arguments: [
        // destination, source, temp → steps, outcome
        (Found.ours(changed: false, mtimeNanoseconds: 5), Found.ours(changed: false, mtimeNanoseconds: 5), false,
         [MoveRecovery.Step.removeSource, .forgetIntent], MoveRecovery.Outcome.finished),
        (.ours(changed: false, mtimeNanoseconds: 5), .ours(changed: true, mtimeNanoseconds: 9), false,
         [.removeDestination, .forgetIntent], .rolledBack),
        (.ours(changed: true, mtimeNanoseconds: 9), .ours(changed: true, mtimeNanoseconds: 7), false,
         [.removeSource, .forgetIntent], .finished),
        (.ours(changed: true, mtimeNanoseconds: 7), .ours(changed: true, mtimeNanoseconds: 9), false,
         [.removeDestination, .forgetIntent], .rolledBack),
        (.ours(changed: false, mtimeNanoseconds: 5), .absent, false, [.forgetIntent], .finished),
        (.ours(changed: false, mtimeNanoseconds: 5), .other, false, [.forgetIntent], .finished),
        (.absent, .ours(changed: false, mtimeNanoseconds: 5), true, [.removeTemp, .forgetIntent], .rolledBack),
        (.other, .ours(changed: true, mtimeNanoseconds: 5), true, [.removeTemp, .forgetIntent], .rolledBack),
        (.absent, .absent, false, [.forgetIntent], .rolledBack),
    ])
    func recoveryKeepsExactlyOneCopy(destination: Found, source: Found, temp: Bool, steps: [MoveRecovery.Step], outcome: MoveRecovery.Outcome) {
        let decision = MoveRecovery.decide(destination: destination, source: source, tempPresent: temp)
        #expect(decision.steps == steps)
        #expect(decision.outcome == outcome)
        // Never both copies removed.
        #expect(!(decision.steps.contains(.removeSource) && decision.steps.contains(.removeDestination)))
    }

    @Test func libraryIntentRecordsParseAndTornOnesAreRefused() throws {
        let intent = ShimMoveIntent(relativePath: "var/log/app.log", source: FileIdentity(inode: 257, size: 4096, mtimeNanoseconds: 1_700_000_000_123_456_789))
        #expect(intent.text == "spillway-move 2\nto-spill\nvar/log/app.log\n257 4096 1700000000123456789\n")
        #expect(try ShimMoveIntent(parsing: intent.text, file: "i") == intent)
        for bad in [String(intent.text.dropLast(5)), "spillway-move 1\nto-spill\na\n1 2 3\n", "spillway-move 2\nfrom-spill\na\n1 2 3\n",
                    "spillway-move 2\nto-spill\n../etc/passwd\n1 2 3\n", "spillway-move 2\nto-spill\n/abs\n1 2 3\n",
                    "spillway-move 2\nto-spill\na//b\n1 2 3\n", "spillway-move 2\nto-spill\na\n1 2\n", ""] {
            #expect(throws: InputError.self, "\(bad.debugDescription)") { try ShimMoveIntent(parsing: bad, file: "i") }
        }
        #expect(ShimMoveIntent.isProtocolName(".spillway-move.12.13"))
        #expect(ShimMoveIntent.isProtocolName(".spillway-intent.12.13"))
        #expect(!ShimMoveIntent.isProtocolName(".spillway"))
    }

    @Test func fileIdentityComparesCtimeOnlyWhenBothKnowIt() {
        let a = FileIdentity(inode: 1, size: 2, mtimeNanoseconds: 3, ctimeNanoseconds: 4)
        #expect(a.isUnchanged(a))
        #expect(!a.isUnchanged(FileIdentity(inode: 1, size: 2, mtimeNanoseconds: 3, ctimeNanoseconds: 5)))
        #expect(a.isUnchanged(FileIdentity(inode: 1, size: 2, mtimeNanoseconds: 3, ctimeNanoseconds: 0)))
        #expect(!a.isUnchanged(FileIdentity(inode: 1, size: 3, mtimeNanoseconds: 3, ctimeNanoseconds: 4)))
        #expect(!a.isUnchanged(FileIdentity(inode: 9, size: 2, mtimeNanoseconds: 3, ctimeNanoseconds: 4)))
    }

    @Test func growChecksSayWhatIsWrongAndWhatToDo() throws {
        let MiB: UInt64 = 1 << 20
        #expect(try GrowPlanner.newLimit(GrowRequest(to: 256 * MiB), container: "c1", usedBytes: 60 * MiB, currentLimit: 64 * MiB, diskCapacity: 1024 * MiB) == 256 * MiB)
        #expect(try GrowPlanner.newLimit(GrowRequest(by: 64 * MiB), container: "c1", usedBytes: 60 * MiB, currentLimit: 64 * MiB, diskCapacity: nil) == 128 * MiB)
        let cases: [(GrowRequest, UInt64?, String)] = [
            (GrowRequest(to: 50 * MiB), 64 * MiB, "--to 50 MiB is not above what 'c1' uses now (60 MiB); give more than that"),
            (GrowRequest(to: 62 * MiB), 64 * MiB, "--to 62 MiB is not above the current limit of 'c1' (64 MiB); spillway grow only raises a limit"),
            (GrowRequest(to: 2048 * MiB), 64 * MiB, "--to 2 GiB is more than the main disk of 'c1' can hold (1 GiB); give at most that, or add space to the main disk first"),
            (GrowRequest(by: 1 * MiB), nil, "--by cannot be applied: 'c1' has no known limit; give the new size with --to"),
            (GrowRequest(by: .max), 64 * MiB, "--by 16 EiB is too large; give a smaller size"),
        ]
        for (request, limit, message) in cases {
            #expect(throws: InputError(message)) {
                try GrowPlanner.newLimit(request, container: "c1", usedBytes: 60 * MiB, currentLimit: limit, diskCapacity: 1024 * MiB)
            }
        }
        #expect(throws: InputError("--to and --by were both given; give one of them")) { try GrowRequest(to: 1, by: 1).validate() }
        #expect(throws: InputError("give the new size with --to SIZE or the increase with --by SIZE")) { try GrowRequest().validate() }
        #expect(throws: InputError.self) { try GrowRequest(to: 0).validate() }
    }

    @Test func progressHasRateAndTimeToGo() {
        let start = Timestamp(nanosecondsSinceEpoch: 1_000_000_000_000)
        var tracker = DrainProgressTracker(startedAt: start)
        tracker.passPlanned(files: 10, bytes: 1000, at: start)
        tracker.moved(files: 5, bytes: 500, at: Timestamp(nanosecondsSinceEpoch: start.nanosecondsSinceEpoch + 2_000_000_000))
        #expect(tracker.progress.bytesPerSecond == 250)
        #expect(tracker.progress.etaSeconds == 2)
        #expect(tracker.progress.summary == "5/10 files, 500 B/1000 B, 250 B/s, ETA 2 s")
        #expect(tracker.progress.bar(width: 10).hasPrefix("[#####-----]  50%  5/10 files"))
        tracker.deferred(at: Timestamp(nanosecondsSinceEpoch: start.nanosecondsSinceEpoch + 2_000_000_000))
        #expect(tracker.progress.summary.hasSuffix("1 waiting"))
        // A second pass counts what is left on top of what moved.
        tracker.passPlanned(files: 1, bytes: 100, at: Timestamp(nanosecondsSinceEpoch: start.nanosecondsSinceEpoch + 3_000_000_000))
        #expect(tracker.progress.filesTotal == 6 && tracker.progress.bytesTotal == 600)
        tracker.moved(files: 1, bytes: 100, at: Timestamp(nanosecondsSinceEpoch: start.nanosecondsSinceEpoch + 4_000_000_000))
        tracker.phase(.done, at: Timestamp(nanosecondsSinceEpoch: start.nanosecondsSinceEpoch + 4_000_000_000))
        #expect(tracker.progress.fraction == 1)
        #expect(tracker.progress.etaSeconds == 0)
    }

    @Test func crashPointsAreTestOnlyAndNamedExactly() throws {
        #expect(try CrashPoint(environmentValue: nil) == nil)
        #expect(try CrashPoint(environmentValue: "") == nil)
        let point = try #require(try CrashPoint(environmentValue: "renamed:sparse"))
        #expect(point.matches(.renamed, relativePath: "d/sparse"))
        #expect(!point.matches(.renamed, relativePath: "d/other"))
        #expect(!point.matches(.locked, relativePath: "d/sparse"))
        #expect(try CrashPoint(environmentValue: "locked")?.matches(.locked, relativePath: "x") == true)
        #expect(throws: InputError.self) { try CrashPoint(environmentValue: "nowhere") }
        #expect(MoveStep.allCases.count >= 8)
    }
}
