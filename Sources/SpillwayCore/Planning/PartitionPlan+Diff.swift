extension PartitionPlan {
    /// The actions that take the sub disk from `previous` to this plan.
    ///
    /// Re-planning as containers come and go is calling the planner with the new set and
    /// applying this diff. Per container: a partition that appears is created; one that
    /// changes size grows or shrinks; one that disappears is removed, because its container
    /// left (``PartitionRemovalReason/containerLeft``) or the plan went shared
    /// (``PartitionRemovalReason/planShared``). Unchanged partitions produce nothing.
    ///
    /// The order frees space before using it: removals, then shrinks, then grows, then
    /// creations; by container id within each group.
    ///
    /// - Parameter previous: the plan in force, or `nil` when no partition exists yet.
    public func actions(from previous: PartitionPlan?) -> [PartitionAction] {
        var before: [String: UInt64] = [:]
        for entry in previous?.entries ?? [] {
            if let bytes = entry.partitionBytes { before[entry.id] = bytes }
        }
        let present = Set(entries.map(\.id))
        return Self.actions(before: before, after: entries, present: present)
    }

    /// The actions that take each container from its current partition (as given to the
    /// planner in ``PlanContainer/currentPartitionBytes``) to this plan: what to apply after
    /// a restart, when the previous plan is not at hand. Containers that left are not in the
    /// plan, so no removals for them appear here; use ``actions(from:)`` for those.
    public func actionsFromCurrentPartitions() -> [PartitionAction] {
        var before: [String: UInt64] = [:]
        for entry in entries {
            if let bytes = entry.currentPartitionBytes { before[entry.id] = bytes }
        }
        return Self.actions(before: before, after: entries, present: Set(entries.map(\.id)))
    }

    private static func actions(before: [String: UInt64], after: [PlanEntry], present: Set<String>) -> [PartitionAction] {
        var removals: [PartitionAction] = []
        var shrinks: [PartitionAction] = []
        var grows: [PartitionAction] = []
        var creations: [PartitionAction] = []
        var planned: [String: UInt64] = [:]
        for entry in after {
            if let bytes = entry.partitionBytes { planned[entry.id] = bytes }
        }
        for (id, old) in before where planned[id] == nil {
            removals.append(.remove(containerID: id, bytes: old, reason: present.contains(id) ? .planShared : .containerLeft))
        }
        for (id, new) in planned {
            guard let old = before[id] else {
                creations.append(.create(containerID: id, bytes: new))
                continue
            }
            if new > old { grows.append(.grow(containerID: id, fromBytes: old, toBytes: new)) }
            if new < old { shrinks.append(.shrink(containerID: id, fromBytes: old, toBytes: new)) }
        }
        let byID: (PartitionAction, PartitionAction) -> Bool = { $0.containerID < $1.containerID }
        return removals.sorted(by: byID) + shrinks.sorted(by: byID) + grows.sorted(by: byID) + creations.sorted(by: byID)
    }
}
