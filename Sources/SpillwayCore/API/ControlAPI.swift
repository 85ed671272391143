/// The control API between `spillway` commands and the daemon: HTTP/1.1 with JSON bodies on a
/// root-only unix socket (`/run/spillway/spillway.sock` by default).
///
/// | method and path | body | answer |
/// | --- | --- | --- |
/// | `GET /v1/status` | | ``StatusReport`` |
/// | `GET /v1/plan` | | the sub-disk plan, JSON |
/// | `GET /v1/events?since=SEQ&follow=1` | | ``EventRecord`` JSON lines; with `follow`, kept open |
/// | `POST /v1/containers` | ``ContainerRegistration`` | ``ContainerStatus`` (201), 409 if known |
/// | `PUT /v1/containers/{id}` | ``ContainerRegistration`` | ``ContainerStatus``: registers, or renames a known one |
/// | `DELETE /v1/containers/{name-or-id}` | | 204, 404 if unknown |
/// | `POST /v1/containers/{name-or-id}/grow` | ``GrowRequest`` | ``GrowResult``; 400 for a size it refuses |
///
/// Errors are ``APIErrorBody`` with a 4xx or 5xx status; `error` is one line for the operator.
public enum ControlAPI {
    public static let version = "v1"
    public static let defaultSocket = "/run/spillway/spillway.sock"
    /// The environment variable that names the socket when `--socket` is not given.
    public static let socketEnvironment = "SPILLWAY_SOCKET"
}

/// A container to manage, as `spillway register` or the runtime wrapper sends it.
public struct ContainerRegistration: Codable, Sendable, Equatable {
    /// A name or id (a Docker id, or any name for containers no engine reports).
    public var id: String
    /// Its root filesystem as the host sees it (the tree whose usage is limited).
    public var root: String
    /// A human name (Docker's container name), if different from the id.
    public var name: String?
    /// How its programs are reached: `preload` (default), `fuse`, or `monitor` (cannot spill).
    public var mode: String?

    public init(id: String, root: String, name: String? = nil, mode: String? = nil) {
        self.id = id
        self.root = root
        self.name = name
        self.mode = mode
    }

    /// Checks the fields an operator typed.
    ///
    /// - Throws: ``InputError`` naming the field and what is allowed.
    public func validate() throws(InputError) {
        try ContainerRegistration.validate(id: id)
        guard root.hasPrefix("/") else {
            throw InputError("--root '\(root)' is not an absolute path; give the container's root directory as the host sees it")
        }
        if let mode, !["preload", "fuse", "monitor"].contains(mode) {
            throw InputError("mode '\(mode)' is unknown; use preload, fuse or monitor")
        }
    }

    /// Checks a container id (``ContainerID``, the one rule).
    public static func validate(id: String) throws(InputError) {
        try ContainerID.validate(id)
    }
}

/// One managed container, as `spillway status` shows it.
public struct ContainerStatus: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var root: String
    public var state: SlotState
    /// `preload`, `fuse` or `monitor`.
    public var mode: String
    /// Which usage backend measures it (`btrfs`, `xfs`, `statfs`), or nil if none was found.
    public var backend: String?
    public var usedBytes: UInt64?
    public var limitBytes: UInt64?
    public var spilledBytes: UInt64
    public var partitionBytes: UInt64?
    /// The last problem reading or acting on this container, if any.
    public var problem: String?
    /// Its slot file and spill area on the host (what the runtime wrapper mounts into it).
    public var slotPath: String?
    public var spillPath: String?
    /// The drain under way or last finished, if any (`spillway grow --wait` follows it).
    public var drain: DrainProgress?
    /// For mode `fuse`: where its FUSE union is mounted (the container's root filesystem), while
    /// it is.
    public var fuseMount: String?
    /// The host directory holding its ask socket (mounted read-only at `/.spillway/ask`), while
    /// the daemon serves one.
    public var askDirectory: String?
    /// How many times its preload library said it could not help (`cannot_help` events).
    public var cannotHelp: UInt64
    /// How many of its requests on the ask socket were refused (`ask_refused` events).
    public var askRefused: UInt64

    public init(
        id: String, name: String, root: String, state: SlotState, mode: String, backend: String?,
        usedBytes: UInt64?, limitBytes: UInt64?, spilledBytes: UInt64, partitionBytes: UInt64?, problem: String?,
        slotPath: String? = nil, spillPath: String? = nil,
        drain: DrainProgress? = nil, fuseMount: String? = nil,
        askDirectory: String? = nil, cannotHelp: UInt64 = 0, askRefused: UInt64 = 0
    ) {
        self.id = id
        self.name = name
        self.root = root
        self.state = state
        self.mode = mode
        self.backend = backend
        self.usedBytes = usedBytes
        self.limitBytes = limitBytes
        self.spilledBytes = spilledBytes
        self.partitionBytes = partitionBytes
        self.problem = problem
        self.slotPath = slotPath
        self.spillPath = spillPath
        self.drain = drain
        self.fuseMount = fuseMount
        self.askDirectory = askDirectory
        self.cannotHelp = cannotHelp
        self.askRefused = askRefused
    }

    /// Whether the container can spill: only `monitor` containers (started without the
    /// runtime wrapper or the launcher) cannot, for no preload library runs in them.
    public var canSpill: Bool { mode != "monitor" }

    /// used / limit, when both are known and the limit is not zero.
    public var usageRate: Double? {
        guard let usedBytes, let limitBytes, limitBytes > 0 else { return nil }
        return Double(usedBytes) / Double(limitBytes)
    }

    enum CodingKeys: String, CodingKey {
        case id, name, root, state, mode, backend, problem, drain
        case usedBytes = "used_bytes"
        case limitBytes = "limit_bytes"
        case spilledBytes = "spilled_bytes"
        case partitionBytes = "partition_bytes"
        case slotPath = "slot_path"
        case spillPath = "spill_path"
        case fuseMount = "fuse_mount"
        case askDirectory = "ask_directory"
        case cannotHelp = "cannot_help"
        case askRefused = "ask_refused"
    }
}

/// What `GET /v1/status` returns.
public struct StatusReport: Codable, Sendable, Equatable {
    public var containers: [ContainerStatus]
    /// The sub disk's mount point.
    public var subDisk: String
    public var subDiskCapacityBytes: UInt64?
    public var subDiskFreeBytes: UInt64?
    /// The partition backend in use (`btrfs`, `loop` or `directory`).
    public var partitionBackend: PartitionBackendSetting?
    /// Who enforces the partitions' caps: the kernel, or Spillway's library and FUSE union.
    public var partitionEnforcement: PartitionEnforcement?
    /// What the operator must know about the caps, when the kernel does not enforce them.
    public var partitionNotice: String?

    public init(containers: [ContainerStatus], subDisk: String, subDiskCapacityBytes: UInt64?, subDiskFreeBytes: UInt64?,
                partitionBackend: PartitionBackendSetting? = nil, partitionEnforcement: PartitionEnforcement? = nil,
                partitionNotice: String? = nil) {
        self.containers = containers
        self.subDisk = subDisk
        self.subDiskCapacityBytes = subDiskCapacityBytes
        self.subDiskFreeBytes = subDiskFreeBytes
        self.partitionBackend = partitionBackend
        self.partitionEnforcement = partitionEnforcement
        self.partitionNotice = partitionNotice
    }

    enum CodingKeys: String, CodingKey {
        case containers
        case subDisk = "sub_disk"
        case subDiskCapacityBytes = "sub_disk_capacity_bytes"
        case subDiskFreeBytes = "sub_disk_free_bytes"
        case partitionBackend = "partition_backend"
        case partitionEnforcement = "partition_enforcement"
        case partitionNotice = "partition_notice"
    }
}

/// One event, as stored, streamed (`spillway events`) and posted to the webhook.
public struct EventRecord: Codable, Sendable, Equatable {
    /// Increases by one per event, across daemon restarts.
    public var seq: Int64
    /// When it happened, nanoseconds since the Unix epoch.
    public var timeNanoseconds: UInt64
    public var container: String
    /// What happened: `registered`, `unregistered`, `state_changed`, `partition_planned`, ...
    public var kind: String
    public var from: SlotState?
    public var to: SlotState?
    public var reason: String?
    public var usageRate: Double?
    public var usedBytes: UInt64?
    public var limitBytes: UInt64?
    public var spilledBytes: UInt64?
    /// Anything else, for the operator.
    public var detail: String?

    public init(
        seq: Int64 = 0, timeNanoseconds: UInt64, container: String, kind: String, from: SlotState? = nil,
        to: SlotState? = nil, reason: String? = nil, usageRate: Double? = nil, usedBytes: UInt64? = nil,
        limitBytes: UInt64? = nil, spilledBytes: UInt64? = nil, detail: String? = nil
    ) {
        self.seq = seq
        self.timeNanoseconds = timeNanoseconds
        self.container = container
        self.kind = kind
        self.from = from
        self.to = to
        self.reason = reason
        self.usageRate = usageRate
        self.usedBytes = usedBytes
        self.limitBytes = limitBytes
        self.spilledBytes = spilledBytes
        self.detail = detail
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        seq = try c.decode(Int64.self, forKey: .seq)
        timeNanoseconds = try c.decode(UInt64.self, forKey: .timeNanoseconds)
        container = try c.decode(String.self, forKey: .container)
        kind = try c.decode(String.self, forKey: .kind)
        from = try c.decodeIfPresent(SlotState.self, forKey: .from)
        to = try c.decodeIfPresent(SlotState.self, forKey: .to)
        reason = try c.decodeIfPresent(String.self, forKey: .reason)
        usageRate = try c.decodeIfPresent(Double.self, forKey: .usageRate)
        usedBytes = try c.decodeIfPresent(UInt64.self, forKey: .usedBytes)
        limitBytes = try c.decodeIfPresent(UInt64.self, forKey: .limitBytes)
        spilledBytes = try c.decodeIfPresent(UInt64.self, forKey: .spilledBytes)
        detail = try c.decodeIfPresent(String.self, forKey: .detail)
    }

    /// Encodes every field, plus `time` in RFC 3339 for people and log tools.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(seq, forKey: .seq)
        try c.encode(timeNanoseconds, forKey: .timeNanoseconds)
        try c.encode(Timestamp(nanosecondsSinceEpoch: timeNanoseconds).description, forKey: .time)
        try c.encode(container, forKey: .container)
        try c.encode(kind, forKey: .kind)
        try c.encodeIfPresent(from, forKey: .from)
        try c.encodeIfPresent(to, forKey: .to)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeIfPresent(usageRate, forKey: .usageRate)
        try c.encodeIfPresent(usedBytes, forKey: .usedBytes)
        try c.encodeIfPresent(limitBytes, forKey: .limitBytes)
        try c.encodeIfPresent(spilledBytes, forKey: .spilledBytes)
        try c.encodeIfPresent(detail, forKey: .detail)
    }

    enum CodingKeys: String, CodingKey {
        case seq, container, kind, from, to, reason, detail, time
        case timeNanoseconds = "time_ns"
        case usageRate = "usage_rate"
        case usedBytes = "used_bytes"
        case limitBytes = "limit_bytes"
        case spilledBytes = "spilled_bytes"
    }
}

/// The body of every error answer.
public struct APIErrorBody: Codable, Sendable, Equatable {
    public var error: String

    public init(error: String) {
        self.error = error
    }
}
