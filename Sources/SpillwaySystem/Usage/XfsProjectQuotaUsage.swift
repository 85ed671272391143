#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import SystemPackage

/// Usage and limit of an XFS project quota: the project id of a container's upper directory
/// (overlay2 on XFS mounted with `pquota`, where Docker gives each container's layer a project
/// with `--storage-opt size`), read with quotactl_fd(2) on the held directory on each ``read()``.
///
/// A full project makes writes fail with `ENOSPC`, which ``fullErrno`` says.
///
/// The backend holds the upper directory open so a poll is one quotactl_fd(2). That keeps the
/// main-disk XFS busy (it stays mounted while the engine runs anyway); a deleted upper directory
/// is freed when the backend is dropped.
public final class XfsProjectQuotaUsage: UsageBackend {
    public let path: FilePath
    /// The directory's project id (`fsx_projid`).
    public let projectID: UInt32
    public var kind: UsageBackendKind { .xfsProjectQuota }
    public var fullErrno: Errno { .noSpace }
    public var canSetLimit: Bool { true }
    public var source: String { "XFS project quota \(projectID)" }

    private let directory: FileDescriptor
    private let device: String?

    /// Opens the directory at `path` and reads its project id.
    ///
    /// - Throws: ``InvalidFileError`` when `path` is not on XFS or has project id 0 (no project);
    ///   ``SystemError`` when the kernel cannot read its quota (with a hint when the kernel lacks
    ///   XFS quota support or the filesystem is not mounted with `prjquota`).
    public convenience init(path: FilePath) throws {
        let fd = try Descriptors.openDirectory(path, action: "open container upper directory")
        try self.init(adopting: fd, path: path)
    }

    /// Takes ownership of `fd`, an open directory named `path`; closes it if this throws.
    init(adopting fd: FileDescriptor, path: FilePath) throws {
        var owned: FileDescriptor? = fd
        defer { if let owned { try? owned.close() } }
        let statistics = try FilesystemStatistics.of(fd, path: path.string)
        guard statistics.kind == .xfs else {
            throw InvalidFileError(path: path.string, problem: "is on \(statistics.kind), not XFS; XFS project quotas cannot measure it")
        }
        let attributes = try InodeAttributes.of(fd, path: path.string)
        guard attributes.projectID != 0 else {
            throw InvalidFileError(path: path.string, problem: "has no XFS project id (0); give the container a size (overlay2 --storage-opt size=) or set one with `xfs_quota -x -c 'project -s'`")
        }
        let device = Self.device(of: fd)
        // Fails here, clearly, when the kernel or the mount has no project quotas.
        _ = try XfsQuota.record(fd, device: { device }, projectID: attributes.projectID, path: path.string)
        self.path = path
        self.projectID = attributes.projectID
        self.directory = fd
        self.device = device
        owned = nil
    }

    deinit {
        try? directory.close()
    }

    public func read() throws -> UsageReading {
        XfsQuota.sample(from: try XfsQuota.record(directory, device: { device }, projectID: projectID, path: path.string))
    }

    public func setLimit(_ bytes: UInt64?) throws {
        try XfsQuota.setLimit(directory, device: { device }, projectID: projectID, bytes: bytes, path: path.string)
    }

    /// The block device of the filesystem holding `fd`, from mountinfo, for quotactl(2).
    static func device(of fd: FileDescriptor) -> String? {
        guard let id = Descriptors.mountID(fd), let entry = try? MountTable.current().entry(mountID: id),
              entry.source.hasPrefix("/") else { return nil }
        return entry.source
    }
}
