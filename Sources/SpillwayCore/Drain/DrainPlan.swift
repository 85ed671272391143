/// One entry of a spill area as the drain's walk found it (names only, no I/O).
public struct SpillEntry: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, Codable {
        case directory
        case regular
        case symlink
        /// A FIFO, socket or device node: recreated, never opened.
        case special
    }

    public var name: String
    public var kind: Kind
    /// Bytes of data (a regular file's size; 0 for the others).
    public var size: UInt64
    /// A directory's entries.
    public var children: [SpillEntry]

    public init(name: String, kind: Kind, size: UInt64 = 0, children: [SpillEntry] = []) {
        self.name = name
        self.kind = kind
        self.size = size
        self.children = children
    }
}

/// One step of a drain, in the order the engine takes them.
public enum DrainStep: Sendable, Equatable {
    /// Make (or find) the directory in the tree; its parents come earlier.
    case enterDirectory(String)
    /// Move one non-directory back.
    case move(String, SpillEntry.Kind, size: UInt64)
    /// Every entry below was tried: remove the spill directory if it is empty, and give the tree's
    /// copy the spill directory's times.
    case leaveDirectory(String)
}

/// The order in which a spill area drains: a pure plan from a listing.
///
/// Directories come first (a parent is made before anything in it), a directory's own files
/// before its subdirectories (files sorted by name, so a run is repeatable), and each directory
/// is left (removed from the spill area) only after everything below it. The movers' own files
/// (`.spillway-move.*`, `.spillway-intent.*`) are not part of the plan: recovery handles them.
/// Nor are the FUSE union's files unlinked while open (`.fuse_hidden` + 16 hex digits, at the
/// spill area's top): they have no name in the container's tree and go at their last close.
public struct DrainPlan: Sendable, Equatable {
    public var steps: [DrainStep]
    /// Non-directories to move.
    public var filesTotal: Int
    /// Bytes of data to move.
    public var bytesTotal: UInt64

    /// The plan for a spill area whose top-level entries are `entries` (the area's own root is
    /// never entered or left: it stays).
    public init(entries: [SpillEntry]) {
        var steps: [DrainStep] = []
        var files = 0
        var bytes: UInt64 = 0
        func visit(_ entries: [SpillEntry], prefix: String) {
            let kept = entries.filter { !ShimMoveIntent.isProtocolName($0.name) && !UnionPolicy.isOpenUnlinked($0.name) }.sorted { $0.name < $1.name }
            for entry in kept where entry.kind != .directory {
                steps.append(.move(prefix + entry.name, entry.kind, size: entry.size))
                files += 1
                bytes &+= entry.size
            }
            for entry in kept where entry.kind == .directory {
                let path = prefix + entry.name
                steps.append(.enterDirectory(path))
                visit(entry.children, prefix: path + "/")
                steps.append(.leaveDirectory(path))
            }
        }
        visit(entries, prefix: "")
        self.steps = steps
        self.filesTotal = files
        self.bytesTotal = bytes
    }
}
