/// The preload library's record of a move into the spill area (`spillway_slot.h`): a file named
/// `SPILLWAY_MOVE_INTENT_PREFIX` + suffix beside the temporary file, holding exactly
///
/// ```
/// spillway-move 2
/// to-spill
/// <path relative to the tree root, the same in the spill area>
/// <source inode> <source size> <source mtime in ns>
/// ```
public struct ShimMoveIntent: Sendable, Equatable {
    public static let magic = "spillway-move 2"
    public static let direction = "to-spill"
    public static let tempPrefix = ".spillway-move."
    public static let intentPrefix = ".spillway-intent."
    public static let originAttribute = "user.spillway.origin"

    public var relativePath: String
    public var source: FileIdentity

    public init(relativePath: String, source: FileIdentity) {
        self.relativePath = relativePath
        self.source = source
    }

    /// The record's text, as the library writes it.
    public var text: String {
        "\(Self.magic)\n\(Self.direction)\n\(relativePath)\n\(source.inode) \(source.size) \(source.mtimeNanoseconds)\n"
    }

    /// Parses a record.
    ///
    /// - Throws: ``InputError`` naming `file` and what is wrong (a torn or foreign record).
    public init(parsing text: String, file: String) throws(InputError) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard lines.count == 5, lines[4].isEmpty, lines[0] == Self.magic, lines[1] == Self.direction else {
            throw InputError("\(file) is not a complete '\(Self.magic)' \(Self.direction) record")
        }
        let path = lines[2]
        guard Self.isSafeRelativePath(path) else {
            throw InputError("\(file) names '\(path)', which is not a plain relative path")
        }
        let numbers = lines[3].split(separator: " ").map { UInt64($0) }
        guard numbers.count == 3, let inode = numbers[0], let size = numbers[1], let mtime = numbers[2], mtime <= UInt64(Int64.max) else {
            throw InputError("\(file) has no '<inode> <size> <mtime_ns>' line")
        }
        self.init(relativePath: path, source: FileIdentity(inode: inode, size: size, mtimeNanoseconds: Int64(mtime)))
    }

    /// A relative path with no empty, `.` or `..` component and no leading `/`.
    public static func isSafeRelativePath(_ path: String) -> Bool {
        guard !path.isEmpty, !path.hasPrefix("/"), !path.utf8.contains(0) else { return false }
        return path.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    /// Whether `name` is one of the movers' own files (temporary file or intent record).
    public static func isProtocolName(_ name: String) -> Bool {
        name.hasPrefix(tempPrefix) || name.hasPrefix(intentPrefix)
    }
}
