#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import SpillwayCore
import SpillwaySystem
import SystemPackage

/// The patent's resource management module: watches every managed container's main-disk usage,
/// keeps its slot, plans and applies the sub-disk partitions, and records every event.
///
/// All state lives in this actor and in the ``StateStore``; I/O is done through SpillwaySystem
/// and decisions through SpillwayCore's pure policy and planner.
public actor Supervisor: ControlHandler {
    public nonisolated let events: EventLog
    public nonisolated let configuration: DaemonConfiguration
    let store: StateStore
    let subDisk: SubDisk
    let partitions: any PartitionBackend
    /// Which backend `partition_backend` resolved to, and who enforces its caps.
    nonisolated let partitionChoice: PartitionBackendChoice
    let logger: Logger
    /// The drain threads and their progress (Supervisor+Grow.swift).
    let drains: DrainService
    /// Every container's ask socket, served on a thread of its own (Supervisor+Ask.swift).
    nonisolated let ask: AskServer
    var containers: [String: ManagedContainer] = [:]
    private var plan: PartitionPlan?
    /// Containers came or went since the last plan: re-plan at the next poll (once for many).
    private var planIsStale = false
    /// Polls so far; a `normal` container's spill area is read every ``spillReadInterval``-th
    /// poll only (staggered), since it matters there just to notice a rescue.
    private var pollCount = 0
    static let spillReadInterval = 5

    /// A managed container at run time.
    final class ManagedContainer {
        var record: StoredContainer
        let slot: SupervisedSlot
        var usage: (any UsageBackend)?
        var spill: (any UsageBackend)?
        var partition: Partition?
        var policy: UsagePolicyStateMachine
        var used: UInt64?
        var limit: UInt64?
        var spilled: UInt64 = 0
        /// What the spill area's backend reports while the area holds no entries (an empty
        /// btrfs subvolume references 16 KiB): while the reading stays at this, it is empty.
        var emptyReading: UInt64?
        var problem: String?

        init(record: StoredContainer, slot: SupervisedSlot, policy: UsagePolicyStateMachine) {
            self.record = record
            self.slot = slot
            self.policy = policy
        }
    }

    /// Opens the state, the sub disk and its partitions, and resumes every stored container.
    ///
    /// - Throws: ``InputError``, ``SystemError``, ``InvalidFileError`` or ``StateStoreError``
    ///   naming what is wrong (no sub disk, an unusable state database, ...).
    public init(configuration: DaemonConfiguration, logger: Logger) async throws {
        let subDiskPath = try configuration.requireSubDisk()
        try Self.makeDirectory(configuration.stateDir, mode: 0o700)
        try Self.makeSlotDirectories(configuration)
        let store = try StateStore(path: configuration.stateDir + "/state.db")
        let subDisk = try SubDisk(path: FilePath(subDiskPath))
        self.configuration = configuration
        self.store = store
        self.subDisk = subDisk
        let choice = try PartitionBackendChoice.choose(configuration.partitionBackend, facts: subDisk.facts())
        self.partitionChoice = choice
        self.partitions = try Self.partitionBackend(choice, subDisk: subDisk)
        self.events = EventLog(store: store)
        self.logger = logger
        logger.info("partition backend", metadata: ["backend": "\(choice.backend)", "enforcement": "\(choice.enforcement)", "reason": "\(choice.reason)"])
        if let notice = choice.notice { logger.warning("\(notice)") }
        self.drains = try DrainService(store: store, logger: logger)
        self.ask = try AskServer(directory: configuration.runDir + "/ask", events: events, logger: logger)
        try await restore()
    }

    static func partitionBackend(_ choice: PartitionBackendChoice, subDisk: SubDisk) throws -> any PartitionBackend {
        switch PartitionKind(choice.backend) {
        case .btrfsSubvolume: return try BtrfsSubvolumePartitions(subDisk: subDisk)
        case .loopImage: return LoopImagePartitions(subDisk: subDisk)
        case .directory: return DirectoryPartitions(subDisk: subDisk)
        }
    }

    static func makeDirectory(_ path: String, mode: mode_t) throws {
        if mkdir(path, mode) != 0, errno != EEXIST {
            let err = Errno(rawValue: errno)
            throw SystemError("create directory", path: path, syscall: "mkdir", errno: err,
                              hint: "check the configuration's directories and that the daemon runs as root")
        }
    }

    static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(nanosecondsSinceEpoch: UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec))
    }

    // MARK: - Restore and attach

    private func restore() throws {
        let existing = Dictionary(uniqueKeysWithValues: ((try? partitions.list()) ?? []).map { ($0.containerID, $0) })
        for record in try store.containers() {
            do {
                let managed = try attach(record, existingPartition: existing[record.id])
                containers[record.id] = managed
                logger.info("resumed container", metadata: ["id": "\(record.id)", "state": "\(record.slotState)"])
            } catch {
                logger.error("cannot resume container", metadata: ["id": "\(record.id)", "error": "\(error)"])
            }
        }
        // Quotas first: the plan weighs partitions by them.
        let now = Self.now()
        for managed in containers.values { sample(managed, at: now, applyPolicy: false) }
        for managed in containers.values { resumeDrain(managed) }
        try replan()
    }

    /// Makes a container's slot, usage backend and spill area ready; for a new container
    /// (`isNew`), a failure removes the slot again.
    private func attach(_ record: StoredContainer, existingPartition: Partition?, isNew: Bool = false) throws -> ManagedContainer {
        let slot = try keepSlot(for: record)
        do {
            return try attach(record, slot: slot, existingPartition: existingPartition)
        } catch {
            if isNew { slot.remove() }
            throw error
        }
    }

    private func attach(_ record: StoredContainer, slot: SupervisedSlot, existingPartition: Partition?) throws -> ManagedContainer {
        let policy = UsagePolicyStateMachine(
            containerID: record.id, configuration: configuration.policy, state: record.slotState,
            since: Timestamp(nanosecondsSinceEpoch: UInt64(max(0, record.stateSinceNs))))
        let managed = ManagedContainer(record: record, slot: slot, policy: policy)
        do {
            managed.usage = try UsageDetector.detect(FilePath(record.root)).backend
        } catch {
            managed.problem = "no quota found: \(error)"
        }
        if let existingPartition {
            managed.partition = try partitions.activate(containerID: record.id)
            _ = existingPartition
        } else {
            managed.partition = try partitions.create(containerID: record.id, limit: record.partitionBytes.map { UInt64($0) })
        }
        managed.spill = try? partitions.usageBackend(containerID: record.id)
        prepareSpillArea(managed)
        return managed
    }

    // MARK: - Control API

    public func register(_ registration: ContainerRegistration) async throws -> ContainerStatus {
        try registration.validate()
        if containers[registration.id] != nil {
            throw ControlError.conflict("container '\(registration.id)' is registered already; unregister it first to change it")
        }
        try checkRoot(registration.root)
        let now = Self.now()
        let record = StoredContainer(
            id: registration.id, name: registration.name ?? registration.id, root: registration.root,
            mode: registration.mode ?? "preload", state: .normal,
            stateSinceNs: Int64(clamping: now.nanosecondsSinceEpoch), registeredNs: Int64(clamping: now.nanosecondsSinceEpoch))
        guard try store.insert(record) else {
            throw ControlError.conflict("container '\(registration.id)' is registered already")
        }
        let managed: ManagedContainer
        do {
            managed = try attach(record, existingPartition: nil, isNew: true)
        } catch {
            _ = try? store.remove(id: record.id)
            _ = try? partitions.remove(containerID: record.id)
            ask.close(id: record.id)
            throw ControlError.badRequest("cannot manage '\(registration.id)': \(error)")
        }
        do {
            try ensureFuseMount(managed)
        } catch {
            releaseFuseMount(record.id)
            ask.close(id: record.id)
            managed.slot.remove()
            _ = try? store.remove(id: record.id)
            _ = try? partitions.remove(containerID: record.id)
            throw error
        }
        containers[record.id] = managed
        sample(managed, at: now, applyPolicy: false)
        try emit(EventRecord(
            timeNanoseconds: now.nanosecondsSinceEpoch, container: record.id, kind: "registered", to: .normal,
            usedBytes: managed.used, limitBytes: managed.limit,
            detail: "root \(record.root); \(managed.usage.map { "quota from \($0.source)" } ?? managed.problem ?? "")"))
        planIsStale = true
        return status(of: managed)
    }

    public func unregister(_ nameOrID: String) async throws {
        let managed = try resolve(nameOrID)
        let id = managed.record.id
        // A partition's usage counts its own metadata too (an empty btrfs subvolume refers to
        // 16 KiB): only files in it keep the container registered.
        if let spill = managed.spill, let used = try? spill.read().used, used > 0,
           (try? managed.partition.map({ try HeldDirectory.openRoot($0.path).isEmpty() })) != true {
            throw ControlError.conflict(
                "container '\(id)' still has \(ByteSize(bytes: used)) in its spill area; raise its quota with `spillway grow \(id)` so they move back, then unregister it")
        }
        try remove(managed, detail: nil)
    }

    /// Registers a container, or, when its id is known already with the same root, gives it the
    /// name and mode in `registration` (those that are set). The runtime wrapper uses this on
    /// every `create`, since `docker start` of a stopped container creates it again.
    public func upsert(_ registration: ContainerRegistration) async throws -> ContainerStatus {
        try registration.validate()
        guard let managed = containers[registration.id] else { return try await register(registration) }
        guard managed.record.root == registration.root else {
            throw ControlError.conflict(
                "container '\(registration.id)' is registered with root \(managed.record.root), not \(registration.root); unregister it first to change it")
        }
        let before = managed.record
        if let name = registration.name { managed.record.name = name }
        if let mode = registration.mode { managed.record.mode = mode }
        if managed.record != before { try store.update(managed.record) }
        try ensureFuseMount(managed)
        return status(of: managed)
    }

    /// Forgets a container its engine has removed (`docker rm`): its spill area is discarded
    /// with it, since the container's own files are gone.
    public func forget(_ nameOrID: String) async throws {
        try remove(try resolve(nameOrID), detail: "removed by its engine; spill area discarded")
    }

    private func remove(_ managed: ManagedContainer, detail: String?) throws {
        let id = managed.record.id
        releaseFuseMount(id)
        ask.close(id: id)
        try partitions.remove(containerID: id)
        _ = try store.remove(id: id)
        containers.removeValue(forKey: id)
        managed.slot.remove()
        try emit(EventRecord(timeNanoseconds: Self.now().nanosecondsSinceEpoch, container: id, kind: "unregistered", detail: detail))
        planIsStale = true
    }

    public func status() async throws -> StatusReport {
        if planIsStale { try replan() }
        let stats = subDiskStatistics()
        return StatusReport(
            containers: containers.values.sorted { $0.record.registeredNs < $1.record.registeredNs }.map(status(of:)),
            subDisk: subDisk.path.string, subDiskCapacityBytes: stats?.totalBytes,
            subDiskFreeBytes: stats.map { $0.availableBlocks &* $0.fragmentSize },
            partitionBackend: partitionChoice.backend, partitionEnforcement: partitionChoice.enforcement,
            partitionNotice: partitionChoice.notice)
    }

    private func subDiskStatistics() -> FilesystemStatistics? {
        guard let fd = try? FileDescriptor.open(subDisk.path, .readOnly, options: [.directory, .closeOnExec]) else { return nil }
        defer { try? fd.close() }
        return try? FilesystemStatistics.of(fd, path: subDisk.path.string)
    }

    public func planJSON() async throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        if planIsStale || plan == nil { try replan() }
        return try encoder.encode(plan ?? (try currentPlan()))
    }

    /// A container by exact id, exact name, or unique id prefix.
    func resolve(_ nameOrID: String) throws -> ManagedContainer {
        if let exact = containers[nameOrID] { return exact }
        let byName = containers.values.filter { $0.record.name == nameOrID }
        if byName.count == 1 { return byName[0] }
        let byPrefix = containers.values.filter { $0.record.id.hasPrefix(nameOrID) }
        if byPrefix.count == 1, !nameOrID.isEmpty { return byPrefix[0] }
        // A full engine id names the container registered by its short form.
        if EngineContainerID.isFullHexID(nameOrID),
           let short = containers[String(nameOrID.prefix(EngineContainerID.shortLength))] { return short }
        if byPrefix.count > 1 {
            let ids = byPrefix.map(\.record.id).sorted().joined(separator: ", ")
            throw ControlError.badRequest("'\(nameOrID)' matches several containers (\(ids)); give more of the id")
        }
        throw ControlError.notFound("no managed container is called '\(nameOrID)'; `spillway status` lists them")
    }

    func status(of managed: ManagedContainer) -> ContainerStatus {
        let asked = ask.counts(managed.record.id)
        return ContainerStatus(
            id: managed.record.id, name: managed.record.name, root: managed.record.root,
            state: managed.policy.state, mode: managed.record.mode, backend: managed.usage?.kind.rawValue,
            usedBytes: managed.used, limitBytes: managed.limit, spilledBytes: managed.spilled,
            partitionBytes: managed.partition?.limit, problem: managed.problem,
            slotPath: managed.slot.path.string, spillPath: managed.partition?.path.string,
            drain: drains.progress(managed.record.id), fuseMount: fuseMount(of: managed),
            askDirectory: asked == nil ? nil : ask.directory(of: managed.record.id),
            cannotHelp: asked?.cannotHelp ?? 0, askRefused: asked?.refused ?? 0)
    }

    // MARK: - Monitoring

    /// One poll: read every container's usage and act on what the policy decides.
    public func pollOnce() {
        let now = Self.now()
        pollCount &+= 1
        for managed in containers.values {
            checkSlot(managed)
            sample(managed, at: now, applyPolicy: true)
        }
        if planIsStale {
            do {
                try replan()
            } catch {
                logger.error("cannot plan the sub disk", metadata: ["error": "\(error)"])
            }
        }
    }

    private func sample(_ managed: ManagedContainer, at now: Timestamp, applyPolicy: Bool) {
        if let usage = managed.usage {
            do {
                let reading = try usage.read()
                managed.used = reading.charged
                managed.limit = reading.limit
                if managed.problem?.hasPrefix("cannot read usage") == true { managed.problem = nil }
            } catch {
                managed.problem = "cannot read usage: \(error)"
            }
        }
        let readSpill = !applyPolicy || managed.policy.state != .normal || managed.spilled > 0 ||
            (pollCount &+ Int(managed.record.registeredNs & 0xffff)) % Self.spillReadInterval == 0
        if readSpill, let spill = managed.spill, let reading = try? spill.read() {
            // A filesystem's own metadata (an empty btrfs subvolume references 16 KiB) is not
            // spilled data: an area with no entries holds nothing. The directory is read only
            // when the figure differs from the last one seen with the area empty (or while
            // draining, where an empty area ends the state).
            let charged = reading.charged
            publishSpillMeasurement(managed, used: charged)
            // While draining, emptiness ends the state: always look.
            let trustCache = managed.policy.state != .draining
            if charged == 0 || (trustCache && charged == managed.emptyReading) {
                managed.spilled = 0
            } else if Self.isEmptyDirectory(managed.partition?.path) {
                managed.emptyReading = charged
                managed.spilled = 0
            } else {
                managed.spilled = charged
            }
        }
        guard applyPolicy, managed.usage != nil else { return }
        let actions = managed.policy.sampled(SpillwayCore.UsageSample(
            usedBytes: managed.used ?? 0, limitBytes: managed.limit, spilledBytes: managed.spilled, time: now))
        apply(actions, to: managed)
    }

    func apply(_ actions: [PolicyAction], to managed: ManagedContainer) {
        for action in actions {
            let event = action.event
            switch action {
            case .notify:
                break
            case .raiseFlag, .startDrain, .stopDrain, .clearFlag:
                do {
                    try updateSlot(managed) { slot in
                        slot.state = event.to
                        slot.mainLimit = managed.limit
                        self.setSpillCap(&slot, limit: managed.partition?.limit)
                    }
                    managed.record.slotState = event.to
                    managed.record.stateSinceNs = Int64(clamping: event.time.nanosecondsSinceEpoch)
                    try store.update(managed.record)
                } catch {
                    managed.problem = "cannot update its slot: \(error)"
                    logger.error("slot update failed", metadata: ["id": "\(managed.record.id)", "error": "\(error)"])
                }
                drainAction(action, for: managed)
            }
            do {
                try emit(EventRecord(
                    timeNanoseconds: event.time.nanosecondsSinceEpoch, container: managed.record.id,
                    kind: event.kind.rawValue, from: event.from, to: event.to, reason: event.reason.rawValue,
                    usageRate: event.usageRate, usedBytes: event.usedBytes, limitBytes: event.limitBytes,
                    spilledBytes: event.spilledBytes))
            } catch {
                logger.error("cannot record event", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Does `path` hold no entries at all (ignoring "." and "..")? False when it cannot be read.
    static func isEmptyDirectory(_ path: FilePath?) -> Bool {
        guard let path, let dir = opendir(path.string) else { return false }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            if name != "." && name != ".." { return false }
        }
        return true
    }

    // MARK: - Partitions

    private func currentPlan() throws -> PartitionPlan {
        let capacity = subDiskStatistics()?.totalBytes ?? 0
        let inputs = containers.values.sorted { $0.record.id < $1.record.id }.map { managed in
            PlanContainer(id: managed.record.id, quotaBytes: managed.limit ?? 0, storedBytes: managed.spilled,
                          currentPartitionBytes: managed.partition?.limit)
        }
        return try configuration.planner(capacityBytes: capacity).plan(inputs)
    }

    /// Plans the sub disk for the current containers and applies the changes online; one event
    /// says what changed.
    func replan() throws {
        planIsStale = false
        let next = try currentPlan()
        var changed: [String] = []
        for managed in containers.values.sorted(by: { $0.record.id < $1.record.id }) {
            let wanted = next.partitionBytes(for: managed.record.id)
            guard wanted != managed.partition?.limit else { continue }
            do {
                managed.partition = try partitions.resize(containerID: managed.record.id, limit: wanted)
                prepareSpillArea(managed)
                managed.record.partitionBytes = wanted.map { Int64(clamping: $0) }
                try store.update(managed.record)
                try updateSlot(managed) { self.setSpillCap(&$0, limit: wanted) }
                changed.append("\(managed.record.id) \(wanted.map { ByteSize(bytes: $0).description } ?? "shared")")
            } catch {
                managed.problem = "cannot resize its partition: \(error)"
                logger.error("partition resize failed", metadata: ["id": "\(managed.record.id)", "error": "\(error)"])
            }
        }
        plan = next
        guard !changed.isEmpty else { return }
        let shown = changed.count > 20 ? changed.prefix(20).joined(separator: ", ") + ", and \(changed.count - 20) more" : changed.joined(separator: ", ")
        try emit(EventRecord(
            timeNanoseconds: Self.now().nanosecondsSinceEpoch, container: "", kind: "partitions_planned",
            detail: "\(next.mode), \(next.entries.count) containers: \(shown)"))
    }

    @discardableResult
    func emit(_ event: EventRecord) throws -> EventRecord {
        let stored = try events.emit(event)
        logger.info("event", metadata: ["container": "\(event.container)", "kind": "\(event.kind)"])
        return stored
    }

    /// Releases slots and mounts at shutdown (partitions stay; the next start resumes them).
    public func shutdown() async {
        drains.stopAll()
        ask.stop()
        events.finishAll()
    }
}
