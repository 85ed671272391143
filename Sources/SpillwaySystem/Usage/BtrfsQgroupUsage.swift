#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import SystemPackage

/// Usage and limit of the btrfs subvolume that holds a directory: its level-0 qgroup's
/// `referenced` and `max_referenced` (what Docker's btrfs driver sets for `--storage-opt size`).
///
/// **Where the numbers come from.** With sysfs (Linux 5.9+), the backend holds the qgroup's
/// attribute files in /sys/fs/btrfs/FSID/qgroups/0_ID/ open and re-reads them with pread(2) on
/// each ``read()``: no path lookup, no ioctl, about 1 µs per file. Without it, each read opens
/// the directory again and runs two BTRFS_IOC_TREE_SEARCH_V2 searches of the quota tree.
///
/// **Nothing pinned.** The backend never keeps the container's directory open: an open
/// descriptor would keep a deleted subvolume from being cleaned (`btrfs subvolume sync` waits for
/// it) and its space from coming back. The rare calls that need the filesystem (``setLimit(_:)``,
/// ``commit()``, the quota-tree reads) open ``path`` again and check that it still belongs to
/// subvolume ``subvolumeID``. A held sysfs file pins nothing: once the qgroup is removed its
/// reads fail with `ENODEV`.
///
/// **Lag.** btrfs moves written bytes into `referenced` only when a transaction commits (every
/// 30 s by default, or on sync). Until then it holds them as reservations (`rsv_data`,
/// `rsv_meta_*`), which the kernel counts against `max_referenced` when it decides on `EDQUOT`.
/// This backend reports them as ``UsageReading/pending``, so ``UsageReading/charged`` follows
/// writes at once. It never forces a commit on a poll (a commit per second per filesystem would
/// cost far more than the reads); ``commit()`` does, for callers that need settled numbers (tests,
/// a grow). The quota-tree source has no reservations: its `pending` is 0 and its `used` lags.
public final class BtrfsQgroupUsage: UsageBackend {
    /// Where a backend reads its numbers.
    public enum Source: String, Sendable {
        /// /sys/fs/btrfs/FSID/qgroups/0_ID/, held open (includes reservations).
        case sysfs
        /// BTRFS_IOC_TREE_SEARCH_V2 of the quota tree (committed numbers only).
        case quotaTree
    }

    public let path: FilePath
    /// The subvolume that holds ``path``; its qgroup is 0/subvolumeID.
    public let subvolumeID: UInt64
    /// The filesystem's fsid.
    public let fsid: String
    /// Where this backend reads.
    public let numbersSource: Source
    public var kind: UsageBackendKind { .btrfsQgroup }
    public var fullErrno: Errno { .diskQuotaExceeded }
    public var canSetLimit: Bool { true }
    public var source: String { "btrfs qgroup 0/\(subvolumeID) on \(fsid) (\(numbersSource.rawValue))" }

    private let files: SysfsQgroupFiles?

    /// Opens the directory at `path` and finds its subvolume's qgroup.
    ///
    /// - Parameters:
    ///   - path: a directory on btrfs (a container's root subvolume, or anything inside one).
    ///   - preferring: ``Source/sysfs`` uses the quota tree only where sysfs has no qgroups.
    /// - Throws: ``InvalidFileError`` when `path` is not on btrfs, quotas are disabled (with the
    ///   `btrfs quota enable` command to run) or the subvolume has no qgroup; ``SystemError`` when
    ///   a call fails.
    public convenience init(path: FilePath, preferring: Source = .sysfs) throws {
        let fd = try Descriptors.openDirectory(path, action: "open container root")
        defer { try? fd.close() }
        try self.init(measuring: fd, path: path, preferring: preferring)
    }

    /// A backend for `fd`, an open directory named `path`; `fd` is not kept.
    init(measuring fd: FileDescriptor, path: FilePath, preferring: Source = .sysfs) throws {
        let statistics = try FilesystemStatistics.of(fd, path: path.string)
        guard statistics.kind == .btrfs else {
            throw InvalidFileError(path: path.string, problem: "is on \(statistics.kind), not btrfs; btrfs qgroups cannot measure it")
        }
        let subvolumeID = try Btrfs.subvolumeID(of: fd, path: path.string)
        let fsid = try Btrfs.fsid(of: fd, path: path.string)
        guard try Btrfs.quotaStatus(fd, path: path.string) != nil else {
            throw InvalidFileError(
                path: path.string,
                problem: "is on a btrfs filesystem with quotas disabled; run `btrfs quota enable \(Btrfs.mountPoint(of: fd))`")
        }
        let qgroupDirectory = "\(Btrfs.sysfsDirectory(fsid: fsid))/qgroups/0_\(subvolumeID)"
        var files: SysfsQgroupFiles? = nil
        if preferring == .sysfs {
            files = try SysfsQgroupFiles(directory: qgroupDirectory)
        }
        if files == nil {
            guard try BtrfsQuotaTree.qgroup(fd, id: subvolumeID, path: path.string) != nil else {
                throw InvalidFileError(
                    path: path.string,
                    problem: "has no btrfs qgroup 0/\(subvolumeID); run `btrfs qgroup create 0/\(subvolumeID) \(path.string)`")
            }
        }
        self.path = path
        self.subvolumeID = subvolumeID
        self.fsid = fsid
        self.files = files
        self.numbersSource = files == nil ? .quotaTree : .sysfs
    }

    /// Runs `body` with ``path`` opened again, checked to be in subvolume ``subvolumeID``.
    private func withDirectory<T>(_ action: String, _ body: (FileDescriptor) throws -> T) throws -> T {
        let fd = try Descriptors.openDirectory(path, action: action)
        defer { try? fd.close() }
        let id = try Btrfs.subvolumeID(of: fd, path: path.string)
        guard id == subvolumeID else {
            throw InvalidFileError(path: path.string, problem: "now belongs to btrfs subvolume \(id), not \(subvolumeID); re-detect the container's usage backend")
        }
        return try body(fd)
    }

    /// Reads the qgroup's numbers now.
    ///
    /// - Throws: ``SystemError`` naming ``path`` when the qgroup is gone (subvolume deleted,
    ///   quotas disabled) or unreadable.
    public func read() throws -> UsageReading {
        if let files {
            return try files.read(path: path.string, qgroup: subvolumeID)
        }
        let found = try withDirectory("open container root") { try BtrfsQuotaTree.qgroup($0, id: subvolumeID, path: path.string) }
        guard let qgroup = found else {
            throw SystemError("read the qgroup usage of", path: path.string, syscall: "ioctl(BTRFS_IOC_TREE_SEARCH_V2)",
                              errno: .noSuchFileOrDirectory,
                              hint: "qgroup 0/\(subvolumeID) is gone (subvolume deleted or quotas disabled)")
        }
        return UsageReading(used: qgroup.referenced, pending: 0, limit: qgroup.referencedLimit)
    }

    /// Sets the subvolume's referenced limit online (BTRFS_IOC_QGROUP_LIMIT); `nil` removes it.
    ///
    /// - Throws: ``SystemError``.
    public func setLimit(_ bytes: UInt64?) throws {
        try withDirectory("open container root") { try Btrfs.setQgroupLimit($0, qgroup: subvolumeID, bytes: bytes, path: path.string) }
    }

    /// Commits the filesystem's transaction (BTRFS_IOC_SYNC) so `used` includes every write so far.
    ///
    /// - Throws: ``SystemError``.
    public func commit() throws {
        try withDirectory("open container root") { try Btrfs.commit($0, path: path.string) }
    }

    /// Whether the filesystem's qgroup numbers are trustworthy now.
    ///
    /// - Returns: `nil` if quotas have been disabled since.
    /// - Throws: ``SystemError``.
    public func quotaStatus() throws -> BtrfsQuotaStatus? {
        try withDirectory("open container root") { try Btrfs.quotaStatus($0, path: path.string) }
    }
}

/// The attribute files of one qgroup in sysfs, held open and re-read with pread(2).
final class SysfsQgroupFiles: Sendable {
    let referenced: FileDescriptor
    let maxReferenced: FileDescriptor
    let limitFlags: FileDescriptor
    /// rsv_data, rsv_meta_pertrans, rsv_meta_prealloc, where the kernel has them.
    let reservations: [FileDescriptor]
    let directory: String

    /// Opens the files of `directory`; `nil` when the directory does not exist.
    init?(directory: String) throws {
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd < 0 {
            if errno == ENOENT { return nil }
            throw SystemError("open", path: directory, syscall: "open", errno: Errno(rawValue: errno))
        }
        defer { close(dirfd) }
        var opened: [FileDescriptor] = []
        func attribute(_ name: String, required: Bool) throws -> FileDescriptor? {
            let fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC)
            if fd < 0 {
                if !required && errno == ENOENT { return nil }
                let err = Errno(rawValue: errno)
                opened.forEach { try? $0.close() }
                throw SystemError("open", path: "\(directory)/\(name)", syscall: "openat", errno: err)
            }
            let descriptor = FileDescriptor(rawValue: fd)
            opened.append(descriptor)
            return descriptor
        }
        referenced = try attribute("referenced", required: true)!
        maxReferenced = try attribute("max_referenced", required: true)!
        limitFlags = try attribute("limit_flags", required: true)!
        reservations = try ["rsv_data", "rsv_meta_pertrans", "rsv_meta_prealloc"].compactMap { try attribute($0, required: false) }
        self.directory = directory
    }

    deinit {
        for fd in [referenced, maxReferenced, limitFlags] + reservations { try? fd.close() }
    }

    func read(path: String, qgroup: UInt64) throws -> UsageReading {
        let used = try number(referenced, "referenced", path: path, qgroup: qgroup)
        let maximum = try number(maxReferenced, "max_referenced", path: path, qgroup: qgroup)
        let flags = try number(limitFlags, "limit_flags", path: path, qgroup: qgroup)
        var pending: UInt64 = 0
        for fd in reservations {
            pending &+= try number(fd, "rsv_*", path: path, qgroup: qgroup)
        }
        let limit = flags & SPILLWAY_BTRFS_QGROUP_LIMIT_MAX_RFER != 0 ? maximum : nil
        return UsageReading(used: used, pending: pending, limit: limit)
    }

    /// pread(2) of one attribute into a stack buffer: no allocation on the poll path.
    private func number(_ fd: FileDescriptor, _ name: String, path: String, qgroup: UInt64) throws -> UInt64 {
        try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 32) { buffer in
            var got: Int
            repeat {
                got = pread(fd.rawValue, buffer.baseAddress, buffer.count, 0)
            } while got < 0 && errno == EINTR
            guard got > 0 else {
                let err = got == 0 ? Errno.noSuchFileOrDirectory : Errno(rawValue: errno)
                throw SystemError("read the qgroup usage of", path: path, syscall: "pread", errno: err,
                                  hint: "\(directory)/\(name) is gone or unreadable: qgroup 0/\(qgroup) was removed (subvolume deleted or quotas disabled); re-detect the container's usage backend")
            }
            guard let value = SysfsNumber.parse(UnsafeBufferPointer(rebasing: buffer[0..<got])) else {
                throw InvalidFileError(path: "\(directory)/\(name)", problem: "does not hold a number")
            }
            return value
        }
    }
}
