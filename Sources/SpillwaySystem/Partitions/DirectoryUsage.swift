import SystemPackage

/// The usage of a directory spill area: a walk of the held area (``DirectoryTree``) and its
/// recorded cap, on every ``read()``.
public final class DirectoryUsage: UsageBackend {
    public let path: FilePath
    public var kind: UsageBackendKind { .directory }
    public var fullErrno: Errno { .noSpace }
    public var canSetLimit: Bool { true }
    public var source: String { "walk of \(path.string)" }

    private let area: FileDescriptor
    private let partitions: DirectoryPartitions
    private let containerID: String

    init(area: FileDescriptor, path: FilePath, partitions: DirectoryPartitions, containerID: String) {
        self.area = area
        self.path = path
        self.partitions = partitions
        self.containerID = containerID
    }

    deinit {
        try? area.close()
    }

    /// Walks the area and reads its cap.
    ///
    /// - Throws: ``SystemError`` when the area cannot be walked.
    public func read() throws -> UsageReading {
        let used = try DirectoryTree.allocatedBytes(in: area, display: path.string)
        return UsageReading(used: used, pending: 0, limit: try partitions.cap(for: containerID))
    }

    /// Records a new cap (the supervisor enforces it).
    public func setLimit(_ bytes: UInt64?) throws {
        _ = try partitions.resize(containerID: containerID, limit: bytes)
    }
}
