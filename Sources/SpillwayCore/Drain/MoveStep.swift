/// The steps of one crash-safe move, in the order a mover takes them (docs/DAEMON.md, "Moves").
///
/// The drain moves a spilled file back into the container's tree; the preload library moves a
/// main-disk file into the spill area. Both follow this order, so that at every instant at least
/// one complete copy exists and never two are visible. The raw values name the steps for the
/// test-only fault injection (``MoveStep/crashEnvironment``) and for logs.
public enum MoveStep: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// The source is open, `flock(LOCK_EX)` is held and no writer mark is set.
    case locked
    /// The intent record (phase `copying`: the temporary name) is stored.
    case intentBegun = "intent-begun"
    /// The temporary file exists in the destination directory (created `O_EXCL|O_NOFOLLOW`).
    case tempCreated = "temp-created"
    /// The data is copied (holes kept).
    case dataCopied = "data-copied"
    /// Owner, mode, extended attributes and times are set through the descriptor.
    case metadataSet = "metadata-set"
    /// The temporary file is on disk (fsync, or syncfs of its filesystem for a batch).
    case tempSynced = "temp-synced"
    /// The intent record is complete (phase `ready`: the temporary file's inode).
    case intentRecorded = "intent-recorded"
    /// The temporary file is renamed into place (`RENAME_NOREPLACE`).
    case renamed
    /// The destination directory is on disk.
    case destinationSynced = "destination-synced"
    /// The source was checked unchanged since the copy (size, mtime, ctime).
    case sourceRechecked = "source-rechecked"
    /// The source name is removed (it still named the same inode).
    case sourceRemoved = "source-removed"
    /// The source directory is on disk.
    case sourceSynced = "source-synced"
    /// The intent record is removed: the move is over.
    case intentCleared = "intent-cleared"

    /// The environment variable that makes a mover raise SIGKILL at a step, **for tests only**:
    /// `SPILLWAY_TEST_CRASH_AT=<step>` or `<step>:<part of the relative path>`. Read only by the
    /// hidden `spillway drain-test` command and by the daemon; never set it in production.
    public static let crashEnvironment = "SPILLWAY_TEST_CRASH_AT"

    public var description: String { rawValue }
}

/// Where a test asked a mover to die (see ``MoveStep/crashEnvironment``).
public struct CrashPoint: Sendable, Equatable {
    public var step: MoveStep
    /// Only moves whose relative path contains this; empty for every move.
    public var pathContains: String

    public init(step: MoveStep, pathContains: String = "") {
        self.step = step
        self.pathContains = pathContains
    }

    /// Parses `<step>` or `<step>:<path part>`; `nil` for an empty value.
    ///
    /// - Throws: ``InputError`` naming the variable and the steps there are.
    public init?(environmentValue value: String?) throws(InputError) {
        guard let value, !value.isEmpty else { return nil }
        let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let step = MoveStep(rawValue: String(parts[0])) else {
            throw InputError("\(MoveStep.crashEnvironment) '\(value)' names no step; use one of \(MoveStep.allCases.map(\.rawValue).joined(separator: ", ")), optionally followed by ':' and part of a path")
        }
        self.init(step: step, pathContains: parts.count > 1 ? String(parts[1]) : "")
    }

    /// Whether a move of `relativePath` reaching `step` must die.
    public func matches(_ step: MoveStep, relativePath: String) -> Bool {
        step == self.step && (pathContains.isEmpty || relativePath.contains(pathContains))
    }
}
