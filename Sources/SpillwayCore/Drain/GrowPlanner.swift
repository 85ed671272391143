/// Decides the new main-disk limit for `spillway grow` from what the operator asked and what is
/// known of the container and its disk. Pure: the supervisor reads the numbers and sets the limit.
public enum GrowPlanner {
    /// The new limit in bytes.
    ///
    /// - Parameters:
    ///   - request: `--to` or `--by`, validated.
    ///   - container: its name, for messages.
    ///   - usedBytes: what it uses on the main disk now.
    ///   - currentLimit: its limit now (`nil` or 0: none known).
    ///   - diskCapacity: the size of the main disk's filesystem, when known.
    /// - Throws: ``InputError`` naming the input, what is wrong and what to do: a size not above
    ///   the current limit, below the current usage, or more than the main disk holds.
    public static func newLimit(
        _ request: GrowRequest, container: String, usedBytes: UInt64, currentLimit: UInt64?, diskCapacity: UInt64?
    ) throws(InputError) -> UInt64 {
        let limit: UInt64
        let input: String
        if let to = request.to {
            limit = to
            input = "--to \(ByteSize(bytes: to))"
        } else if let by = request.by {
            guard let current = currentLimit, current > 0 else {
                throw InputError("--by cannot be applied: '\(container)' has no known limit; give the new size with --to")
            }
            let (sum, overflow) = current.addingReportingOverflow(by)
            if overflow { throw InputError("--by \(ByteSize(bytes: by)) is too large; give a smaller size") }
            limit = sum
            input = "--by \(ByteSize(bytes: by)) (to \(ByteSize(bytes: sum)))"
        } else {
            throw InputError("give the new size with --to SIZE or the increase with --by SIZE")
        }
        if limit <= usedBytes {
            throw InputError("\(input) is not above what '\(container)' uses now (\(ByteSize(bytes: usedBytes))); give more than that")
        }
        if let current = currentLimit, current > 0, limit <= current {
            throw InputError("\(input) is not above the current limit of '\(container)' (\(ByteSize(bytes: current))); spillway grow only raises a limit")
        }
        if let diskCapacity, diskCapacity > 0, limit > diskCapacity {
            throw InputError("\(input) is more than the main disk of '\(container)' can hold (\(ByteSize(bytes: diskCapacity))); give at most that, or add space to the main disk first")
        }
        return limit
    }
}
