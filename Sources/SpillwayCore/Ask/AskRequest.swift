/// A request a container's preload library sent on its ask socket (the wire format is
/// `struct spillway_ask` in CShim/include/spillway_slot.h), once checked: every field of it is
/// the container's to choose, so ``parse(kind:containerID:path:reason:container:)`` accepts only
/// what can be served and says why anything else is refused.
public enum AskRequest: Equatable, Sendable {
    /// Make the spill area's missing directories above the name `components` (relative to the
    /// managed root, each a plain name) with the main disk's owners and modes.
    case parents(components: [String])
    /// The library could not help with `path` for `reason`; counted, nothing done.
    case cannotHelp(path: String, reason: String)

    /// The wire's `kind` values (`enum spillway_ask_kind`).
    public static let parentsKind: UInt32 = 1
    public static let cannotHelpKind: UInt32 = 2

    /// Checks one decoded message against the container whose socket it came on.
    ///
    /// - Parameters:
    ///   - containerID: the id the message names (its slot's); empty names none.
    ///   - container: the container the socket belongs to, the only one it may speak for.
    /// - Throws: ``AskRefusal`` saying what is wrong.
    public static func parse(kind: UInt32, containerID: String, path: String, reason: String,
                             container: String) throws(AskRefusal) -> AskRequest {
        if !containerID.isEmpty && containerID != container {
            throw AskRefusal(.otherContainer, "the message names container '\(shown(String(containerID.prefix(64))))', not this socket's '\(container)'")
        }
        switch kind {
        case parentsKind:
            return .parents(components: try components(of: path))
        case cannotHelpKind:
            return .cannotHelp(path: String(path.prefix(4096)), reason: String(reason.prefix(256)))
        default:
            throw AskRefusal(.badMessage, "unknown request kind \(kind)")
        }
    }

    /// The components of a relative name: no leading `/`, no empty, `.` or `..` component, at
    /// least one component above which parents can be made.
    ///
    /// - Throws: ``AskRefusal`` with ``AskRefusal/Reason/badPath``.
    public static func components(of path: String) throws(AskRefusal) -> [String] {
        if path.isEmpty { throw AskRefusal(.badPath, "the path is empty") }
        if path.hasPrefix("/") { throw AskRefusal(.badPath, "the path '\(shown(path))' is absolute; it must be relative to the container's root") }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for part in parts {
            if part.isEmpty { throw AskRefusal(.badPath, "the path '\(shown(path))' has an empty component") }
            if part == "." || part == ".." { throw AskRefusal(.badPath, "the path '\(shown(path))' has a '\(part)' component, which Spillway never follows") }
            if part.utf8.count > 255 { throw AskRefusal(.badPath, "the path '\(shown(path))' has a component longer than 255 bytes") }
        }
        return parts
    }

    /// A container's text for a message or an event: at most 200 characters, control characters
    /// (newlines, terminal escapes) shown as `?`.
    public static func shown(_ text: String) -> String {
        String(String(text.prefix(200)).map { $0.isASCII && (($0.asciiValue ?? 0) < 0x20 || $0.asciiValue == 0x7f) ? "?" : $0 })
    }
}

/// Why the supervisor refused a request on an ask socket (each refusal is an `ask_refused` event).
public struct AskRefusal: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        /// Not a message of the wire format (size, magic, version, kind, unterminated text).
        case badMessage = "bad_message"
        /// The message names another container than the socket's.
        case otherContainer = "other_container"
        /// An absolute path, an empty, `.` or `..` component.
        case badPath = "bad_path"
        /// A symlink, a mount or something not a directory where a directory of a tree was to be.
        case outsideTree = "outside_tree"
        /// The trees changed while the request was served (a rename raced it).
        case raced
    }

    public let reason: Reason
    public let message: String

    public init(_ reason: Reason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason.rawValue): \(message)" }
}
