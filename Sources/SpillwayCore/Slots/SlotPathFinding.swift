/// What a slot's path names, compared with the file the supervisor holds open.
public enum SlotPathFinding: Equatable, Sendable {
    /// The held file: all is well.
    case heldFile
    /// Nothing: the file was removed.
    case missing
    /// A symbolic link (never followed).
    case symlink
    /// Another file or directory; `kind` says which ("another regular file", "a directory").
    case other(kind: String)

    /// The phrase for an event: "was replaced by a symlink".
    public var problem: String? {
        switch self {
        case .heldFile: nil
        case .missing: "was removed"
        case .symlink: "was replaced by a symlink"
        case .other(let kind): "was replaced by \(kind)"
        }
    }
}
