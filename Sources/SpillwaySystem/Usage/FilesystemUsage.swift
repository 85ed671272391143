#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Usage and limit of a filesystem a container has to itself (a loop or LVM device per
/// container): `used = (f_blocks - f_bfree) * f_frsize`, `limit = f_blocks * f_frsize`.
///
/// Each ``read()`` opens ``path``, checks with fstat(2) that it is still on ``device`` (a path
/// whose filesystem was unmounted would otherwise report its parent's numbers) and runs
/// fstatfs(2): four system calls, a few microseconds. The backend keeps no descriptor between
/// reads, so it never keeps the container's filesystem busy (its engine can unmount it).
///
/// The limit is the whole filesystem. On ext4 the reserved blocks (5 % unless made with `-m 0`)
/// are in it but only root may fill them: an unprivileged writer gets `ENOSPC` once
/// `f_bavail` reaches 0, a little before `used` reaches `limit`.
public final class FilesystemUsage: UsageBackend {
    public let path: FilePath
    public var kind: UsageBackendKind { .filesystem }
    public var fullErrno: Errno { .noSpace }
    public var canSetLimit: Bool { false }
    public var source: String { "statfs of \(path.string)" }
    /// The device number (st_dev) of the filesystem measured.
    public let device: UInt64
    /// Whether the limit is ``FilesystemStatistics/writableBytes`` (used plus available, a
    /// filesystem whose reserve is its cap) rather than the whole size.
    public let limitIsWritable: Bool

    /// A backend for the directory at `path`; it should be the root of the container's own
    /// filesystem (``UsageDetector`` checks that; this initialiser does not).
    ///
    /// - Throws: ``SystemError``.
    public convenience init(path: FilePath) throws {
        let fd = try Descriptors.openDirectory(path, action: "open container root")
        defer { try? fd.close() }
        try self.init(measuring: fd, path: path)
    }

    /// A backend for `fd`, an open directory named `path`; `fd` is not kept.
    /// With `limitIsWritable`, the limit is what a writer can hold, reserves left out.
    init(measuring fd: FileDescriptor, path: FilePath, limitIsWritable: Bool = false) throws {
        self.path = path
        self.limitIsWritable = limitIsWritable
        self.device = UInt64(try Descriptors.status(fd, path: path.string).st_dev)
    }

    public func read() throws -> UsageReading {
        let fd = try Descriptors.openDirectory(path, action: "open container root")
        defer { try? fd.close() }
        let st = try Descriptors.status(fd, path: path.string)
        guard UInt64(st.st_dev) == device else {
            throw SystemError("measure", path: path.string, syscall: "fstat", errno: .operationNotSupportedByDevice,
                              hint: "its filesystem is no longer mounted there; re-detect the container's usage backend")
        }
        let statistics = try FilesystemStatistics.of(fd, path: path.string)
        return UsageReading(used: statistics.usedBytes, pending: 0, limit: limitIsWritable ? statistics.writableBytes : statistics.totalBytes)
    }

    /// Always throws: a filesystem's size is the device's; grow it with its own tools.
    ///
    /// - Throws: ``SystemError`` with `EOPNOTSUPP`.
    public func setLimit(_ bytes: UInt64?) throws {
        throw SystemError("change the size of", path: path.string, syscall: "statfs", errno: .notSupported,
                          hint: "the limit is the size of its own filesystem; grow the device and the filesystem (e.g. lvextend -r)")
    }
}
