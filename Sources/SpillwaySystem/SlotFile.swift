#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CSpillway
import CSpillwaySyscalls
import SpillwayCore
import SystemPackage

/// One container's slot file: a page the supervisor writes and the container's preload library
/// maps read-only.
///
/// This side never maps the file: it reads and writes with `pread`/`pwrite` on a held
/// descriptor, so a file truncated or replaced under it can never fault (no SIGBUS), only give
/// an error or a short read. Creation is atomic (a complete temporary file is renamed into
/// place), so a reader never maps a half-written slot. Updates follow the header's sequence lock
/// (`spillway_slot.h`): the generation turns odd, the fields are written, then the state, then
/// the generation turns even again, so a reader of the mapping sees all of an update or none of
/// it; writers in different processes are serialised with an open-file-description lock.
public final class SlotFile {
    public let path: FilePath
    let fd: FileDescriptor
    /// The device and inode of the file, as opened: the file every reader has mapped.
    public let device: UInt64
    public let inode: UInt64

    /// The size of a slot file in bytes (one page).
    public static let fileSize = Int(SPILLWAY_SLOT_FILE_SIZE)
    static let headerSize = MemoryLayout<spillway_slot>.size
    static let stateOffset = MemoryLayout<spillway_slot>.offset(of: \spillway_slot.state)!
    static let generationOffset = MemoryLayout<spillway_slot>.offset(of: \spillway_slot.generation)!

    init(path: FilePath, fd: FileDescriptor, status: stat) {
        self.path = path
        self.fd = fd
        self.device = UInt64(status.st_dev)
        self.inode = UInt64(status.st_ino)
    }

    /// Does `status` describe this file?
    public func isSameFile(_ status: stat) -> Bool {
        UInt64(status.st_dev) == device && UInt64(status.st_ino) == inode
    }

    deinit {
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
        let dirFD: FileDescriptor
        do {
            dirFD = try FileDescriptor.open(directory, .readOnly, options: [.directory, .closeOnExec])
        } catch let errno as Errno {
            throw SystemError("create slot file", path: path.string, syscall: "openat", errno: errno,
                              hint: "the directory must exist and be writable by this user")
        }
        defer { try? dirFD.close() }
        return try create(in: dirFD, name: name.string, display: path, initial: initial, permissions: permissions)
    }

    /// Creates the slot file `name` in the directory `dirFD` (shown as `display`), atomically.
    static func create(
        in dirFD: FileDescriptor, name: String, display path: FilePath, initial: SlotSnapshot,
        permissions: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]
    ) throws -> SlotFile {
        try SlotSnapshot.validate(containerID: initial.containerID)
        var probe = stat()
        if fstatat(dirFD.rawValue, name, &probe, AT_SYMLINK_NOFOLLOW) == 0 {
            throw InvalidFileError(path: path.string, problem: "already exists; change it with `spillway slot set`, or remove it first")
        }
        let temp = ".\(name).tmp-\(getpid())"
        let tempFD = openat(dirFD.rawValue, temp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, permissions.rawValue)
        guard tempFD >= 0 else {
            throw SystemError("create slot file", path: path.string, syscall: "openat", errno: Errno(rawValue: errno),
                              hint: "the directory must exist and be writable by this user")
        }
        let file = FileDescriptor(rawValue: tempFD)
        var committed = false
        defer {
            if !committed {
                try? file.close()
                _ = unlinkat(dirFD.rawValue, temp, 0)
            }
        }
        var st = stat()
        guard fstat(tempFD, &st) == 0 else {
            throw SystemError("inspect slot file", path: path.string, syscall: "fstat", errno: Errno(rawValue: errno))
        }
        let slot = SlotFile(path: path, fd: file, status: st)
        try slot.rewrite(initial, after: 0)
        // Permissions exactly as asked, whatever the umask.
        if fchmod(tempFD, permissions.rawValue) != 0 {
            throw SystemError("set the mode of slot file", path: path.string, syscall: "fchmod", errno: Errno(rawValue: errno))
        }
        if spillway_renameat2(dirFD.rawValue, temp, dirFD.rawValue, name, UInt32(RENAME_NOREPLACE)) != 0 {
            let err = Errno(rawValue: errno)
            throw SystemError("create slot file", path: path.string, syscall: "renameat2", errno: err,
                              hint: err == .fileExists ? "another process created it first" : nil)
        }
        committed = true
        _ = fsync(dirFD.rawValue)
        return slot
    }

    /// Opens an existing slot file for reading and writing.
    ///
    /// - Throws: ``SystemError`` when it cannot be opened (a symlink is refused);
    ///   ``InvalidFileError`` when it is not a regular page-sized file with this build's magic and
    ///   version.
    public static func open(at path: FilePath) throws -> SlotFile {
        let slot = try openFile(at: path)
        _ = try slot.read()
        return slot
    }

    /// Opens the file at `path` as a slot without checking its contents: a regular file, not a
    /// symlink, of any size (for repair).
    static func openFile(at path: FilePath, in dirFD: FileDescriptor? = nil, name: String? = nil) throws -> SlotFile {
        let raw = openat(dirFD?.rawValue ?? AT_FDCWD, name ?? path.string, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard raw >= 0 else {
            let err = Errno(rawValue: errno)
            throw SystemError("open slot file", path: path.string, syscall: "openat", errno: err,
                              hint: err == .noSuchFileOrDirectory ? "create it with `spillway slot create`"
                                  : err == .tooManySymbolicLinkLevels ? "it is a symlink; a slot is a regular file" : nil)
        }
        let fd = FileDescriptor(rawValue: raw)
        var st = stat()
        guard fstat(raw, &st) == 0 else {
            let err = Errno(rawValue: errno)
            try? fd.close()
            throw SystemError("inspect slot file", path: path.string, syscall: "fstat", errno: err)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            try? fd.close()
            throw InvalidFileError(path: path.string, problem: "is not a slot file (a slot is a regular file of exactly \(fileSize) bytes)")
        }
        return SlotFile(path: path, fd: fd, status: st)
    }

    /// A consistent copy of the slot's fields.
    ///
    /// - Throws: ``InvalidFileError`` if the file is not a page, is not a slot of this version,
    ///   or no consistent copy can be taken (a writer died mid-update and never finished).
    public func read() throws -> SlotSnapshot {
        switch try inspect() {
        case .valid(let snapshot): return snapshot
        case .invalid(let content): throw InvalidFileError(path: path.string, problem: content.problem)
        }
    }

    /// The file's contents as found: a slot, or what is wrong with it. Two reads of the header
    /// that agree, with an even generation, are one consistent copy.
    ///
    /// - Throws: ``SystemError`` when the file cannot be inspected or read at all.
    public func inspect() throws -> SlotInspection {
        var st = stat()
        guard fstat(fd.rawValue, &st) == 0 else {
            throw SystemError("inspect slot file", path: path.string, syscall: "fstat", errno: Errno(rawValue: errno))
        }
        guard (st.st_mode & S_IFMT) == S_IFREG, st.st_size == off_t(Self.fileSize) else {
            return .invalid(.wrongSize(Int64(st.st_size)))
        }
        for attempt in 0..<10_000 {
            let first = try header()
            let second = try header()
            if first == second, let found = SlotHeader.inspect(first) { return found }
            if attempt % 100 == 99 { sched_yield() }
        }
        return .invalid(.inconsistent)
    }

    private func header() throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Self.headerSize)
        let got = bytes.withUnsafeMutableBytes { pread(fd.rawValue, $0.baseAddress, Self.headerSize, 0) }
        guard got >= 0 else {
            throw SystemError("read slot file", path: path.string, syscall: "pread", errno: Errno(rawValue: errno))
        }
        if got < Self.headerSize { bytes.replaceSubrange(got..., with: repeatElement(0, count: Self.headerSize - got)) }
        return bytes
    }

    /// Changes the slot with `body` and publishes the result atomically for readers.
    ///
    /// - Returns: the slot as written, with its new generation.
    /// - Throws: ``InvalidFileError`` when the file is not a valid slot (it is not repaired
    ///   here: see ``rewrite(_:after:)``), ``SystemError`` when it cannot be written.
    @discardableResult
    public func update(_ body: (inout SlotSnapshot) throws -> Void) throws -> SlotSnapshot {
        try lockForWriting()
        defer { unlock() }
        var snapshot = try read()
        try body(&snapshot)
        try SlotSnapshot.validate(containerID: snapshot.containerID)
        return try write(snapshot, after: snapshot.generation, whole: false)
    }

    /// Makes the file a whole, valid page holding `snapshot` again, in place (same inode, so
    /// mappings and bind mounts of it stay valid): it is cut or extended to a page, and every
    /// byte of it is written, through the sequence lock. The generation written is above both
    /// `generation` and what the file holds, when that is sane.
    ///
    /// - Returns: the slot as written.
    @discardableResult
    public func rewrite(_ snapshot: SlotSnapshot, after generation: UInt64) throws -> SlotSnapshot {
        try SlotSnapshot.validate(containerID: snapshot.containerID)
        try lockForWriting()
        defer { unlock() }
        while ftruncate(fd.rawValue, off_t(Self.fileSize)) != 0 {
            if errno == EINTR { continue }
            throw SystemError("resize slot file", path: path.string, syscall: "ftruncate", errno: Errno(rawValue: errno))
        }
        var base = generation
        if case .valid(let found)? = try? inspect(), found.generation > base, found.generation - base < 1 << 32 {
            base = found.generation
        }
        return try write(snapshot, after: base, whole: true)
    }

    /// Writes `snapshot` with the generation turning `base`+1 (odd, or the next odd) and then
    /// +2; `whole` writes the page's identity and its unused bytes too.
    private func write(_ snapshot: SlotSnapshot, after base: UInt64, whole: Bool) throws -> SlotSnapshot {
        var written = snapshot
        written.generation = (base | 1) &+ 1
        written.updatedNanoseconds = Self.nowNanoseconds()
        let page = SlotHeader.encode(written)
        let odd = SlotHeader.generationBytes(written.generation &- 1)
        let stateAt = Self.stateOffset, genAt = Self.generationOffset
        if whole {
            try pwriteAll([UInt8](repeating: 0, count: Self.fileSize - Self.headerSize), at: Self.headerSize)
        }
        try pwriteAll(odd, at: genAt)
        try pwriteAll(Array(page[(genAt + 8)...]), at: genAt + 8)
        try pwriteAll(Array(page[..<stateAt]), at: 0)
        try pwriteAll(Array(page[(stateAt + 4)..<genAt]), at: stateAt + 4)
        try pwriteAll(Array(page[stateAt..<(stateAt + 4)]), at: stateAt)
        try pwriteAll(Array(page[genAt..<(genAt + 8)]), at: genAt)
        while fdatasync(fd.rawValue) != 0 {
            if errno == EINTR { continue }
            throw SystemError("flush slot file", path: path.string, syscall: "fdatasync", errno: Errno(rawValue: errno))
        }
        return written
    }

    private func pwriteAll(_ bytes: [UInt8], at offset: Int) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd.rawValue, $0.baseAddress! + done, bytes.count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("write slot file", path: path.string, syscall: "pwrite", errno: Errno(rawValue: errno))
            }
            done += n
        }
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
