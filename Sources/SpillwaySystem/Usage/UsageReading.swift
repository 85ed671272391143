/// One reading of how much a container has stored against its limit.
///
/// `used` is what the filesystem has accounted; `pending` is what it has already promised to
/// writes it has not accounted yet (btrfs reserves qgroup space at `write(2)` and moves it into
/// `referenced` only when the transaction commits, up to 30 s later). The kernel refuses a write
/// once `used + pending` would pass the limit, so ``charged`` is the figure to compare with it.
public struct UsageReading: Sendable, Equatable, CustomStringConvertible {
    /// Bytes accounted to the container (btrfs `referenced`, XFS `d_bcount`, statfs blocks in use).
    public var used: UInt64
    /// Bytes reserved for writes not yet accounted in ``used``; 0 where the backend has none.
    public var pending: UInt64
    /// The limit in bytes, or `nil` when nothing limits the container.
    public var limit: UInt64?

    /// A reading of `used` plus `pending` bytes against `limit`.
    public init(used: UInt64, pending: UInt64 = 0, limit: UInt64?) {
        self.used = used
        self.pending = pending
        self.limit = limit
    }

    /// `used + pending`: what the kernel compares with the limit.
    public var charged: UInt64 {
        let (sum, overflow) = used.addingReportingOverflow(pending)
        return overflow ? .max : sum
    }

    /// ``charged`` as a fraction of the limit (1.0 = full), or `nil` without a limit.
    public var fraction: Double? {
        guard let limit else { return nil }
        if limit == 0 { return 1 }
        return Double(charged) / Double(limit)
    }

    /// `used N B + pending N B of limit N`, for logs.
    public var description: String {
        let cap = limit.map { "\($0)" } ?? "none"
        return "used \(used) B + pending \(pending) B of limit \(cap)"
    }
}
