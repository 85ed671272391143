import SpillwayCore
import Testing

/// The planner never rewards a container that got past its partition (issue #15): its floor is
/// the partition it has, so the others keep theirs.
@Suite("Partition planner and offenders")
struct PartitionEnforcementPlanTests {
    let planner = PartitionPlanner(capacityBytes: 1000 * MiB, reserve: .bytes(0), minContainers: .count(2))

    @Test func anOffenderKeepsItsPartitionAndTheOthersKeepTheirs() throws {
        // Each was given 500 MiB; "a" stores 800 MiB, 300 MiB past its cap.
        let plan = try planner.plan([
            container("a", quota: GiB, stored: 800 * MiB, current: 500 * MiB),
            container("b", quota: GiB, stored: 10 * MiB, current: 500 * MiB),
        ])
        #expect(plan.partitionBytes(for: "a") == 500 * MiB)
        #expect(plan.partitionBytes(for: "b") == 500 * MiB)
        #expect(plan.reasons.contains { $0.contains("a: ") && $0.contains("past its partition") && $0.contains("not taken from the others") },
                "\(plan.reasons)")
    }

    @Test func anOffenderIsNotShrunkEither() throws {
        // A third container arrives: fair shares fall to 333 MiB, but "a" holds 800 MiB in a
        // 500 MiB partition: it keeps 500 (never shrunk below what it may store), no more.
        let plan = try planner.plan([
            container("a", quota: GiB, stored: 800 * MiB, current: 500 * MiB),
            container("b", quota: GiB, current: 500 * MiB),
            container("c", quota: GiB),
        ])
        #expect(plan.partitionBytes(for: "a") == 500 * MiB)
        #expect(plan.partitionBytes(for: "b") == 250 * MiB)
        #expect(plan.partitionBytes(for: "c") == 250 * MiB)
    }

    @Test func aContainerThatSpilledWhileSharingStillGetsWhatItStores() throws {
        // No partition yet (the sub disk was shared): the spec's floor, what it stores, holds.
        let plan = try planner.plan([
            container("a", quota: GiB, stored: 800 * MiB),
            container("b", quota: GiB),
        ])
        #expect(plan.partitionBytes(for: "a") == 800 * MiB)
        #expect(plan.partitionBytes(for: "b") == 200 * MiB)
    }

    @Test func withinItsPartitionTheFloorIsWhatItStores() throws {
        let plan = try planner.plan([
            container("a", quota: GiB, stored: 450 * MiB + 1, current: 500 * MiB),
            container("b", quota: 4 * GiB, current: 500 * MiB),
        ])
        #expect(plan.partitionBytes(for: "a") == 451 * MiB)
        #expect(plan.partitionBytes(for: "b") == 549 * MiB)
    }
}

/// `partition_backend`: what `auto` picks on each kind of sub disk, and what explicit choices need.
@Suite("Partition backend choice")
struct PartitionBackendChoiceTests {
    typealias Facts = PartitionBackendChoice.SubDiskFacts

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var setting: PartitionBackendSetting
        var facts: Facts
        var backend: PartitionBackendSetting
        var enforcement: PartitionEnforcement
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "auto, btrfs with quotas: subvolumes", setting: .auto,
             facts: Facts(path: "/fast", isBtrfs: true, btrfsQuotasEnabled: true, loopDevicesAvailable: true),
             backend: .btrfs, enforcement: .kernel),
        Case(name: "auto, btrfs without quotas: loop images, not directories", setting: .auto,
             facts: Facts(path: "/fast", isBtrfs: true, btrfsQuotasEnabled: false, loopDevicesAvailable: true),
             backend: .loop, enforcement: .kernel),
        Case(name: "auto, ext4: loop images", setting: .auto,
             facts: Facts(path: "/fast", isBtrfs: false, btrfsQuotasEnabled: false, loopDevicesAvailable: true),
             backend: .loop, enforcement: .kernel),
        Case(name: "auto, nothing the kernel can enforce: directories, said plainly", setting: .auto,
             facts: Facts(path: "/fast", isBtrfs: false, btrfsQuotasEnabled: false, loopDevicesAvailable: false),
             backend: .directory, enforcement: .library),
        Case(name: "directory asked for on btrfs with quotas", setting: .directory,
             facts: Facts(path: "/fast", isBtrfs: true, btrfsQuotasEnabled: true, loopDevicesAvailable: true),
             backend: .directory, enforcement: .library),
        Case(name: "loop asked for on btrfs", setting: .loop,
             facts: Facts(path: "/fast", isBtrfs: true, btrfsQuotasEnabled: true, loopDevicesAvailable: true),
             backend: .loop, enforcement: .kernel),
    ]

    @Test(arguments: cases)
    func picks(_ c: Case) throws {
        let choice = try PartitionBackendChoice.choose(c.setting, facts: c.facts)
        #expect(choice.backend == c.backend)
        #expect(choice.enforcement == c.enforcement)
        // The library-enforced case, and only it, carries the operator's warning.
        if c.enforcement == .library {
            let notice = try #require(choice.notice)
            #expect(notice.contains("/fast") && notice.contains("not by the kernel") && notice.contains("own system calls"), "\(notice)")
        } else {
            #expect(choice.notice == nil)
        }
        #expect(choice.reason.contains(c.setting == .auto ? "auto" : "partition_backend"), "\(choice.reason)")
    }

    @Test func explicitChoicesThatCannotWorkSaySoAndHowToFixIt() {
        let ext4 = Facts(path: "/fast", isBtrfs: false, btrfsQuotasEnabled: false, loopDevicesAvailable: false)
        #expect(throws: InputError("partition_backend = \"btrfs\" needs a btrfs sub disk, and /fast is not btrfs; use \"loop\" or \"auto\"")) {
            try PartitionBackendChoice.choose(.btrfs, facts: ext4)
        }
        let noQuotas = Facts(path: "/fast", isBtrfs: true, btrfsQuotasEnabled: false, loopDevicesAvailable: false)
        #expect(throws: InputError("partition_backend = \"btrfs\" needs btrfs quotas on /fast; run `btrfs quota enable /fast` or use \"loop\" or \"auto\"")) {
            try PartitionBackendChoice.choose(.btrfs, facts: noQuotas)
        }
        #expect(throws: InputError.self) { try PartitionBackendChoice.choose(.loop, facts: ext4) }
    }
}
