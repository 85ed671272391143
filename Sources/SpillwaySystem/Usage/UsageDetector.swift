#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Finds what limits a container's root directory and makes the backend that reads it.
///
/// The rules, in order, on the filesystem type from fstatfs(2):
/// - **overlay** (overlay2): the mount's `upperdir` (from /proc/self/mountinfo) is measured
///   instead, by the rules below — that is where the writable layer and its quota are.
/// - **btrfs**: the qgroup of the subvolume holding the directory, when quotas are enabled.
///   With quotas disabled, a directory that is the root of its own mount is measured by statfs;
///   any other gets an error naming the path and the `btrfs quota enable` command to run.
/// - **XFS**: the project quota of the directory's project id, when it has one and project
///   quotas are on; else statfs if it is the root of its own mount; else an error saying why.
/// - **anything else**: statfs when the directory is the root of its own mount; else an error.
public enum UsageDetector {
    /// What was chosen for a path, and why.
    public struct Detection: Sendable {
        /// The backend, ready for ``UsageBackend/read()``.
        public let backend: any UsageBackend
        /// The directory actually measured (the upper directory for overlay).
        public let measured: FilePath
        /// One line saying why this backend was chosen.
        public let reason: String
    }

    /// The backend for the container root at `path`.
    ///
    /// - Throws: ``InvalidFileError`` when nothing Spillway can read limits `path`, naming what
    ///   is missing; ``SystemError`` when a call fails.
    public static func backend(for path: FilePath) throws -> any UsageBackend {
        try detect(path).backend
    }

    /// The backend for the container root at `path`, with the reason for the choice.
    ///
    /// - Throws: as ``backend(for:)``.
    public static func detect(_ path: FilePath) throws -> Detection {
        try detect(path, followOverlay: true)
    }

    private static func detect(_ path: FilePath, followOverlay: Bool) throws -> Detection {
        let fd = try Descriptors.openDirectory(path, action: "open container root")
        defer { try? fd.close() }
        let statistics = try FilesystemStatistics.of(fd, path: path.string)
        let mountRoot = try Descriptors.isMountRoot(fd, path: path.string)
        switch statistics.kind {
        case .overlay where followOverlay:
            guard let id = Descriptors.mountID(fd), let entry = try MountTable.current().entry(mountID: id),
                  let upper = entry.superOption("upperdir")
            else {
                throw InvalidFileError(path: path.string, problem: "is an overlay mount without an upper directory Spillway can find; give the upper directory instead")
            }
            let inner = try detect(FilePath(upper), followOverlay: false)
            return Detection(backend: inner.backend, measured: inner.measured,
                             reason: "overlay mount; its upper directory \(upper): \(inner.reason)")
        case .btrfs:
            if try Btrfs.quotaStatus(fd, path: path.string) != nil {
                let backend = try BtrfsQgroupUsage(measuring: fd, path: path)
                return Detection(backend: backend, measured: path, reason: "btrfs with quotas: \(backend.source)")
            }
            if mountRoot {
                return Detection(backend: try FilesystemUsage(measuring: fd, path: path), measured: path,
                                 reason: "btrfs without quotas, root of its own mount: statfs")
            }
            throw InvalidFileError(
                path: path.string,
                problem: "is on a btrfs filesystem with quotas disabled; run `btrfs quota enable \(Btrfs.mountPoint(of: fd))`")
        case .xfs:
            let attributes = try InodeAttributes.of(fd, path: path.string)
            var quotaProblem = "it has no project id"
            if attributes.projectID != 0 {
                let dup = try duplicate(fd, path: path)
                do {
                    let backend = try XfsProjectQuotaUsage(adopting: dup, path: path)
                    return Detection(backend: backend, measured: path, reason: "XFS with project quotas: \(backend.source)")
                } catch let error as SystemError {
                    quotaProblem = "its project \(attributes.projectID) quota cannot be read: \(error.errno)" + (error.hint.map { " (\($0))" } ?? "")
                }
            }
            if mountRoot {
                return Detection(backend: try FilesystemUsage(measuring: fd, path: path), measured: path,
                                 reason: "XFS, \(quotaProblem); root of its own mount: statfs")
            }
            throw InvalidFileError(path: path.string, problem: "is on XFS but \(quotaProblem), and it is not the root of its own filesystem")
        default:
            if mountRoot {
                return Detection(backend: try FilesystemUsage(measuring: fd, path: path), measured: path,
                                 reason: "\(statistics.kind), root of its own mount: statfs")
            }
            throw InvalidFileError(
                path: path.string,
                problem: "is on \(statistics.kind) and is not the root of its own filesystem; nothing Spillway reads limits it (use a btrfs subvolume with qgroups, an XFS project quota, or a filesystem of its own)")
        }
    }

    private static func duplicate(_ fd: FileDescriptor, path: FilePath) throws -> FileDescriptor {
        let copy = fcntl(fd.rawValue, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else {
            throw SystemError("duplicate the descriptor of", path: path.string, syscall: "fcntl(F_DUPFD_CLOEXEC)", errno: Errno(rawValue: errno))
        }
        return FileDescriptor(rawValue: copy)
    }
}
