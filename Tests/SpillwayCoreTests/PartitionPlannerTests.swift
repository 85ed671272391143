import SpillwayCore
import Testing

let MiB: UInt64 = 1 << 20
let GiB: UInt64 = 1 << 30

/// One planning case: the sub disk, the settings, the containers, and the expected plan
/// (partition sizes in MiB; empty in shared mode).
struct PlanCase: Sendable, CustomTestStringConvertible {
    var name: String
    var capacity: UInt64
    var reserve: SubDiskReserve = .bytes(0)
    var minContainers: PartitionMinContainers = .count(1)
    var containers: [PlanContainer]
    var mode: PlanMode
    var threshold: Int
    var partitionsMiB: [String: UInt64] = [:]
    var shortfallsMiB: [String: UInt64] = [:]
    var overcommitMiB: UInt64 = 0

    var testDescription: String { name }

    var planner: PartitionPlanner {
        PartitionPlanner(capacityBytes: capacity, reserve: reserve, minContainers: minContainers)
    }
}

/// `n` containers `c01`…, each with quota `quota` and nothing stored.
func equalContainers(_ count: Int, quota: UInt64 = GiB) -> [PlanContainer] {
    (1...max(1, count)).prefix(count).map { PlanContainer(id: $0 < 10 ? "c0\($0)" : "c\($0)", quotaBytes: quota) }
}

func container(_ id: String, quota: UInt64, stored: UInt64 = 0, current: UInt64? = nil) -> PlanContainer {
    PlanContainer(id: id, quotaBytes: quota, storedBytes: stored, currentPartitionBytes: current)
}

@Suite("Sub-disk partition planner")
struct PartitionPlannerTests {
    static let cases: [PlanCase] = [
        // How many containers: shared below the threshold count, partitioned at and above it.
        PlanCase(name: "no containers", capacity: 100 * GiB, reserve: .fraction(0.05), minContainers: .auto,
                 containers: [], mode: .shared, threshold: 12),
        PlanCase(name: "one container shares the sub disk (auto)", capacity: 100 * GiB, reserve: .fraction(0.05), minContainers: .auto,
                 containers: [container("a", quota: 10 * GiB, stored: 3 * GiB)], mode: .shared, threshold: 12),
        PlanCase(name: "11 containers, just below the auto threshold of a 100 GiB sub disk", capacity: 100 * GiB,
                 reserve: .fraction(0.05), minContainers: .auto, containers: equalContainers(11), mode: .shared, threshold: 12),
        PlanCase(name: "12 containers, at the auto threshold", capacity: 100 * GiB, reserve: .fraction(0.05), minContainers: .auto,
                 containers: equalContainers(12), mode: .partitioned, threshold: 12,
                 partitionsMiB: ["c01": 8107, "c02": 8107, "c03": 8107, "c04": 8107, "c05": 8107, "c06": 8107,
                                 "c07": 8107, "c08": 8107, "c09": 8106, "c10": 8106, "c11": 8106, "c12": 8106]),
        PlanCase(name: "13 containers, above the auto threshold", capacity: 100 * GiB, reserve: .fraction(0.05), minContainers: .auto,
                 containers: equalContainers(13), mode: .partitioned, threshold: 12,
                 partitionsMiB: ["c01": 7484, "c02": 7483, "c03": 7483, "c04": 7483, "c05": 7483, "c06": 7483, "c07": 7483,
                                 "c08": 7483, "c09": 7483, "c10": 7483, "c11": 7483, "c12": 7483, "c13": 7483]),
        PlanCase(name: "a 10 GiB sub disk partitions from 2 containers", capacity: 10 * GiB, reserve: .fraction(0.05), minContainers: .auto,
                 containers: equalContainers(2), mode: .partitioned, threshold: 2, partitionsMiB: ["c01": 4864, "c02": 4864]),
        PlanCase(name: "configured 3, with 2 containers: shared", capacity: 3 * GiB, minContainers: .count(3),
                 containers: equalContainers(2), mode: .shared, threshold: 3),
        PlanCase(name: "configured 3, with 3 containers: partitioned", capacity: 3 * GiB, minContainers: .count(3),
                 containers: equalContainers(3), mode: .partitioned, threshold: 3, partitionsMiB: ["c01": 1024, "c02": 1024, "c03": 1024]),
        PlanCase(name: "configured 1: one container gets all of the usable space", capacity: 10 * GiB, minContainers: .count(1),
                 containers: equalContainers(1), mode: .partitioned, threshold: 1, partitionsMiB: ["c01": 10240]),
        PlanCase(name: "configured 1 with no containers: shared", capacity: 10 * GiB, minContainers: .count(1),
                 containers: [], mode: .shared, threshold: 1),
        // Proportional to the quotas, after the reserve.
        PlanCase(name: "partitions follow the quotas 1:2:3:4", capacity: 10 * GiB,
                 containers: [container("a", quota: 1 * GiB), container("b", quota: 2 * GiB), container("c", quota: 3 * GiB), container("d", quota: 4 * GiB)],
                 mode: .partitioned, threshold: 1, partitionsMiB: ["a": 1024, "b": 2048, "c": 3072, "d": 4096]),
        PlanCase(name: "a 5 % reserve comes off first", capacity: 100 * GiB, reserve: .fraction(0.05),
                 containers: [container("a", quota: 1 * GiB), container("b", quota: 3 * GiB)],
                 mode: .partitioned, threshold: 1, partitionsMiB: ["a": 24320, "b": 72960]),
        PlanCase(name: "a reserve in bytes comes off first", capacity: 100 * GiB, reserve: .bytes(10 * GiB),
                 containers: equalContainers(2), mode: .partitioned, threshold: 1, partitionsMiB: ["c01": 46080, "c02": 46080]),
        PlanCase(name: "a reserve larger than the capacity leaves nothing", capacity: 10 * GiB, reserve: .bytes(20 * GiB),
                 containers: equalContainers(2), mode: .partitioned, threshold: 1, partitionsMiB: ["c01": 0, "c02": 0]),
        PlanCase(name: "a reserve larger than the capacity still keeps what is stored", capacity: 10 * GiB, reserve: .bytes(20 * GiB),
                 containers: [container("a", quota: GiB, stored: 5 * MiB), container("b", quota: GiB)],
                 mode: .partitioned, threshold: 1, partitionsMiB: ["a": 5, "b": 0], shortfallsMiB: ["a": 5], overcommitMiB: 5),
        PlanCase(name: "a 100 % reserve leaves nothing", capacity: 10 * GiB, reserve: .fraction(1),
                 containers: equalContainers(1), mode: .partitioned, threshold: 1, partitionsMiB: ["c01": 0]),
        PlanCase(name: "no capacity at all", capacity: 0, containers: equalContainers(1), mode: .partitioned, threshold: 1,
                 partitionsMiB: ["c01": 0]),
        // Rounding to 1 MiB, summing to exactly the usable space.
        PlanCase(name: "10 MiB in thirds: the spare MiB goes to the first id", capacity: 10 * MiB,
                 containers: [container("a", quota: GiB), container("b", quota: GiB), container("c", quota: GiB)],
                 mode: .partitioned, threshold: 1, partitionsMiB: ["a": 4, "b": 3, "c": 3]),
        PlanCase(name: "the spare MiB goes to the largest remainder, not the first id", capacity: 10 * MiB,
                 containers: [container("a", quota: 5 * GiB), container("b", quota: 2 * GiB)],
                 mode: .partitioned, threshold: 1, partitionsMiB: ["a": 7, "b": 3]),
        PlanCase(name: "an unaligned capacity is rounded down to 1 MiB", capacity: 10 * MiB + 12_345,
                 containers: equalContainers(2), mode: .partitioned, threshold: 1, partitionsMiB: ["c01": 5, "c02": 5]),
        // Unknown quotas.
        PlanCase(name: "no quota known: equal shares", capacity: 9 * MiB,
                 containers: [container("a", quota: 0), container("b", quota: 0), container("c", quota: 0)],
                 mode: .partitioned, threshold: 1, partitionsMiB: ["a": 3, "b": 3, "c": 3]),
        PlanCase(name: "an unknown quota counts as the average known one", capacity: 12 * MiB,
                 containers: [container("a", quota: 1 * GiB), container("b", quota: 3 * GiB), container("c", quota: 0)],
                 mode: .partitioned, threshold: 1, partitionsMiB: ["a": 2, "b": 6, "c": 4]),
        // Never below what is stored.
        PlanCase(name: "one container stores more than its fair share", capacity: 40 * GiB, containers: [
            container("a", quota: GiB, stored: 20 * GiB), container("b", quota: GiB), container("c", quota: GiB), container("d", quota: GiB),
        ], mode: .partitioned, threshold: 1, partitionsMiB: ["a": 20480, "b": 6827, "c": 6827, "d": 6826], shortfallsMiB: ["a": 10240]),
        PlanCase(name: "stored bytes round up to the next MiB", capacity: 10 * MiB,
                 containers: [container("a", quota: GiB, stored: 6 * MiB + 1), container("b", quota: GiB)],
                 mode: .partitioned, threshold: 1, partitionsMiB: ["a": 7, "b": 3], shortfallsMiB: ["a": 2]),
        PlanCase(name: "stored exactly the fair share: no shortfall", capacity: 10 * MiB,
                 containers: [container("a", quota: GiB, stored: 5 * MiB), container("b", quota: GiB)],
                 mode: .partitioned, threshold: 1, partitionsMiB: ["a": 5, "b": 5]),
        PlanCase(name: "pinning one pushes another under what it stores", capacity: 30 * MiB, containers: [
            container("a", quota: GiB, stored: 15 * MiB), container("b", quota: GiB, stored: 9 * MiB), container("c", quota: GiB),
        ], mode: .partitioned, threshold: 1, partitionsMiB: ["a": 15, "b": 9, "c": 6], shortfallsMiB: ["a": 5]),
        PlanCase(name: "everything stored exceeds the capacity", capacity: 10 * MiB, containers: [
            container("a", quota: GiB, stored: 8 * MiB), container("b", quota: GiB, stored: 6 * MiB), container("c", quota: GiB),
        ], mode: .partitioned, threshold: 1, partitionsMiB: ["a": 8, "b": 6, "c": 0], shortfallsMiB: ["a": 4, "b": 3], overcommitMiB: 4),
        PlanCase(name: "stored data beyond the usable space in shared mode is reported", capacity: 10 * MiB, minContainers: .count(5),
                 containers: [container("a", quota: GiB, stored: 8 * MiB), container("b", quota: GiB, stored: 6 * MiB)],
                 mode: .shared, threshold: 5, overcommitMiB: 4),
        // Extremes.
        PlanCase(name: "huge quotas do not overflow", capacity: 30 * MiB, containers: [
            container("a", quota: .max / 2), container("b", quota: .max / 2), container("c", quota: .max / 2),
        ], mode: .partitioned, threshold: 1, partitionsMiB: ["a": 10, "b": 10, "c": 10]),
        PlanCase(name: "a huge quota next to a tiny one", capacity: 30 * MiB,
                 containers: [container("a", quota: .max), container("b", quota: 1)],
                 mode: .partitioned, threshold: 1, partitionsMiB: ["a": 30, "b": 0]),
        PlanCase(name: "input order does not matter", capacity: 10 * MiB,
                 containers: [container("z", quota: GiB), container("a", quota: GiB), container("m", quota: GiB)],
                 mode: .partitioned, threshold: 1, partitionsMiB: ["a": 4, "m": 3, "z": 3]),
    ]

    @Test(arguments: cases)
    func plans(testCase: PlanCase) throws {
        let plan = try testCase.planner.plan(testCase.containers)
        #expect(plan.mode == testCase.mode)
        #expect(plan.threshold.count == testCase.threshold)
        #expect(plan.entries.map(\.id) == testCase.containers.map(\.id).sorted())
        var partitions: [String: UInt64] = [:]
        var shortfalls: [String: UInt64] = [:]
        for entry in plan.entries {
            if let bytes = entry.partitionBytes { partitions[entry.id] = bytes / MiB }
            if entry.shortfallBytes > 0 { shortfalls[entry.id] = entry.shortfallBytes / MiB }
        }
        #expect(partitions == testCase.partitionsMiB)
        #expect(shortfalls == testCase.shortfallsMiB)
        #expect(plan.overcommitBytes == testCase.overcommitMiB * MiB)
        #expect(plan.shortfallBytes == testCase.shortfallsMiB.values.reduce(0, +) * MiB)
    }

    /// What holds for every plan: aligned partitions, never below what is stored, and a sum
    /// within the usable space unless what is stored alone exceeds it.
    @Test(arguments: cases)
    func keepsItsPromises(testCase: PlanCase) throws {
        let plan = try testCase.planner.plan(testCase.containers)
        #expect(plan.usableBytes % MiB == 0)
        #expect(plan.usableBytes <= plan.capacityBytes)
        let partitions = plan.entries.compactMap(\.partitionBytes)
        #expect(partitions.count == (plan.mode == .partitioned ? plan.entries.count : 0))
        for entry in plan.entries {
            if let bytes = entry.partitionBytes {
                #expect(bytes % MiB == 0, "\(entry.id)")
                #expect(bytes >= entry.storedBytes, "\(entry.id) is planned below what it stores")
            }
        }
        let sum = partitions.reduce(0, +)
        #expect(plan.plannedBytes == sum)
        if plan.mode == .partitioned {
            if plan.overcommitBytes == 0 {
                #expect(sum <= plan.usableBytes)
                // Nothing is left over unless there are no containers.
                #expect(sum == plan.usableBytes || plan.entries.isEmpty)
            } else {
                #expect(sum == plan.usableBytes + plan.overcommitBytes)
            }
        }
    }

    static let autoThresholds: [(usable: UInt64, share: UInt64, threshold: Int)] = [
        (0, 8 * GiB, 2),
        (8 * GiB - MiB, 8 * GiB, 2),
        (8 * GiB, 8 * GiB, 2),
        (16 * GiB - MiB, 8 * GiB, 2),
        (16 * GiB, 8 * GiB, 3),
        (95 * GiB, 8 * GiB, 12),
        (996_147 * MiB, 8 * GiB, 122),
        (3_984_588 * MiB, 8 * GiB, 487),
        (100 * GiB, 1 * GiB, 101),
        (100 * GiB, 0, 102_401),
        (.max, MiB, Int(UInt64.max / MiB) + 1),
    ]

    @Test(arguments: autoThresholds)
    func autoThresholdGrowsWithTheCapacity(usable: UInt64, share: UInt64, threshold: Int) {
        #expect(PartitionPlanner.autoThreshold(usableBytes: usable, shareBytes: share) == threshold)
    }

    /// The examples in the planner's documentation: 5 % reserve, default share.
    static let documentedThresholds: [(UInt64, Int)] = [(10 * GiB, 2), (100 * GiB, 12), (1024 * GiB, 122), (4096 * GiB, 487)]

    @Test(arguments: documentedThresholds)
    func documentedAutoThresholds(capacity: UInt64, threshold: Int) {
        let planner = PartitionPlanner(capacityBytes: capacity)
        #expect(planner.threshold.count == threshold)
        #expect(planner.threshold.source == .auto)
        #expect(planner.threshold.shareBytes == 8 * GiB)
    }

    @Test func autoThresholdFollowsAConfiguredShare() {
        let planner = PartitionPlanner(capacityBytes: 100 * GiB, reserve: .bytes(0), autoShareBytes: 25 * GiB)
        #expect(planner.threshold == PlanThreshold(
            count: 5, source: .auto, shareBytes: 25 * GiB, explanation: "auto: floor(100 GiB usable / 25 GiB share) + 1 = 5"))
    }

    @Test func smallSubDiskExplainsTheMinimum() {
        let planner = PartitionPlanner(capacityBytes: 1 * GiB)
        #expect(planner.threshold.explanation == "auto: floor(972 MiB usable / 8 GiB share) + 1 = 1, raised to the minimum of 2")
    }

    @Test func configuredThresholdSaysSo() {
        let planner = PartitionPlanner(capacityBytes: 1 * GiB, minContainers: .count(10))
        #expect(planner.threshold == PlanThreshold(count: 10, source: .configured, shareBytes: nil, explanation: "partition_min_containers = 10"))
    }

    @Test func reasonsExplainAPartitionedPlan() throws {
        let planner = PartitionPlanner(capacityBytes: 40 * GiB, reserve: .bytes(0), minContainers: .count(3))
        let plan = try planner.plan([
            container("db", quota: GiB, stored: 20 * GiB), container("web", quota: GiB), container("cache", quota: 0),
        ])
        #expect(plan.reasons == [
            "sub disk 40 GiB, reserve 0 B, usable 40 GiB in whole MiB",
            "threshold: 3 containers (partition_min_containers = 3)",
            "3 containers, at least 3: each gets a partition proportional to its main-disk quota",
            "cache: quota unknown, weighted as the average quota 1 GiB → partition 10 GiB (25.0 % of usable)",
            "db: quota 1 GiB; stores 20 GiB, more than its fair share of 13.3 GiB → partition 20 GiB (50.0 % of usable), never below what it stores; short by 6.7 GiB, taken from the others",
            "web: quota 1 GiB → partition 10 GiB (25.0 % of usable)",
            "shortfall 6.7 GiB: 1 container stores more than a fair share; the others are scaled down",
        ])
    }

    @Test func reasonsExplainASharedPlan() throws {
        let planner = PartitionPlanner(capacityBytes: 100 * GiB)
        let plan = try planner.plan([container("a", quota: GiB)])
        #expect(plan.reasons == [
            "sub disk 100 GiB, reserve 5% (5 GiB), usable 95 GiB in whole MiB",
            "threshold: 12 containers (auto: floor(95 GiB usable / 8 GiB share) + 1 = 12)",
            "1 container, fewer than 12: the spill areas share the usable 95 GiB with no per-container caps",
        ])
    }

    @Test func reasonsExplainAnOvercommittedPlan() throws {
        let planner = PartitionPlanner(capacityBytes: 10 * GiB, reserve: .bytes(20 * GiB), minContainers: .count(1))
        let plan = try planner.plan([container("a", quota: GiB, stored: 5 * MiB), container("b", quota: GiB)])
        #expect(plan.reasons.first == "sub disk 10 GiB, reserve 20 GiB takes the whole sub disk: nothing is usable")
        #expect(plan.reasons.contains("b: quota 1 GiB → no room (0 B)"))
        #expect(plan.reasons.last == "the spill areas already store 5 MiB, 5 MiB more than the usable 0 B: no room for new spills until data moves back")
    }

    @Test func keepsTheCurrentPartitionSizes() throws {
        let plan = try PartitionPlanner(capacityBytes: 10 * MiB, minContainers: .count(1))
            .plan([container("a", quota: GiB, current: 3 * MiB), container("b", quota: GiB)])
        #expect(plan.entry(for: "a")?.currentPartitionBytes == 3 * MiB)
        #expect(plan.entry(for: "b")?.currentPartitionBytes == nil)
        #expect(plan.partitionBytes(for: "a") == 5 * MiB)
        #expect(plan.partitionBytes(for: "nobody") == nil)
    }

    static let badInputs: [([PlanContainer], String)] = [
        ([container("a", quota: 1), container("a", quota: 2)], "container 'a' is listed twice; each container is planned once"),
        ([container("", quota: 1)], "a container to plan has an empty id"),
    ]

    @Test(arguments: badInputs)
    func rejectsBadInput(containers: [PlanContainer], message: String) {
        #expect(throws: InputError(message)) { try PartitionPlanner(capacityBytes: GiB).plan(containers) }
    }
}
