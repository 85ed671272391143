/// Plans how the sub disk is divided among spill areas (claims 1 and 9). Pure: give it the
/// sub disk's capacity, the settings and the containers; it returns a ``PartitionPlan``.
///
/// ## Shared or partitioned
///
/// With fewer containers than the *threshold count*, the spill areas share the sub disk
/// with no per-container caps (``PlanMode/shared``): a lone spilling container may use all
/// of it. At or above the threshold count, each container gets a partition
/// (``PlanMode/partitioned``).
///
/// ## The threshold count
///
/// `partition_min_containers = N` sets it. With `"auto"` (the default) it grows with the
/// sub disk:
///
/// ```
/// threshold = max(2, floor(usable / share) + 1)
/// ```
///
/// where `usable` is the capacity after the reserve and `share` is
/// ``defaultAutoShareBytes`` (8 GiB, config `partition_auto_share`). Read it as: the
/// containers share while each of them could still count on at least `share` of the sub
/// disk if all spilled at once; the first container that breaks that promise turns on the
/// partitions, so that one runaway container can no longer starve the others. A single
/// container never needs a partition, hence the minimum of 2. Examples, 5 % reserve:
/// 10 GiB → 2, 100 GiB → 12, 1 TiB → 122, 4 TiB → 487.
///
/// ## Partition sizes
///
/// From the usable space (capacity minus reserve, rounded down to 1 MiB), each container
/// gets a share proportional to its main-disk quota, in whole MiB (largest-remainder
/// rounding, ties to the lower id, so the partitions sum to exactly the usable space).
/// A container whose quota is unknown (0) is weighted as the average known quota; when no
/// quota is known, the shares are equal.
///
/// A partition is never planned below what its container already stores (rounded up to
/// 1 MiB). Such a container gets what it stores, its *shortfall* (stored minus fair share)
/// is reported, and the rest of the space is shared among the others in proportion again,
/// repeating until every container's share covers what it stores. If what is stored does
/// not fit at all, each container gets what it stores, those that store nothing get 0, and
/// the plan reports the *overcommit*.
///
/// ## Containers past their partition
///
/// A container that stores more than the partition it has now (an *offender*: a directory
/// partition's writer got past its cap between two measurements, see docs/DAEMON.md) is
/// not rewarded for it: its floor is its current partition, not what it stores. It keeps
/// that partition (never shrunk), stays full until data moves back, and the others' shares
/// are planned as if it had stayed within it; its excess is reported.
public struct PartitionPlanner: Hashable, Sendable {
    /// Partition sizes are multiples of this: 1 MiB (the granularity of loop images and a
    /// comfortable one for qgroup limits).
    public static let alignmentBytes: UInt64 = 1 << 20
    /// The auto threshold's share per container: 8 GiB (config `partition_auto_share`).
    public static let defaultAutoShareBytes: UInt64 = 8 << 30
    /// The auto threshold never goes below 2: one container alone never needs a partition.
    public static let minimumAutoThreshold = 2

    /// The sub disk's capacity in bytes (its filesystem's size).
    public var capacityBytes: UInt64
    /// Space kept free of spill areas.
    public var reserve: SubDiskReserve
    /// `partition_min_containers`: auto or a fixed count.
    public var minContainers: PartitionMinContainers
    /// The auto threshold's share per container (values below 1 MiB count as 1 MiB).
    public var autoShareBytes: UInt64

    /// A planner for a sub disk of `capacityBytes`.
    public init(
        capacityBytes: UInt64, reserve: SubDiskReserve = .defaultReserve,
        minContainers: PartitionMinContainers = .auto, autoShareBytes: UInt64 = defaultAutoShareBytes
    ) {
        self.capacityBytes = capacityBytes
        self.reserve = reserve
        self.minContainers = minContainers
        self.autoShareBytes = autoShareBytes
    }

    /// The reserve in bytes, as configured (it may exceed the capacity).
    public var reserveBytes: UInt64 {
        reserve.bytes(ofCapacity: capacityBytes)
    }

    /// Capacity minus reserve, rounded down to ``alignmentBytes``; 0 when the reserve
    /// takes everything.
    public var usableBytes: UInt64 {
        let reserved = reserveBytes
        let raw = capacityBytes > reserved ? capacityBytes - reserved : 0
        return raw / Self.alignmentBytes * Self.alignmentBytes
    }

    /// The auto threshold count: `max(2, floor(usableBytes / shareBytes) + 1)`.
    ///
    /// - Parameters:
    ///   - usableBytes: the sub disk's capacity after the reserve.
    ///   - shareBytes: the share each container could count on (at least 1 MiB is used).
    public static func autoThreshold(usableBytes: UInt64, shareBytes: UInt64 = defaultAutoShareBytes) -> Int {
        let shares = usableBytes / max(shareBytes, alignmentBytes)
        let count = shares >= UInt64(Int.max) ? Int.max : Int(shares) + 1
        return max(minimumAutoThreshold, count)
    }

    /// The threshold count for this sub disk and settings, with its derivation.
    public var threshold: PlanThreshold {
        switch minContainers {
        case .count(let count):
            return PlanThreshold(
                count: max(1, count), source: .configured, shareBytes: nil,
                explanation: "partition_min_containers = \(count)")
        case .auto:
            let share = max(autoShareBytes, Self.alignmentBytes)
            let count = Self.autoThreshold(usableBytes: usableBytes, shareBytes: share)
            let shares = usableBytes / share
            return PlanThreshold(
                count: count, source: .auto, shareBytes: share,
                explanation: "auto: floor(\(ByteSize(bytes: usableBytes)) usable / \(ByteSize(bytes: share)) share) + 1 = \(shares + 1)"
                    + (count > Int(clamping: shares + 1) ? ", raised to the minimum of \(Self.minimumAutoThreshold)" : ""))
        }
    }

    /// Plans the sub disk for `containers`.
    ///
    /// - Parameter containers: every managed container, in any order.
    /// - Returns: the plan, its entries sorted by container id.
    /// - Throws: ``InputError`` when an id is empty or appears twice.
    public func plan(_ containers: [PlanContainer]) throws(InputError) -> PartitionPlan {
        var seen = Set<String>()
        for container in containers {
            if container.id.isEmpty { throw InputError("a container to plan has an empty id") }
            if !seen.insert(container.id).inserted {
                throw InputError("container '\(container.id)' is listed twice; each container is planned once")
            }
        }
        let sorted = containers.sorted { $0.id < $1.id }
        let threshold = self.threshold
        let usable = usableBytes
        let reserved = reserveBytes
        let storedTotal = sorted.reduce(UInt64(0)) { $0.addingSaturating($1.storedBytes) }
        let weights = Self.weights(sorted.map(\.quotaBytes))
        var reasons = [capacityLine(reserved: reserved, usable: usable), "threshold: \(threshold.count) \(threshold.count == 1 ? "container" : "containers") (\(threshold.explanation))"]
        let count = sorted.count
        let noun = count == 1 ? "container" : "containers"

        guard count >= threshold.count else {
            reasons.append("\(count) \(noun), fewer than \(threshold.count): the spill areas share the usable \(ByteSize(bytes: usable)) with no per-container caps")
            let entries = sorted.enumerated().map { index, container in
                PlanEntry(
                    id: container.id, quotaBytes: container.quotaBytes, weight: weights.original[index],
                    storedBytes: container.storedBytes, currentPartitionBytes: container.currentPartitionBytes,
                    fairShareBytes: nil, partitionBytes: nil, shortfallBytes: 0)
            }
            let overcommit = storedTotal > usable ? storedTotal - usable : 0
            if overcommit > 0 {
                reasons.append(overcommitLine(stored: storedTotal, usable: usable, overcommit: overcommit))
            }
            return PartitionPlan(
                mode: .shared, capacityBytes: capacityBytes, reserveBytes: reserved, usableBytes: usable,
                threshold: threshold, entries: entries, plannedBytes: 0, storedBytes: storedTotal, shortfallBytes: 0,
                overcommitBytes: overcommit, reasons: reasons)
        }

        reasons.append("\(count) \(noun), at least \(threshold.count): each gets a partition proportional to its main-disk quota")
        let unit = Self.alignmentBytes
        let units = usable / unit
        let required = sorted.map { Self.floorUnits($0) }
        let fair = Self.largestRemainder(units, weights: weights.scaled)

        // Water-filling with lower bounds: pin every container whose share does not cover
        // what it stores, then share what is left among the others, until none is short.
        var allocation = [UInt64](repeating: 0, count: count)
        var pinned = [Bool](repeating: false, count: count)
        var remaining = units
        while true {
            let free = (0..<count).filter { !pinned[$0] }
            if free.isEmpty { break }
            let shares = Self.largestRemainder(remaining, weights: free.map { weights.scaled[$0] })
            let short = free.indices.filter { required[free[$0]] > shares[$0] }
            if short.isEmpty {
                for (position, index) in free.enumerated() { allocation[index] = shares[position] }
                break
            }
            for position in short {
                let index = free[position]
                pinned[index] = true
                allocation[index] = required[index]
                remaining = remaining > required[index] ? remaining - required[index] : 0
            }
        }

        var entries: [PlanEntry] = []
        var planned: UInt64 = 0
        var shortfallTotal: UInt64 = 0
        var shortCount = 0
        let averageNote = weights.averageQuota.map { "weighted as the average quota \(ByteSize(bytes: $0))" } ?? "weighted equally"
        for (index, container) in sorted.enumerated() {
            let partition = allocation[index].multipliedSaturating(by: unit)
            let fairShare = fair[index].multipliedSaturating(by: unit)
            let shortfall = pinned[index] && required[index] > fair[index] ? (required[index] - fair[index]).multipliedSaturating(by: unit) : 0
            planned = planned.addingSaturating(partition)
            shortfallTotal = shortfallTotal.addingSaturating(shortfall)
            if shortfall > 0 { shortCount += 1 }
            entries.append(PlanEntry(
                id: container.id, quotaBytes: container.quotaBytes, weight: weights.original[index],
                storedBytes: container.storedBytes, currentPartitionBytes: container.currentPartitionBytes,
                fairShareBytes: fairShare, partitionBytes: partition, shortfallBytes: shortfall))

            let quota = container.quotaBytes > 0 ? "quota \(ByteSize(bytes: container.quotaBytes))" : "quota unknown, \(averageNote)"
            let size = partition == 0 ? "no room (0 B)" : "partition \(ByteSize(bytes: partition)) (\(Self.percent(partition, of: usable)) of usable)"
            if let current = container.currentPartitionBytes, container.storedBytes > current {
                reasons.append("\(container.id): \(quota); stores \(ByteSize(bytes: container.storedBytes)), past its partition of \(ByteSize(bytes: current)) → \(size); the excess is not taken from the others")
            } else if shortfall > 0 {
                reasons.append("\(container.id): \(quota); stores \(ByteSize(bytes: container.storedBytes)), more than its fair share of \(ByteSize(bytes: fairShare)) → \(size), never below what it stores; short by \(ByteSize(bytes: shortfall)), taken from the others")
            } else if pinned[index] && required[index] > 0 {
                reasons.append("\(container.id): \(quota); stores \(ByteSize(bytes: container.storedBytes)) → \(size), never below what it stores (fair share \(ByteSize(bytes: fairShare)))")
            } else {
                reasons.append("\(container.id): \(quota) → \(size)")
            }
        }
        if shortfallTotal > 0 {
            let who = shortCount == 1 ? "1 container stores" : "\(shortCount) containers store"
            reasons.append("shortfall \(ByteSize(bytes: shortfallTotal)): \(who) more than a fair share; the others are scaled down")
        }
        let overcommit = planned > usable ? planned - usable : 0
        if overcommit > 0 {
            reasons.append(overcommitLine(stored: storedTotal, usable: usable, overcommit: overcommit))
        }
        return PartitionPlan(
            mode: .partitioned, capacityBytes: capacityBytes, reserveBytes: reserved, usableBytes: usable,
            threshold: threshold, entries: entries, plannedBytes: planned, storedBytes: storedTotal,
            shortfallBytes: shortfallTotal, overcommitBytes: overcommit, reasons: reasons)
    }

    /// The whole MiB below which `container`'s partition is never planned: what it stores,
    /// rounded up, but no more than the partition it has now when it stores more than that
    /// (an offender's excess is not taken from the others).
    static func floorUnits(_ container: PlanContainer) -> UInt64 {
        let unit = alignmentBytes
        let stored = container.storedBytes / unit + (container.storedBytes % unit == 0 ? 0 : 1)
        guard let current = container.currentPartitionBytes else { return stored }
        let currentUnits = current / unit + (current % unit == 0 ? 0 : 1)
        return min(stored, currentUnits)
    }

    private func capacityLine(reserved: UInt64, usable: UInt64) -> String {
        var head = "sub disk \(ByteSize(bytes: capacityBytes)), reserve \(reserve)"
        if case .fraction = reserve { head += " (\(ByteSize(bytes: reserved)))" }
        if reserved >= capacityBytes, capacityBytes > 0 || reserved > 0 {
            return "\(head) takes the whole sub disk: nothing is usable"
        }
        return "\(head), usable \(ByteSize(bytes: usable)) in whole MiB"
    }

    private func overcommitLine(stored: UInt64, usable: UInt64, overcommit: UInt64) -> String {
        "the spill areas already store \(ByteSize(bytes: stored)), \(ByteSize(bytes: overcommit)) more than the usable \(ByteSize(bytes: usable)): no room for new spills until data moves back"
    }

    /// Planning weights: each quota, unknown (0) ones replaced by the average known quota
    /// (or 1 each when none is known); `scaled` is shifted right as little as needed for the
    /// sum to fit in 64 bits, never below 1.
    static func weights(_ quotas: [UInt64]) -> (original: [UInt64], scaled: [UInt64], averageQuota: UInt64?) {
        let known = quotas.filter { $0 > 0 }
        var average: UInt64?
        if !known.isEmpty {
            // The mean without overflow: sum of quotients plus the mean of the remainders.
            let n = UInt64(known.count)
            var quotients: UInt64 = 0
            var remainders: UInt64 = 0
            for quota in known {
                quotients = quotients.addingSaturating(quota / n)
                remainders += quota % n
            }
            average = max(1, quotients.addingSaturating(remainders / n))
        }
        let original = quotas.map { $0 > 0 ? $0 : (average ?? 1) }
        var shift: UInt64 = 0
        while true {
            let scaled = original.map { max(1, $0 >> shift) }
            var sum: UInt64 = 0
            var overflow = false
            for weight in scaled {
                let (next, didOverflow) = sum.addingReportingOverflow(weight)
                if didOverflow { overflow = true; break }
                sum = next
            }
            if !overflow { return (original, scaled, average) }
            shift += 1
        }
    }

    /// Splits `total` in proportion to `weights` (each at least 1), in whole units: floors
    /// first, then one more unit to the largest remainders, ties to the earlier index. The
    /// result sums to exactly `total`.
    static func largestRemainder(_ total: UInt64, weights: [UInt64]) -> [UInt64] {
        guard !weights.isEmpty else { return [] }
        let sum = weights.reduce(0, +)
        var shares: [UInt64] = []
        var remainders: [UInt64] = []
        for weight in weights {
            // total × weight / sum ≤ total, so the quotient fits.
            let (quotient, remainder) = sum.dividingFullWidth(total.multipliedFullWidth(by: weight))
            shares.append(quotient)
            remainders.append(remainder)
        }
        let leftover = total - shares.reduce(0, +)
        let order = weights.indices.sorted { remainders[$0] != remainders[$1] ? remainders[$0] > remainders[$1] : $0 < $1 }
        for index in order.prefix(Int(leftover)) { shares[index] += 1 }
        return shares
    }

    /// `12.5 %`: one decimal.
    static func percent(_ part: UInt64, of whole: UInt64) -> String {
        guard whole > 0 else { return "0 %" }
        let tenths = (Double(part) / Double(whole) * 1000).rounded() / 10
        return "\(tenths) %"
    }
}

extension UInt64 {
    func addingSaturating(_ other: UInt64) -> UInt64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? .max : sum
    }

    func multipliedSaturating(by other: UInt64) -> UInt64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? .max : product
    }
}
