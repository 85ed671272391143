import Foundation
import SpillwayCore
import Testing

/// Re-planning as containers come and go: the diff between two plans as actions.
struct DiffCase: Sendable, CustomTestStringConvertible {
    var name: String
    var before: [PlanContainer]?
    var after: [PlanContainer]
    var minContainers: PartitionMinContainers = .count(2)
    var actions: [String]

    var testDescription: String { name }
}

@Suite("Partition plan diffs")
struct PartitionPlanDiffTests {
    static func planner(_ minContainers: PartitionMinContainers) -> PartitionPlanner {
        PartitionPlanner(capacityBytes: 12 * MiB, reserve: .bytes(0), minContainers: minContainers)
    }

    static let cases: [DiffCase] = [
        DiffCase(name: "first plan, partitioned: every partition is created", before: nil,
                 after: [container("a", quota: GiB), container("b", quota: 2 * GiB)],
                 actions: ["create a (4 MiB)", "create b (8 MiB)"]),
        DiffCase(name: "first plan, shared: nothing to do", before: nil, after: [container("a", quota: GiB)], actions: []),
        DiffCase(name: "the same containers: nothing to do",
                 before: [container("a", quota: GiB), container("b", quota: 2 * GiB)],
                 after: [container("b", quota: 2 * GiB), container("a", quota: GiB)], actions: []),
        DiffCase(name: "a container arrives: the others shrink first, then it is created",
                 before: [container("a", quota: GiB), container("b", quota: GiB)],
                 after: [container("a", quota: GiB), container("b", quota: GiB), container("c", quota: GiB)],
                 actions: ["shrink a from 6 MiB to 4 MiB", "shrink b from 6 MiB to 4 MiB", "create c (4 MiB)"]),
        DiffCase(name: "a container leaves: its partition is removed, then the others grow",
                 before: [container("a", quota: GiB), container("b", quota: GiB), container("c", quota: GiB)],
                 after: [container("a", quota: GiB), container("c", quota: GiB)],
                 actions: ["remove b (4 MiB, container_left)", "grow a from 4 MiB to 6 MiB", "grow c from 4 MiB to 6 MiB"]),
        DiffCase(name: "falling below the threshold goes back to shared",
                 before: [container("a", quota: GiB), container("b", quota: GiB)], after: [container("a", quota: GiB)],
                 actions: ["remove a (6 MiB, plan_shared)", "remove b (6 MiB, container_left)"]),
        DiffCase(name: "reaching the threshold partitions everyone",
                 before: [container("a", quota: GiB)], after: [container("a", quota: GiB), container("b", quota: GiB)],
                 actions: ["create a (6 MiB)", "create b (6 MiB)"]),
        DiffCase(name: "a quota change resizes both ways",
                 before: [container("a", quota: GiB), container("b", quota: GiB)],
                 after: [container("a", quota: 2 * GiB), container("b", quota: GiB)],
                 actions: ["shrink b from 6 MiB to 4 MiB", "grow a from 6 MiB to 8 MiB"]),
        DiffCase(name: "a container filling its spill area keeps its partition; the others shrink",
                 before: [container("a", quota: GiB), container("b", quota: GiB), container("c", quota: GiB)],
                 after: [container("a", quota: GiB, stored: 6 * MiB), container("b", quota: GiB), container("c", quota: GiB)],
                 actions: ["shrink b from 4 MiB to 3 MiB", "shrink c from 4 MiB to 3 MiB", "grow a from 4 MiB to 6 MiB"]),
        DiffCase(name: "shared to shared: nothing to do", before: [container("a", quota: GiB)],
                 after: [container("b", quota: GiB)], actions: []),
    ]

    @Test(arguments: cases)
    func diffs(testCase: DiffCase) throws {
        let planner = Self.planner(testCase.minContainers)
        let before = try testCase.before.map { try planner.plan($0) }
        let after = try planner.plan(testCase.after)
        #expect(after.actions(from: before).map(\.description) == testCase.actions)
    }

    @Test func actionsFromCurrentPartitionsResumeAfterARestart() throws {
        let plan = try Self.planner(.count(2)).plan([
            container("a", quota: GiB, current: 6 * MiB), container("b", quota: 2 * GiB, current: 6 * MiB),
            container("c", quota: GiB),
        ])
        #expect(plan.actionsFromCurrentPartitions() == [
            .shrink(containerID: "a", fromBytes: 6 * MiB, toBytes: 3 * MiB),
            .create(containerID: "c", bytes: 3 * MiB),
        ])
        #expect(plan.partitionBytes(for: "b") == 6 * MiB)
    }

    static let encodedActions: [(PartitionAction, String)] = [
        (.create(containerID: "a", bytes: 4), #"{"action":"create","container_id":"a","from_bytes":null,"reason":null,"to_bytes":4}"#),
        (.grow(containerID: "a", fromBytes: 4, toBytes: 8), #"{"action":"grow","container_id":"a","from_bytes":4,"reason":null,"to_bytes":8}"#),
        (.shrink(containerID: "a", fromBytes: 8, toBytes: 4), #"{"action":"shrink","container_id":"a","from_bytes":8,"reason":null,"to_bytes":4}"#),
        (.remove(containerID: "a", bytes: 4, reason: .containerLeft), #"{"action":"remove","container_id":"a","from_bytes":4,"reason":"container_left","to_bytes":null}"#),
        (.remove(containerID: "a", bytes: 4, reason: .planShared), #"{"action":"remove","container_id":"a","from_bytes":4,"reason":"plan_shared","to_bytes":null}"#),
    ]

    @Test(arguments: encodedActions)
    func actionsEncodeAsFlatObjects(action: PartitionAction, json: String) throws {
        #expect(try PolicyEventCodingTests.json(action) == json)
        #expect(try JSONDecoder().decode(PartitionAction.self, from: Data(json.utf8)) == action)
    }

    @Test func anUnknownActionDoesNotDecode() {
        let json = #"{"action":"explode","container_id":"a","from_bytes":null,"reason":null,"to_bytes":4}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(PartitionAction.self, from: Data(json.utf8)) }
    }

    @Test func aPlanEncodesForSpillwayPlanJSON() throws {
        let plan = try PartitionPlanner(capacityBytes: 10 * MiB, reserve: .bytes(0), minContainers: .count(1))
            .plan([container("a", quota: 3 * MiB, stored: 1)])
        let json = try PolicyEventCodingTests.json(plan)
        #expect(json == #"{"capacity_bytes":10485760,"containers":[{"current_partition_bytes":null,"fair_share_bytes":10485760,"id":"a","partition_bytes":10485760,"quota_bytes":3145728,"shortfall_bytes":0,"stored_bytes":1,"weight":3145728}],"mode":"partitioned","overcommit_bytes":0,"planned_bytes":10485760,"reasons":["sub disk 10 MiB, reserve 0 B, usable 10 MiB in whole MiB","threshold: 1 container (partition_min_containers = 1)","1 container, at least 1: each gets a partition proportional to its main-disk quota","a: quota 3 MiB → partition 10 MiB (100.0 % of usable)"],"reserve_bytes":0,"shortfall_bytes":0,"stored_bytes":1,"threshold":{"count":1,"explanation":"partition_min_containers = 1","share_bytes":null,"source":"configured"},"usable_bytes":10485760}"#)
        #expect(try JSONDecoder().decode(PartitionPlan.self, from: Data(json.utf8)) == plan)
    }

    @Test func aSharedPlanHasNullPartitions() throws {
        let plan = try PartitionPlanner(capacityBytes: 10 * MiB).plan([container("a", quota: 3 * MiB)])
        let entry = try #require(plan.entries.first)
        #expect(entry.partitionBytes == nil && entry.fairShareBytes == nil)
        #expect(try PolicyEventCodingTests.json(entry).contains(#""partition_bytes":null"#))
    }
}
