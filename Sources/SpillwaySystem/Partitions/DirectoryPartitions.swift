#if canImport(Glibc)
import Glibc
#endif
import SpillwayCore
import SystemPackage

/// Spill areas as plain directories on any sub disk, with caps the supervisor enforces.
///
/// The kernel does not stop a directory from growing, so the cap is Spillway's to enforce:
/// the daemon puts the cap in the slot's `spill_limit` and, at every poll, what
/// ``usage(containerID:)`` measured in `spill_used` (flag `SPILLWAY_SLOT_FLAG_LIBRARY_CAP`); the
/// preload library and the FUSE union refuse to grow spill-area files past the room left
/// (`ENOSPC`, ``fullErrno``). A program making its own system calls is not stopped. Usage is
/// found by walking the area (``DirectoryTree``) — one fstatat(2) per file — so it costs in
/// proportion to what the area holds; areas are empty while their containers are `normal`.
///
/// Each area has a record `.spillway/caps/<id>` on the sub disk holding its cap in decimal bytes
/// or `none`, written atomically, so ``list()`` finds the areas (and only them, not other
/// directories an operator keeps on the sub disk) with their caps after a restart.
public final class DirectoryPartitions: PartitionBackend {
    public let subDisk: SubDisk
    public var kind: PartitionKind { .directory }
    public var fullErrno: Errno { .noSpace }
    public var kernelEnforcesLimit: Bool { false }

    /// A backend on `subDisk`.
    public init(subDisk: SubDisk) {
        self.subDisk = subDisk
    }

    public func create(containerID id: String, limit: UInt64?) throws -> Partition {
        try SpillAreaName.validate(id)
        let caps = try subDisk.metadataDirectory("caps")
        defer { try? caps.close() }
        let area = try subDisk.makeAreaDirectory(id)
        try? area.close()
        do {
            try writeCap(limit, for: id, in: caps)
        } catch {
            _ = unlinkat(subDisk.root.rawValue, id, AT_REMOVEDIR)
            throw error
        }
        return Partition(containerID: id, kind: kind, path: subDisk.areaPath(id), limit: limit, isReady: true)
    }

    public func resize(containerID id: String, limit: UInt64?) throws -> Partition {
        try SpillAreaName.validate(id)
        let area = try subDisk.requireArea(id)
        try? area.close()
        let caps = try subDisk.metadataDirectory("caps")
        defer { try? caps.close() }
        try writeCap(limit, for: id, in: caps)
        return Partition(containerID: id, kind: kind, path: subDisk.areaPath(id), limit: limit, isReady: true)
    }

    public func usage(containerID id: String) throws -> UsageReading {
        try usageBackend(containerID: id).read()
    }

    public func usageBackend(containerID id: String) throws -> any UsageBackend {
        try SpillAreaName.validate(id)
        let area = try subDisk.requireArea(id)
        return DirectoryUsage(area: area, path: subDisk.areaPath(id), partitions: self, containerID: id)
    }

    public func remove(containerID id: String) throws {
        try SpillAreaName.validate(id)
        let display = subDisk.areaPath(id).string
        if let area = try subDisk.openArea(id) {
            defer { try? area.close() }
            try DirectoryTree.removeContents(of: area, display: display)
            if unlinkat(subDisk.root.rawValue, id, AT_REMOVEDIR) != 0, errno != ENOENT {
                throw SystemError("remove spill area", path: display, syscall: "unlinkat", errno: Errno(rawValue: errno))
            }
        }
        if let caps = try subDisk.existingMetadataDirectory("caps") {
            defer { try? caps.close() }
            try removeRecord(for: id, in: caps)
        }
    }

    public func list() throws -> [Partition] {
        guard let caps = try subDisk.existingMetadataDirectory("caps") else { return [] }
        defer { try? caps.close() }
        var partitions: [Partition] = []
        for name in try SubDisk.entryNames(caps, display: subDisk.path.string).sorted() where SpillAreaName.isValid(name) {
            let display = subDisk.areaPath(name).string
            guard let st = try Descriptors.status(of: name, in: subDisk.root, display: display), Descriptors.isDirectory(st),
                  let record = try readRecord(for: name, in: caps)
            else { continue }
            partitions.append(Partition(containerID: name, kind: kind, path: subDisk.areaPath(name), limit: record, isReady: true))
        }
        return partitions
    }

    public func activate(containerID id: String) throws -> Partition {
        try SpillAreaName.validate(id)
        let area = try subDisk.requireArea(id)
        try? area.close()
        let caps = try subDisk.metadataDirectory("caps")
        defer { try? caps.close() }
        guard let record = try readRecord(for: id, in: caps) else {
            // An area whose record was lost (a crash between mkdir and the record): uncapped.
            try writeCap(nil, for: id, in: caps)
            return Partition(containerID: id, kind: kind, path: subDisk.areaPath(id), limit: nil, isReady: true)
        }
        return Partition(containerID: id, kind: kind, path: subDisk.areaPath(id), limit: record, isReady: true)
    }

    /// The cap recorded for `id`, or `nil` (uncapped, or no record).
    func cap(for id: String) throws -> UInt64? {
        guard let caps = try subDisk.existingMetadataDirectory("caps") else { return nil }
        defer { try? caps.close() }
        return try readRecord(for: id, in: caps) ?? nil
    }

    /// Removes the record of `id`.
    func removeRecord(for id: String, in caps: FileDescriptor) throws {
        if unlinkat(caps.rawValue, id, 0) != 0, errno != ENOENT {
            let display = subDisk.path.appending(SubDisk.metadataDirectoryName).appending("caps").appending(id).string
            throw SystemError("remove the cap file", path: display, syscall: "unlinkat", errno: Errno(rawValue: errno))
        }
    }

    /// Records `limit` (`nil`: `none`) for `id` atomically (temporary file, fsync, rename).
    func writeCap(_ limit: UInt64?, for id: String, in caps: FileDescriptor) throws {
        let display = subDisk.path.appending(SubDisk.metadataDirectoryName).appending("caps").appending(id).string
        let temporary = ".\(id).tmp"
        _ = unlinkat(caps.rawValue, temporary, 0)
        let fd = try Descriptors.openBeneath(caps, temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600,
                                             action: "write the cap file", display: display)
        do {
            defer { try? fd.close() }
            _ = try fd.writeAll(Array("\(limit.map { String($0) } ?? "none")\n".utf8))
            try fsyncOrThrow(fd)
        } catch let errno as Errno {
            _ = unlinkat(caps.rawValue, temporary, 0)
            throw SystemError("write the cap file", path: display, syscall: "write", errno: errno)
        }
        guard renameat(caps.rawValue, temporary, caps.rawValue, id) == 0 else {
            let err = Errno(rawValue: errno)
            _ = unlinkat(caps.rawValue, temporary, 0)
            throw SystemError("write the cap file", path: display, syscall: "renameat", errno: err)
        }
        _ = fsync(caps.rawValue)
    }

    /// The record `.spillway/caps/<id>`: `nil` when there is none, `.some(nil)` for `none`.
    func readRecord(for id: String, in caps: FileDescriptor) throws -> UInt64?? {
        let display = subDisk.path.appending(SubDisk.metadataDirectoryName).appending("caps").appending(id).string
        let fd: FileDescriptor
        do {
            fd = try Descriptors.openBeneath(caps, id, flags: O_RDONLY, action: "read the cap file", display: display)
        } catch let error as SystemError where error.errno == .noSuchFileOrDirectory {
            return nil
        }
        defer { try? fd.close() }
        let st = try Descriptors.status(fd, path: display)
        guard Descriptors.isRegular(st) else {
            throw InvalidFileError(path: display, problem: "is not a regular file; remove it")
        }
        let bytes = try Descriptors.readSmallFile(fd, path: display, limit: 64)
        if bytes == Array("none\n".utf8) { return .some(nil) }
        guard let value = SysfsNumber.parse(bytes) else {
            throw InvalidFileError(path: display, problem: "holds neither a size in bytes nor 'none'; rewrite it with the partition's cap")
        }
        return .some(value)
    }
}
