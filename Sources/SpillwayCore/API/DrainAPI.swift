/// `POST /v1/containers/{name-or-id}/grow`: raise a container's main-disk limit and drain it.
/// Exactly one of ``to`` and ``by`` is given.
public struct GrowRequest: Codable, Sendable, Equatable {
    /// The new limit in bytes.
    public var to: UInt64?
    /// The increase in bytes over the current limit.
    public var by: UInt64?

    public init(to: UInt64? = nil, by: UInt64? = nil) {
        self.to = to
        self.by = by
    }

    /// - Throws: ``InputError`` unless exactly one of `to` and `by` is given and not zero.
    public func validate() throws(InputError) {
        switch (to, by) {
        case (nil, nil): throw InputError("give the new size with --to SIZE or the increase with --by SIZE")
        case (.some, .some): throw InputError("--to and --by were both given; give one of them")
        case (.some(0), _): throw InputError("--to 0 is not a size a container can hold; give the new limit, e.g. --to 2G")
        case (_, .some(0)): throw InputError("--by 0 changes nothing; give the increase, e.g. --by 1G")
        default: break
        }
    }
}

/// The answer to a grow.
public struct GrowResult: Codable, Sendable, Equatable {
    public var container: ContainerStatus
    public var previousLimitBytes: UInt64?
    public var limitBytes: UInt64
    /// Whether a drain runs now (the spill area holds files).
    public var draining: Bool
    /// Anything the operator should know (a limit too small to take every spilled byte back).
    public var note: String?

    public init(container: ContainerStatus, previousLimitBytes: UInt64?, limitBytes: UInt64, draining: Bool, note: String?) {
        self.container = container
        self.previousLimitBytes = previousLimitBytes
        self.limitBytes = limitBytes
        self.draining = draining
        self.note = note
    }

    enum CodingKeys: String, CodingKey {
        case container, draining, note
        case previousLimitBytes = "previous_limit_bytes"
        case limitBytes = "limit_bytes"
    }
}

/// How far a container's drain is, in `spillway status --json` and `spillway grow --wait`.
public struct DrainProgress: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable {
        /// Files are being moved back.
        case moving
        /// Only deferred files remain (open for writing, mapped, or being moved by the library):
        /// retried until they can move.
        case waiting
        /// The spill area is empty.
        case done
        /// The drain was stopped (usage reached the spill threshold again, or shutdown).
        case stopped
        /// The drain cannot go on; ``problem`` says why. It is retried.
        case failed
    }

    public var phase: Phase
    public var filesTotal: Int
    public var filesMoved: Int
    public var filesDeferred: Int
    public var bytesTotal: UInt64
    public var bytesMoved: UInt64
    public var startedNanoseconds: UInt64
    public var updatedNanoseconds: UInt64
    public var bytesPerSecond: Double?
    public var etaSeconds: Double?
    public var problem: String?
    /// The files the last pass left, with why (at most ``DrainProgressTracker/heldLimit``).
    public var held: [DrainHeldFile]?

    public init(
        phase: Phase, filesTotal: Int, filesMoved: Int, filesDeferred: Int, bytesTotal: UInt64, bytesMoved: UInt64,
        startedNanoseconds: UInt64, updatedNanoseconds: UInt64, bytesPerSecond: Double? = nil, etaSeconds: Double? = nil,
        problem: String? = nil
    ) {
        self.phase = phase
        self.filesTotal = filesTotal
        self.filesMoved = filesMoved
        self.filesDeferred = filesDeferred
        self.bytesTotal = bytesTotal
        self.bytesMoved = bytesMoved
        self.startedNanoseconds = startedNanoseconds
        self.updatedNanoseconds = updatedNanoseconds
        self.bytesPerSecond = bytesPerSecond
        self.etaSeconds = etaSeconds
        self.problem = problem
    }

    enum CodingKeys: String, CodingKey {
        case phase, problem
        case filesTotal = "files_total"
        case filesMoved = "files_moved"
        case filesDeferred = "files_deferred"
        case bytesTotal = "bytes_total"
        case bytesMoved = "bytes_moved"
        case startedNanoseconds = "started_ns"
        case updatedNanoseconds = "updated_ns"
        case bytesPerSecond = "bytes_per_second"
        case etaSeconds = "eta_seconds"
        case held
    }

    /// The files left that can never move as they are (``DrainHeldFile/refused``).
    public var refused: [DrainHeldFile] { (held ?? []).filter(\.refused) }
}

/// A file a drain pass left in the spill area, and why.
public struct DrainHeldFile: Codable, Sendable, Equatable {
    /// Relative to the container's root.
    public var path: String
    public var reason: String
    /// The drain refuses it for safety: a name on its way is a symbolic link or another mount
    /// (never followed or crossed), or a different file has its name on the main disk (two
    /// copies are never merged by guessing). It stays in the spill area until what is in the way
    /// goes; retrying alone never moves it. Otherwise it waits (a writer, a mapping, a mover)
    /// and moves when that ends.
    public var refused: Bool
    /// The processes that hold it open, when that is why it waits.
    public var holders: [DrainHolder]

    public init(path: String, reason: String, refused: Bool = false, holders: [DrainHolder] = []) {
        self.path = path
        self.reason = reason
        self.refused = refused
        self.holders = holders
    }

    /// `dir/log: a process holds it open for writing (pid 42 python3)`.
    public var line: String {
        let who = holders.isEmpty ? "" : " (" + holders.map { "pid \($0.pid) \($0.command)" }.joined(separator: ", ") + ")"
        return "\(path): \(reason)\(who)"
    }
}

/// A process that holds a file open.
public struct DrainHolder: Codable, Sendable, Equatable {
    public var pid: Int32
    /// Its command name (/proc/PID/comm).
    public var command: String

    public init(pid: Int32, command: String) {
        self.pid = pid
        self.command = command
    }
}
