/// What recovery does with a move that was cut short: a pure decision from what is found at the
/// source, the destination and the temporary name, for the supervisor's moves back from the spill
/// area and the preload library's moves into it alike.
///
/// The rule is the invariant: at least one complete copy, never two visible. A destination is
/// complete only when it is the renamed temporary file (the rename happens after it is on disk).
///
/// | destination | source | decision |
/// | --- | --- | --- |
/// | ours | the same, unchanged | finish: remove the source |
/// | ours | the same, changed since the copy; destination unchanged | roll back: remove the destination |
/// | ours | the same, changed; destination changed too | keep the one written last, remove the other |
/// | ours | gone or another file | finish (nothing to remove) |
/// | absent or another file | anything | roll back: the temporary file goes |
///
/// The temporary file, if still there, is always removed, and the intent record last.
public enum MoveRecovery {
    /// What is found at a name the move involves.
    public enum Found: Sendable, Equatable {
        case absent
        /// The file of this move; `changed` when its size or times differ from the record,
        /// `mtimeNanoseconds` its modification time now.
        case ours(changed: Bool, mtimeNanoseconds: Int64)
        /// Something else (another inode, or the container replaced it).
        case other
    }

    /// One thing to do, in the order given.
    public enum Step: String, Sendable, Equatable {
        case removeTemp = "remove-temp"
        case removeDestination = "remove-destination"
        case removeSource = "remove-source"
        case forgetIntent = "forget-intent"
    }

    /// How the move ends.
    public enum Outcome: String, Sendable, Equatable {
        /// The destination is the file now.
        case finished
        /// The source stays the file.
        case rolledBack = "rolled-back"
    }

    /// The decision for a move whose temporary file is (`tempPresent`) or is not still there.
    public static func decide(destination: Found, source: Found, tempPresent: Bool) -> (steps: [Step], outcome: Outcome) {
        var steps: [Step] = tempPresent ? [.removeTemp] : []
        let outcome: Outcome
        switch (destination, source) {
        case (.ours(let destinationChanged, let destinationTime), .ours(let sourceChanged, let sourceTime)):
            if !sourceChanged {
                steps.append(.removeSource)
                outcome = .finished
            } else if !destinationChanged || sourceTime >= destinationTime {
                steps.append(.removeDestination)
                outcome = .rolledBack
            } else {
                steps.append(.removeSource)
                outcome = .finished
            }
        case (.ours, _):
            outcome = .finished
        default:
            outcome = .rolledBack
        }
        steps.append(.forgetIntent)
        return (steps, outcome)
    }
}
