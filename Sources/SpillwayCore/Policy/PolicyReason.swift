/// Why the usage policy changed a container's state or reported on it. The raw values are
/// the `reason` strings of JSON events and webhook bodies.
public enum PolicyReason: String, CaseIterable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The usage rate reached the spill threshold (`normal`/`draining` → `spilling`).
    case thresholdReached = "threshold_reached"
    /// The spill area holds files while the state is `normal` (the preload library spilled a
    /// file on `EDQUOT`/`ENOSPC` before the flag rose, or state was lost): → `spilling`, so
    /// lookups see those files again.
    case spillAreaNotEmpty = "spill_area_not_empty"
    /// Usage, spilled bytes included, stayed below the low watermark long enough
    /// (`spilling` → `draining`).
    case usageBelowWatermark = "usage_below_watermark"
    /// The operator raised the container's quota (`spilling` → `draining` at once).
    case quotaGrown = "quota_grown"
    /// Every spilled file is back on the main disk (`draining` → `normal`).
    case spillAreaEmpty = "spill_area_empty"
    /// The usage backend reports a limit of zero (no quota): no usage rate can be computed.
    case limitZero = "limit_zero"
    /// The usage backend could not read the limit: no usage rate can be computed.
    case limitUnreadable = "limit_unreadable"
    /// A usable limit is reported again after ``limitZero`` or ``limitUnreadable``.
    case limitReadable = "limit_readable"

    /// The `reason` string, as in JSON.
    public var description: String { rawValue }
}
