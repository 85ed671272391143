import CSpillway
import Testing

/// The library-enforced cap's one rule (`spillway_cap_take` and friends in spillway_slot.h),
/// which the preload library and the FUSE union both apply.
@Suite("Library-enforced cap ledger")
struct CapLedgerTests {
    static let MiB: UInt64 = 1 << 20

    @Test func grantsTheRoomLeftAndNoMore() {
        var ledger = spillway_cap_ledger()
        // 64 MiB cap, 60 MiB measured: 4 MiB left for this writer.
        #expect(spillway_cap_take(&ledger, 64 * Self.MiB, 60 * Self.MiB, 1, 3 * Self.MiB) == 3 * Self.MiB)
        #expect(spillway_cap_take(&ledger, 64 * Self.MiB, 60 * Self.MiB, 1, 3 * Self.MiB) == 1 * Self.MiB, "cut to what is left")
        #expect(spillway_cap_take(&ledger, 64 * Self.MiB, 60 * Self.MiB, 1, 1) == 0, "nothing left: ENOSPC")
        #expect(ledger.charged == 4 * Self.MiB)
        // Its own bytes are in the ledger: a refusal now waits for a fresh measurement.
        #expect(spillway_cap_should_remeasure(&ledger, 1) != 0)
    }

    @Test func aNewMeasurementStartsTheLedgerAgain() {
        var ledger = spillway_cap_ledger()
        #expect(spillway_cap_take(&ledger, 64 * Self.MiB, 0, 1, 64 * Self.MiB) == 64 * Self.MiB)
        // The supervisor measured 50 MiB (the rest was freed): 14 MiB left, counted afresh.
        #expect(spillway_cap_take(&ledger, 64 * Self.MiB, 50 * Self.MiB, 2, 20 * Self.MiB) == 14 * Self.MiB)
        #expect(ledger.epoch == 2)
        #expect(spillway_cap_should_remeasure(&ledger, 3) == 0, "an older ledger says nothing about a newer epoch")
    }

    @Test func refundsAndChargesMoveTheLedger() {
        var ledger = spillway_cap_ledger()
        #expect(spillway_cap_take(&ledger, 10 * Self.MiB, 0, 7, 8 * Self.MiB) == 8 * Self.MiB)
        spillway_cap_refund(&ledger, 5 * Self.MiB) // a short write
        #expect(ledger.charged == 3 * Self.MiB)
        spillway_cap_refund(&ledger, 100 * Self.MiB)
        #expect(ledger.charged == 0, "never below zero")
        #expect(spillway_cap_should_remeasure(&ledger, 7) == 0, "no bytes of its own: the room is truly gone")
        spillway_cap_charge(&ledger, 9 * Self.MiB) // a file moved in
        #expect(spillway_cap_take(&ledger, 10 * Self.MiB, 0, 7, 4 * Self.MiB) == 1 * Self.MiB)
        // A measurement above the cap (an overshoot) leaves no room at all.
        #expect(spillway_cap_take(&ledger, 10 * Self.MiB, 12 * Self.MiB, 8, 1) == 0)
    }

    @Test(arguments: [
        (start: UInt64(0), size: UInt64(0), n: UInt64(4096), growth: UInt64(4096)),     // a new file
        (start: 0, size: 8192, n: 4096, growth: 0),                                       // overwrite in place
        (start: 6144, size: 8192, n: 4096, growth: 2048),                                 // across the end
        (start: 8192, size: 8192, n: 4096, growth: 4096),                                 // an append
        (start: 1 << 20, size: 8192, n: 4096, growth: 4096),                              // past a hole: the hole is free
    ])
    func growthIsWhatLiesPastTheEnd(_ c: (start: UInt64, size: UInt64, n: UInt64, growth: UInt64)) {
        #expect(spillway_cap_growth(c.start, c.size, c.n) == c.growth)
    }
}
