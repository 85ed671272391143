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

extension MoveRecovery {
    /// One name of a hard-linked file whose move was cut short: the names of one inode move
    /// together, their temporary files one inode in the destination directory tree, their
    /// sources one inode.
    public struct LinkedName: Sendable, Equatable {
        /// The name in the destination is the copy.
        public var placed: Bool
        /// The name's temporary file (the copy) is still there.
        public var tempPresent: Bool
        /// The source under this name, compared without its change time (removing a sibling name
        /// changes it).
        public var source: Found

        public init(placed: Bool, tempPresent: Bool, source: Found) {
            self.placed = placed
            self.tempPresent = tempPresent
            self.source = source
        }
    }

    /// How the moves of the names of one inode end, all alike. They finish (every name not in
    /// place renamed from its temporary file, then every source removed) when one name at least
    /// is in place, every name is in place or has its temporary file, and the source is the
    /// version copied under every name (or gone where its name is in place: that name was past
    /// its source's removal). Otherwise they roll back: every temporary name goes, and every name
    /// in place whose source is still there (``rollBackRemovesDestination(_:)``).
    public static func decideLinked(_ names: [LinkedName]) -> Outcome {
        let sourceIntact = names.allSatisfy { name in
            switch name.source {
            case .ours(let changed, _): !changed
            case .absent: name.placed
            case .other: false
            }
        }
        let complete = names.allSatisfy { $0.placed || $0.tempPresent }
        return sourceIntact && complete && names.contains(where: \.placed) ? .finished : .rolledBack
    }

    /// In a roll-back of linked names: whether the name in place goes (its data is still in the
    /// source); a name whose source is gone keeps its copy, its only one.
    public static func rollBackRemovesDestination(_ name: LinkedName) -> Bool {
        guard name.placed, case .ours = name.source else { return false }
        return true
    }
}
