/// A consistent copy of one slot's fields, as the supervisor reads or writes them.
public struct SlotSnapshot: Equatable, Sendable, Codable {
    /// The slot's sequence-lock generation; it grows by two with every update.
    public var generation: UInt64
    public var state: SlotState
    /// Bytes the spill area may hold; `nil` when it has no cap of its own.
    public var spillLimit: UInt64?
    /// The container's main-disk quota in bytes; `nil` when unknown.
    public var mainLimit: UInt64?
    /// When the slot was last written, in nanoseconds since the Unix epoch.
    public var updatedNanoseconds: UInt64
    /// Bumped when shims must re-check their open descriptors.
    public var moveEpoch: UInt64
    /// The container the slot belongs to; empty for a standalone slot.
    public var containerID: String
    /// Whether the preload library and the FUSE union enforce ``spillLimit`` (a directory
    /// partition, which the kernel does not cap), from ``spillUsed`` and ``spillEpoch``.
    public var libraryEnforcesSpillLimit: Bool = false
    /// With ``libraryEnforcesSpillLimit``: the bytes the spill area held when last measured.
    public var spillUsed: UInt64 = 0
    /// With ``libraryEnforcesSpillLimit``: bumped with each new ``spillUsed``.
    public var spillEpoch: UInt64 = 0

    /// The longest container id a slot stores (bytes, without the terminating NUL).
    public static let maxContainerIDBytes = ContainerID.maxBytes

    public init(
        generation: UInt64 = 0, state: SlotState = .normal, spillLimit: UInt64? = nil,
        mainLimit: UInt64? = nil, updatedNanoseconds: UInt64 = 0, moveEpoch: UInt64 = 0,
        containerID: String = ""
    ) {
        self.generation = generation
        self.state = state
        self.spillLimit = spillLimit
        self.mainLimit = mainLimit
        self.updatedNanoseconds = updatedNanoseconds
        self.moveEpoch = moveEpoch
        self.containerID = containerID
    }

    /// Checks that `id` may be stored in a slot: empty (a standalone slot) or a container id
    /// (``ContainerID``, the one rule).
    ///
    /// - Throws: ``InputError`` naming the id, what is wrong and what is allowed.
    public static func validate(containerID id: String) throws(InputError) {
        if id.isEmpty { return }
        try ContainerID.validate(id)
    }
}
