#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import SpillwayCore
import SpillwaySystem
import SystemPackage

/// `spillway grow` and the drain (claim 5): raise a container's real main-disk limit, keep it
/// across restarts, and move its spilled files back.
extension Supervisor {
    /// Raises the container's main-disk limit (btrfs qgroup limit or XFS project quota), records
    /// it, emits a `quota_grown` event and starts the drain of a spilling container.
    ///
    /// The new limit is stored before the kernel is told and taken back if the kernel refuses,
    /// so nothing is half done; a restart re-applies a stored limit the kernel lost.
    ///
    /// - Throws: ``InputError`` / ``ControlError`` naming the input and what to do (a size below
    ///   the usage or above the disk, no quota that can be raised).
    public func grow(_ nameOrID: String, _ request: GrowRequest) async throws -> GrowResult {
        try request.validate()
        let managed = try resolve(nameOrID)
        let id = managed.record.id
        guard let usage = managed.usage, usage.canSetLimit else {
            throw ControlError.badRequest("'\(id)' has no quota Spillway can raise (\(managed.problem ?? "its usage is read by statfs of a filesystem of its own")); resize its filesystem instead")
        }
        // Settled numbers: a grow is rare, a commit is cheap then.
        if let btrfs = usage as? BtrfsQgroupUsage { try? btrfs.commit() }
        let reading = try usage.read()
        let capacity = try? Self.mainDiskCapacity(managed.record.root)
        let limit = try GrowPlanner.newLimit(request, container: id, usedBytes: reading.charged, currentLimit: reading.limit,
                                             diskCapacity: capacity)
        let previousRecord = managed.record
        managed.record.limitBytes = Int64(clamping: limit)
        try store.update(managed.record)
        do {
            try usage.setLimit(limit)
        } catch {
            managed.record = previousRecord
            try? store.update(previousRecord)
            throw ControlError(.internalServerError, "cannot raise the limit of '\(id)' to \(ByteSize(bytes: limit)): \(error)")
        }
        managed.used = reading.charged
        managed.limit = limit
        recordGrownLimitWithEngine(managed, limit)
        let now = Self.now()
        try emit(EventRecord(
            timeNanoseconds: now.nanosecondsSinceEpoch, container: id, kind: "quota_grown", usedBytes: reading.charged,
            limitBytes: limit, spilledBytes: managed.spilled,
            detail: "limit \(reading.limit.map { ByteSize(bytes: $0).description } ?? "none") -> \(ByteSize(bytes: limit))"))
        apply(managed.policy.quotaGrown(toLimitBytes: limit, at: now), to: managed)
        var note: String?
        if let needed = configuration.policy.minimumLimitToDrain(usedBytes: reading.charged, spilledBytes: managed.spilled),
           needed > limit {
            note = "\(ByteSize(bytes: managed.spilled)) are spilled; for all of it to come back below the spill threshold '\(id)' needs at least \(ByteSize(bytes: needed)); the drain stops when usage reaches the threshold"
        }
        return GrowResult(container: status(of: managed), previousLimitBytes: reading.limit, limitBytes: limit,
                          draining: managed.policy.state == .draining, note: note)
    }

    /// The size of the filesystem holding `root`.
    static func mainDiskCapacity(_ root: String) throws -> UInt64 {
        let fd = try FileDescriptor.open(FilePath(root), .readOnly, options: [.directory, .closeOnExec, .noFollow])
        defer { try? fd.close() }
        return try FilesystemStatistics.of(fd, path: root).totalBytes
    }

    /// The state machine said `startDrain` or `stopDrain` (a grow, the low watermark, or usage at
    /// the threshold again): start or stop the container's drain thread.
    func drainAction(_ action: PolicyAction, for managed: ManagedContainer) {
        switch action {
        case .startDrain:
            startDrain(managed)
        case .stopDrain:
            drains.stop(managed.record.id)
        default:
            break
        }
    }

    /// Starts the drain of `managed` (in `draining`) on its own thread.
    func startDrain(_ managed: ManagedContainer) {
        guard let spill = managed.partition?.path else {
            managed.problem = "cannot drain: its spill area is not available"
            return
        }
        let id = managed.record.id
        drains.start(container: id, root: managed.record.root, spill: spill, refused: { [weak self] file in
            guard let self else { return }
            Task { await self.drainRefused(id, file) }
        }) { [weak self] outcome in
            guard let self, case .emptied = outcome else { return }
            Task { await self.drainEmptied(id) }
        }
    }

    /// The drain of `id` refuses `file`: a `drain_refused` event names it and why.
    func drainRefused(_ id: String, _ file: DrainHeldFile) {
        _ = try? emit(EventRecord(timeNanoseconds: Self.now().nanosecondsSinceEpoch, container: id, kind: "drain_refused",
                                  spilledBytes: containers[id]?.spilled, detail: file.line))
    }

    /// The drain of `id` found its spill area empty: leave `draining`.
    func drainEmptied(_ id: String) {
        guard let managed = containers[id], managed.policy.state == .draining else { return }
        managed.spilled = 0
        apply(managed.policy.drainCompleted(at: Self.now()), to: managed)
    }

    /// At start: finish or roll back the moves a crash cut short, re-apply a grown limit the
    /// kernel lost, and resume a drain that was under way.
    func resumeDrain(_ managed: ManagedContainer) {
        let id = managed.record.id
        if let spill = managed.partition?.path {
            do {
                let report = try drains.recover(container: id, root: managed.record.root, spill: spill)
                if !report.outcomes.isEmpty || report.leftoversRemoved > 0 {
                    logger.info("recovered moves", metadata: [
                        "id": "\(id)", "moves": "\(report.outcomes.joined(separator: "; "))",
                        "leftovers": "\(report.leftoversRemoved)", "live": "\(report.libraryMovesLive)",
                    ])
                }
            } catch {
                managed.problem = "cannot recover its moves: \(error)"
                logger.error("move recovery failed", metadata: ["id": "\(id)", "error": "\(error)"])
            }
        }
        if let stored = managed.record.limitBytes, stored > 0, let usage = managed.usage, usage.canSetLimit,
           let reading = try? usage.read(), (reading.limit ?? 0) < UInt64(stored) {
            do {
                try usage.setLimit(UInt64(stored))
                logger.info("re-applied grown limit", metadata: ["id": "\(id)", "limit": "\(stored)"])
            } catch {
                managed.problem = "cannot re-apply its grown limit: \(error)"
            }
        }
        if let stored = managed.record.limitBytes, stored > 0 { recordGrownLimitWithEngine(managed, UInt64(stored)) }
        if managed.policy.state == .draining { startDrain(managed) }
    }

    /// Writes a grown limit where the container's engine keeps its size (``DockerBtrfsQuota``),
    /// so that the engine's next start of the container sets the grown limit, not the original
    /// one; a failure is logged and shown as the container's problem.
    func recordGrownLimitWithEngine(_ managed: ManagedContainer, _ limit: UInt64) {
        do {
            if try DockerBtrfsQuota.raise(root: managed.record.root, to: limit) {
                logger.info("raised the size Docker keeps for the container", metadata: ["id": "\(managed.record.id)", "limit": "\(limit)"])
            }
        } catch {
            managed.problem = "Docker keeps a smaller size for it, which its next start would set again: \(error)"
            logger.warning("cannot raise the size Docker keeps for the container", metadata: ["id": "\(managed.record.id)", "error": "\(error)"])
        }
    }
}
