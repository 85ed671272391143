import CFuseLoop
import Testing

/// The FUSE loop's polling policy (CFuseLoop): poll while requests come back to back, stop
/// after a poll that found nothing, never with polling turned off.
@Suite("FUSE loop polling policy")
struct FuseLoopPolicyTests {
    static let window: Int64 = 50_000

    @Test func aPollThatFoundARequestPollsAgain() {
        #expect(spw_fuse_poll_next(SPW_FUSE_POLL_FOUND, 10_000, Self.window) == 1)
    }

    @Test func aPollThatTimedOutStopsPolling() {
        #expect(spw_fuse_poll_next(SPW_FUSE_POLL_EMPTY, 10_000, Self.window) == 0)
    }

    @Test(arguments: [(Int64(0), Int32(1)), (49_999, 1), (50_000, 0), (5_000_000, 0), (-1, 0)])
    func aSleepingWorkerPollsAgainOnlyAfterAShortGap(gap: Int64, polls: Int32) {
        #expect(spw_fuse_poll_next(SPW_FUSE_SLEPT, gap, Self.window) == polls, "gap \(gap) ns")
    }

    @Test func aZeroWindowNeverPolls() {
        for how in [SPW_FUSE_POLL_FOUND, SPW_FUSE_POLL_EMPTY, SPW_FUSE_SLEPT] {
            #expect(spw_fuse_poll_next(how, 0, 0) == 0)
        }
    }
}
