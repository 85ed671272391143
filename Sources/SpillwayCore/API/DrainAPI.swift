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
    }
}
