#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSpillway
import CSpillwaySyscalls
import SpillwayCore
import SystemPackage

/// One container's slot file: a page the supervisor writes through a shared mapping and the
/// container's preload library maps read-only.
///
/// Creation is atomic (a complete temporary file is renamed into place), so a reader never
/// maps a half-written slot. Updates go through the header's sequence lock
/// (`spillway_slot_write`), so a reader sees all of an update or none of it; writers in
/// different processes are serialised with an open-file-description lock on the file.
public final class SlotFile {
    public let path: FilePath
    private let fd: FileDescriptor
    private let base: UnsafeMutableRawPointer

    private var slot: UnsafeMutablePointer<spillway_slot> {
        base.assumingMemoryBound(to: spillway_slot.self)
    }

    /// The size of a slot file in bytes (one page).
    public static let fileSize = Int(SPILLWAY_SLOT_FILE_SIZE)

    private init(path: FilePath, fd: FileDescriptor, base: UnsafeMutableRawPointer) {
        self.path = path
        self.fd = fd
        self.base = base
    }

    deinit {
        munmap(base, Self.fileSize)
        try? fd.close()
    }

    /// Creates a new slot file at `path` holding `initial`, atomically, and opens it.
    ///
    /// - Parameters:
    ///   - path: where the slot file goes; its directory must exist. An existing file is kept
    ///     and reported, never overwritten.
    ///   - initial: the fields to write (its generation is ignored).
    ///   - permissions: the file's mode; readers need read permission only.
    /// - Throws: ``SystemError`` naming the path and the failing call; ``InputError`` for an
    ///   over-long container id. Nothing is left behind on failure.
    public static func create(
        at path: FilePath, initial: SlotSnapshot, permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]
    ) throws -> SlotFile {
        try SlotSnapshot.validate(containerID: initial.containerID)
        guard let name = path.lastComponent, !path.string.hasSuffix("/") else {
            throw InvalidFileError(path: path.string, problem: "is not a file path; give the slot file's full path")
        }
        let directory = path.removingLastComponent().isEmpty ? FilePath(".") : path.removingLastComponent()
        var probe = stat()
        if lstat(path.string, &probe) == 0 {
            throw InvalidFileError(path: path.string, problem: "already exists; change it with `spillway slot set`, or remove it first")
        }
        let temp = directory.appending(".\(name.string).tmp-\(getpid())")
        let hint = "the directory must exist and be writable by this user"
        let tempFD: FileDescriptor
        do {
            tempFD = try FileDescriptor.open(
                temp, .readWrite, options: [.create, .exclusiveCreate, .noFollow, .closeOnExec], permissions: permissions)
        } catch let errno as Errno {
            throw SystemError("create slot file", path: path.string, syscall: "openat", errno: errno, hint: hint)
        }
        var committed = false
        var tempOpen = true
        defer {
            if tempOpen { try? tempFD.close() }
            if !committed { _ = unlink(temp.string) }
        }
        var page = [UInt8](repeating: 0, count: fileSize)
        page.withUnsafeMutableBytes { raw in
            let header = raw.baseAddress!.assumingMemoryBound(to: spillway_slot.self)
            spillway_slot_format(header)
            var view = SlotView(initial).raw
            spillway_slot_write(header, &view)
        }
        do {
            _ = try tempFD.writeAll(page)
            try fsyncOrThrow(tempFD)
            tempOpen = false
            try tempFD.close()
        } catch let errno as Errno {
            throw SystemError("write slot file", path: temp.string, syscall: "write", errno: errno)
        }
        // Permissions exactly as asked, whatever the umask.
        if chmod(temp.string, permissions.rawValue) != 0 {
            throw SystemError("set the mode of slot file", path: temp.string, syscall: "chmod", errno: Errno(rawValue: errno))
        }
        if spillway_renameat2(AT_FDCWD, temp.string, AT_FDCWD, path.string, UInt32(RENAME_NOREPLACE)) != 0 {
            let err = Errno(rawValue: errno)
            throw SystemError("create slot file", path: path.string, syscall: "renameat2", errno: err,
                              hint: err == .fileExists ? "another process created it first" : nil)
        }
        committed = true
        try? fsyncDirectory(directory)
        return try open(at: path)
    }

    /// Opens an existing slot file for reading and writing.
    ///
    /// - Throws: ``SystemError`` when it cannot be opened or mapped; ``InvalidFileError`` when it
    ///   is not a regular page-sized file with this build's magic and version.
    public static func open(at path: FilePath) throws -> SlotFile {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, .readWrite, options: [.noFollow, .closeOnExec])
        } catch let errno as Errno {
            throw SystemError("open slot file", path: path.string, syscall: "openat", errno: errno,
                              hint: errno == .noSuchFileOrDirectory ? "create it with `spillway slot create`" : nil)
        }
        var st = stat()
        guard fstat(fd.rawValue, &st) == 0 else {
            let err = Errno(rawValue: errno)
            try? fd.close()
            throw SystemError("inspect slot file", path: path.string, syscall: "fstat", errno: err)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG, st.st_size == off_t(fileSize) else {
            try? fd.close()
            throw InvalidFileError(path: path.string, problem: "is not a slot file (a slot is a regular file of exactly \(fileSize) bytes)")
        }
        guard let base = mmap(nil, fileSize, PROT_READ | PROT_WRITE, MAP_SHARED, fd.rawValue, 0), base != MAP_FAILED else {
            let err = Errno(rawValue: errno)
            try? fd.close()
            throw SystemError("map slot file", path: path.string, syscall: "mmap", errno: err)
        }
        let file = SlotFile(path: path, fd: fd, base: base)
        guard spillway_slot_is_valid(file.slot, fileSize) != 0 else {
            throw InvalidFileError(path: path.string, problem: "is not a slot file of this version (bad magic, version or state)")
        }
        return file
    }

    /// A consistent copy of the slot's fields.
    ///
    /// - Throws: ``InvalidFileError`` if no consistent copy can be taken (a writer died
    ///   mid-update and never finished) or the state is unknown.
    public func read() throws -> SlotSnapshot {
        var view = spillway_slot_view()
        for _ in 0..<1000 {
            if spillway_slot_read(slot, &view, 1000) != 0, let snapshot = SlotView(raw: view).snapshot {
                return snapshot
            }
            sched_yield()
        }
        throw InvalidFileError(path: path.string, problem: "holds no consistent slot (an update never finished or the state is unknown)")
    }

    /// Changes the slot with `body` and publishes the result atomically for readers.
    ///
    /// - Returns: the slot as written, with its new generation.
    @discardableResult
    public func update(_ body: (inout SlotSnapshot) throws -> Void) throws -> SlotSnapshot {
        try lockForWriting()
        defer { unlock() }
        var snapshot = try read()
        try body(&snapshot)
        try SlotSnapshot.validate(containerID: snapshot.containerID)
        snapshot.updatedNanoseconds = Self.nowNanoseconds()
        var view = SlotView(snapshot).raw
        spillway_slot_write(slot, &view)
        if msync(base, Self.fileSize, MS_SYNC) != 0 {
            throw SystemError("flush slot file", path: path.string, syscall: "msync", errno: Errno(rawValue: errno))
        }
        return try read()
    }

    private func lockForWriting() throws {
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        while fcntl(fd.rawValue, Int32(SPILLWAY_F_OFD_SETLKW), &lock) != 0 {
            if errno == EINTR { continue }
            throw SystemError("lock slot file", path: path.string, syscall: "fcntl(F_OFD_SETLKW)", errno: Errno(rawValue: errno))
        }
    }

    private func unlock() {
        var lock = flock()
        lock.l_type = Int16(F_UNLCK)
        lock.l_whence = Int16(SEEK_SET)
        _ = fcntl(fd.rawValue, Int32(SPILLWAY_F_OFD_SETLK), &lock)
    }

    static func nowNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// Converts between the C view of a slot and ``SlotSnapshot``.
struct SlotView {
    var raw: spillway_slot_view

    init(raw: spillway_slot_view) {
        self.raw = raw
    }

    init(_ snapshot: SlotSnapshot) {
        var raw = spillway_slot_view()
        raw.state = snapshot.state.rawValue
        raw.spill_limit = snapshot.spillLimit ?? 0
        raw.main_limit = snapshot.mainLimit ?? 0
        raw.updated_ns = snapshot.updatedNanoseconds == 0 ? SlotFile.nowNanoseconds() : snapshot.updatedNanoseconds
        raw.move_epoch = snapshot.moveEpoch
        raw.flags = snapshot.libraryEnforcesSpillLimit ? SPILLWAY_SLOT_FLAG_LIBRARY_CAP : 0
        raw.spill_used = snapshot.spillUsed
        raw.spill_epoch = snapshot.spillEpoch
        withUnsafeMutableBytes(of: &raw.container_id) { bytes in
            bytes.initializeMemory(as: UInt8.self, repeating: 0)
            let utf8 = Array(snapshot.containerID.utf8.prefix(bytes.count - 1))
            bytes.copyBytes(from: utf8)
        }
        self.raw = raw
    }

    /// The snapshot, or `nil` if the state is not one this build knows.
    var snapshot: SlotSnapshot? {
        guard let state = SlotState(rawValue: raw.state) else { return nil }
        let id = withUnsafeBytes(of: raw.container_id) { bytes in
            String(decoding: bytes.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        var snapshot = SlotSnapshot(
            generation: raw.generation, state: state,
            spillLimit: raw.spill_limit == 0 ? nil : raw.spill_limit,
            mainLimit: raw.main_limit == 0 ? nil : raw.main_limit,
            updatedNanoseconds: raw.updated_ns, moveEpoch: raw.move_epoch, containerID: id)
        snapshot.libraryEnforcesSpillLimit = raw.flags & SPILLWAY_SLOT_FLAG_LIBRARY_CAP != 0
        snapshot.spillUsed = raw.spill_used
        snapshot.spillEpoch = raw.spill_epoch
        return snapshot
    }
}
