/// The thresholds and hysteresis of the usage policy (config keys `spill_threshold`,
/// `drain_below`, `drain_confirm_samples`, `drain_min_dwell`).
///
/// Rates are `usedBytes / limitBytes`. The machine works with any values; the config file
/// validation keeps them sensible (`0 < drain_below < spill_threshold ≤ 1` or `drain_below = 0`).
public struct UsagePolicyConfiguration: Hashable, Sendable {
    /// The default spill threshold: 90 % of the quota.
    public static let defaultSpillThreshold = 0.90
    /// The default low watermark for the automatic drain: 80 % of the quota.
    public static let defaultDrainBelow = 0.80
    /// The default number of consecutive samples the drain condition must hold: 3.
    public static let defaultDrainConfirmSamples = 3
    /// The default minimum time a container stays `spilling` before an automatic drain: 30 s.
    public static let defaultDrainMinimumDwell = Duration.seconds(30)

    /// `normal`/`draining` → `spilling` when the usage rate is at or above this.
    public var spillThreshold: Double
    /// The low watermark: `spilling` → `draining` on its own only when the usage rate, and
    /// the rate counting the spilled bytes too, are below this. `0` turns the automatic drain
    /// off (only `spillway grow` drains).
    public var drainBelow: Double
    /// How many consecutive samples must satisfy the drain condition before the automatic
    /// drain starts (at least 1).
    public var drainConfirmSamples: Int
    /// How long a container must have been `spilling` before the automatic drain starts.
    public var drainMinimumDwell: Duration

    /// A configuration; every parameter defaults to the documented default.
    public init(
        spillThreshold: Double = defaultSpillThreshold,
        drainBelow: Double = defaultDrainBelow,
        drainConfirmSamples: Int = defaultDrainConfirmSamples,
        drainMinimumDwell: Duration = defaultDrainMinimumDwell
    ) {
        self.spillThreshold = spillThreshold
        self.drainBelow = drainBelow
        self.drainConfirmSamples = drainConfirmSamples
        self.drainMinimumDwell = drainMinimumDwell
    }

    /// The smallest quota under which `usedBytes + spilledBytes` stays below the spill
    /// threshold, i.e. the least `spillway grow` must raise the quota to for a drain that does
    /// not spill again at once. `nil` when the threshold is not positive.
    public func minimumLimitToDrain(usedBytes: UInt64, spilledBytes: UInt64) -> UInt64? {
        guard spillThreshold > 0, spillThreshold.isFinite else { return nil }
        let total = Double(usedBytes) + Double(spilledBytes)
        let estimate = (total / spillThreshold).rounded(.down) + 1
        guard estimate < 18_446_744_073_709_551_615.0 else { return .max }
        // Settle the floating-point estimate on the exact test the machine applies.
        var limit = UInt64(estimate)
        guard limit < 1 << 52 else { return limit }  // beyond 4 PiB the estimate is as exact as a Double gets
        while limit < .max, total / Double(limit) >= spillThreshold { limit += 1 }
        while limit > 1, total / Double(limit - 1) < spillThreshold { limit -= 1 }
        return limit
    }
}
