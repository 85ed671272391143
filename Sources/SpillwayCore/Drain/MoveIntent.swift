/// The supervisor's record of one move back from the spill area, kept in its state database
/// (table `work`, kind `drain-move`) from before the temporary file exists until the move is over.
///
/// Phase `copying` names the temporary file before it is made, so recovery can remove it; phase
/// `ready` adds the temporary file's inode once it is complete and on disk, before the rename, so
/// recovery can tell the renamed copy from anything else at the destination.
public struct MoveIntent: Codable, Sendable, Equatable {
    public enum Phase: String, Codable, Sendable {
        case copying
        case ready
    }

    /// The container whose tree and spill area this is.
    public var container: String
    /// The path relative to both the tree root and the spill area.
    public var relativePath: String
    /// The temporary file's name in the destination directory.
    public var tempName: String
    public var phase: Phase
    /// The source as it was when the copy began.
    public var source: FileIdentity
    /// The temporary file's inode, once ``phase`` is `ready`.
    public var tempInode: UInt64?

    public init(container: String, relativePath: String, tempName: String, phase: Phase, source: FileIdentity, tempInode: UInt64? = nil) {
        self.container = container
        self.relativePath = relativePath
        self.tempName = tempName
        self.phase = phase
        self.source = source
        self.tempInode = tempInode
    }

    enum CodingKeys: String, CodingKey {
        case container, phase, source
        case relativePath = "relative_path"
        case tempName = "temp_name"
        case tempInode = "temp_inode"
    }
}

/// What identifies one version of a file: its inode, and its size and times when it was read.
public struct FileIdentity: Codable, Sendable, Equatable {
    public var inode: UInt64
    public var size: UInt64
    public var mtimeNanoseconds: Int64
    /// 0 when unknown (the preload library's records carry no ctime).
    public var ctimeNanoseconds: Int64

    public init(inode: UInt64, size: UInt64, mtimeNanoseconds: Int64, ctimeNanoseconds: Int64 = 0) {
        self.inode = inode
        self.size = size
        self.mtimeNanoseconds = mtimeNanoseconds
        self.ctimeNanoseconds = ctimeNanoseconds
    }

    /// Whether `now` is the same inode with the same content version (size, mtime and, when both
    /// know it, ctime).
    public func isUnchanged(_ now: FileIdentity) -> Bool {
        now.inode == inode && now.size == size && now.mtimeNanoseconds == mtimeNanoseconds
            && (ctimeNanoseconds == 0 || now.ctimeNanoseconds == 0 || now.ctimeNanoseconds == ctimeNanoseconds)
    }

    enum CodingKeys: String, CodingKey {
        case inode, size
        case mtimeNanoseconds = "mtime_ns"
        case ctimeNanoseconds = "ctime_ns"
    }
}
