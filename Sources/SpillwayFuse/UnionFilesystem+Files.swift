#if canImport(Glibc)
import Glibc
#endif
import CSpillway
import CFuse3
import SpillwayCore

/// Opening, creating, reading and writing files (open, create, read_buf, write, truncate,
/// fallocate, copy_file_range, lseek, flush, release, fsync).
extension UnionFilesystem {
    /// Whether `flags` may change the file (write access or O_TRUNC).
    @inline(__always)
    static func writes(_ flags: Int32) -> Bool {
        (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) != 0
    }

    /// Opens the existing file `path` with `flags`: a main-disk file about to be written while
    /// `spilling` moves to the spill area first. Fills `fi.fh` with a registered handle.
    func open(_ path: UnionPath, flags: Int32, fi: UnsafeMutablePointer<fuse_file_info>) -> Int32 {
        let writing = Self.writes(flags)
        let state = writing ? slot.state : .normal
        for _ in 0..<8 {
            var st = stat()
            let (found, err) = path.relative.withCString { locate($0, &st) }
            guard let kind = found else { return err }
            if writing && UnionPolicy.mustMoveBeforeWriting(state: state, branch: kind) && (st.st_mode & S_IFMT) == S_IFREG {
                let rc = moveToSpill(path, keepData: (flags & O_TRUNC) == 0)
                if rc < 0 && rc != -ESTALE { return rc }
                continue
            }
            let fd = branch(kind).openRegular(path.relative, flags)
            if fd < 0 { return fd }
            if register(fd: fd, flags: flags, kind: kind, state: state, fi: fi) { return 0 }
        }
        return -EAGAIN
    }

    /// Registers a freshly opened descriptor as a handle in `fi`; false (and closed) when the
    /// file moved away while it was being opened, so the caller opens the name again.
    func register(fd: Int32, flags: Int32, kind: BranchKind, state: SlotState, fi: UnsafeMutablePointer<fuse_file_info>) -> Bool {
        let handle = UnionHandle(fd: fd, flags: flags)
        if kind == .spill && handle.writable && !placeWriterMark(fd, draining: state == .draining) {
            close(fd)
            return false
        }
        var st = stat()
        fstat(fd, &st)
        table.register(handle, key: FileKey(st), branch: kind)
        // A move that finished between our open and the registration unlinked what we opened.
        handle.file.lockShared()
        let gone = fstat(fd, &st) == 0 && st.st_nlink == 0
        handle.file.unlock()
        if gone {
            table.unregister(handle)
            close(fd)
            return false
        }
        fi.pointee.fh = handle.retainedBits()
        // Kernel page cache across opens is right while this is the file's only name (another
        // name would be another FUSE inode with its own cache).
        spw_fi_set_keep_cache(fi, st.st_nlink == 1 ? 1 : 0)
        // Nothing is done at close then (no FLUSH round trip); a file with other names keeps its
        // flush, where a change through this handle is shown through the other names.
        spw_fi_set_noflush(fi, st.st_nlink == 1 ? 1 : 0)
        return true
    }

    /// create: a new regular file where new names go now, or an open of an existing one.
    func create(_ path: UnionPath, mode: mode_t, fi: UnsafeMutablePointer<fuse_file_info>) -> Int32 {
        let flags = fi.pointee.flags
        var made: (fd: Int32, kind: BranchKind) = (-1, .main)
        let rc = create(path) { parent, kind in
            let fd = Branch.open(at: parent, path.name, (flags | O_CREAT | O_EXCL) & ~O_TRUNC, mode)
            if fd < 0 { return fd }
            made = (fd, kind)
            return 0
        }
        if rc == -EEXIST && (flags & O_EXCL) == 0 { return open(path, flags: flags & ~O_CREAT, fi: fi) }
        if rc < 0 { return rc }
        if !register(fd: made.fd, flags: flags, kind: made.kind, state: slot.state, fi: fi) { return -EAGAIN }
        return 0
    }

    /// Ends the handle in `fi`. `named` is whether libfuse still has a path for the file: when
    /// not (it was unlinked while open and then its directory removed), libfuse cannot remove
    /// the name it kept for it, so the last handle does (``removeOpenUnlinkedName(of:in:)``).
    func release(_ fi: UnsafeMutablePointer<fuse_file_info>, named: Bool) -> Int32 {
        guard let handle = UnionHandle.take(fi.pointee.fh) else { return 0 }
        fi.pointee.fh = 0
        let last = table.unregister(handle)
        if !named && last, let file = handle.file { removeOpenUnlinkedName(of: handle.fd, in: file.branch) }
        close(handle.fd)
        return 0
    }

    @inline(__always)
    func readBuf(_ bufp: UnsafeMutablePointer<UnsafeMutablePointer<fuse_bufvec>?>, size: Int, offset: off_t,
                 fi: UnsafeMutablePointer<fuse_file_info>) -> Int32 {
        guard let fd = UnionHandle.borrow(fi.pointee.fh, { $0.fd }) else { return -EBADF }
        return spw_read_buf_fd(bufp, fd, size, offset)
    }

    @inline(__always)
    func read(_ buffer: UnsafeMutablePointer<CChar>, size: Int, offset: off_t, fi: UnsafeMutablePointer<fuse_file_info>) -> Int32 {
        guard let fd = UnionHandle.borrow(fi.pointee.fh, { $0.fd }) else { return -EBADF }
        let n = pread(fd, buffer, size, offset)
        return n >= 0 ? Int32(n) : -errno
    }

    /// Runs `change` (a write-like call on the handle's descriptor, returning `-errno` on
    /// failure) under the file's shared lock, moving the file first while `spilling` and
    /// retrying once in the spill area when the main disk is out of space.
    @inline(__always)
    func changing(_ fi: UnsafeMutablePointer<fuse_file_info>, path: UnsafePointer<CChar>?, keepData: Bool = true,
                  _ change: (Int32) -> Int) -> Int {
        UnionHandle.borrow(fi.pointee.fh) { handle in
            let file = handle.file!
            if file.branch == .main && slot.state == .spilling {
                let rc = moveOpenFile(handle, path: path, keepData: keepData)
                if rc < 0 && rc != -ENOENT { return Int(rc) }
                if rc >= 0 { chargeMovedFile(handle.fd) }
            }
            var rescued = false
            while true {
                file.lockShared()
                let result = change(handle.fd)
                file.unlock()
                if result >= 0 && !linked.isEmpty { handle.changed.store(true, ordering: .relaxed) }
                if result >= 0 || rescued || file.branch != .main || !UnionPolicy.isOutOfSpace(Int32(-result)) { return result }
                rescued = true
                slot.noteRescue()
                if moveOpenFile(handle, path: path, keepData: true) < 0 { return result }
                chargeMovedFile(handle.fd)
            }
        } ?? -Int(EBADF)
    }

    func write(_ path: UnsafePointer<CChar>?, _ buffer: UnsafePointer<CChar>, size: Int, offset: off_t,
               fi: UnsafeMutablePointer<fuse_file_info>) -> Int32 {
        var done = 0
        while done < size {
            let n = changing(fi, path: path) { fd in
                let at = offset + off_t(done)
                guard let (length, granted, size) = claimSpillRoom(fd, at: at, length: size - done) else { return -Int(ENOSPC) }
                let n = pwrite(fd, buffer + done, length, at)
                settleSpillRoom(granted: granted, at: at, size: size, written: n)
                return n >= 0 ? n : -Int(errno)
            }
            if n == -Int(EINTR) { continue }
            if n < 0 { return done > 0 ? Int32(done) : Int32(n) }
            if n == 0 { break }
            done += n
        }
        return Int32(done)
    }

    /// Before writing `length` bytes at `at` through `fd`: when the slot asks the union to
    /// enforce the spill area's cap and `fd` is a spill-area file, the bytes that would grow
    /// it past the room left are cut off (``SlotWatch/takeSpillRoom(_:)``). Returns the length
    /// to write, the growth granted and the file's size, or `nil` when nothing may be written
    /// (`ENOSPC`).
    func claimSpillRoom(_ fd: Int32, at: off_t, length: Int) -> (length: Int, granted: UInt64, size: off_t)? {
        // One read of the slot when the kernel enforces the cap; the stat calls only when not.
        guard length > 0, slot.takeSpillRoom(0) != nil else { return (length, 0, 0) }
        var st = stat()
        var area = stat()
        guard fstat(fd, &st) == 0, fstat(spill.fd, &area) == 0, st.st_dev == area.st_dev else { return (length, 0, 0) }
        let growth = spillway_cap_growth(UInt64(clamping: at), UInt64(clamping: st.st_size), UInt64(clamping: length))
        guard let granted = slot.takeSpillRoom(growth) else { return (length, 0, st.st_size) }
        if granted == growth { return (length, granted, st.st_size) }
        let cut = Int(growth - granted)
        if cut >= length {
            slot.refundSpillRoom(granted)
            return nil
        }
        return (length - cut, granted, st.st_size)
    }

    /// A file just moved into the spill area counts against the room (a no-op unless the
    /// union enforces the cap).
    func chargeMovedFile(_ fd: Int32) {
        var st = stat()
        if fstat(fd, &st) == 0 { slot.chargeSpillRoom(UInt64(max(0, st.st_blocks)) * 512) }
    }

    /// After the write: gives back the growth granted but not written (`written` < 0: failed).
    func settleSpillRoom(granted: UInt64, at: off_t, size: off_t, written: Int) {
        guard granted > 0 else { return }
        let used = written > 0 ? spillway_cap_growth(UInt64(clamping: at), UInt64(clamping: size), UInt64(clamping: written)) : 0
        if used < granted { slot.refundSpillRoom(granted - used) }
    }

    func truncate(_ path: UnsafePointer<CChar>?, size: off_t, fi: UnsafeMutablePointer<fuse_file_info>?) -> Int32 {
        if let fi {
            return Int32(changing(fi, path: path, keepData: size > 0) { fd in ftruncate(fd, size) == 0 ? 0 : -Int(errno) })
        }
        guard let path else { return -ESTALE }
        let union = UnionPath(cString: path)
        // A truncate by name is an open for writing, a change and a release.
        var info = fuse_file_info()
        let flags = O_WRONLY | (size == 0 ? O_TRUNC : 0)
        info.flags = flags
        let opened = open(union, flags: flags, fi: &info)
        if opened < 0 { return opened }
        let rc = Int32(changing(&info, path: path, keepData: size > 0) { fd in ftruncate(fd, size) == 0 ? 0 : -Int(errno) })
        _ = release(&info, named: true)
        return rc
    }

    func fallocate(_ path: UnsafePointer<CChar>?, mode: Int32, offset: off_t, length: off_t,
                   fi: UnsafeMutablePointer<fuse_file_info>) -> Int32 {
        // Allocation is charged whole or refused; punching or zeroing a range is not charged.
        let allocates = mode & (0x02 | 0x10) == 0 && length > 0  // FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE
        return Int32(changing(fi, path: path) { fd in
            var granted: UInt64 = 0
            var size: off_t = 0
            if allocates {
                guard let claim = claimSpillRoom(fd, at: offset, length: Int(length)) else { return -Int(ENOSPC) }
                (granted, size) = (claim.granted, claim.size)
                if claim.length < Int(length) {
                    slot.refundSpillRoom(granted)
                    return -Int(ENOSPC)
                }
            }
            let rc = spw_fallocate(fd, mode, offset, length) == 0 ? 0 : -Int(errno)
            settleSpillRoom(granted: granted, at: offset, size: size, written: rc == 0 ? Int(length) : -1)
            return rc
        })
    }

    func copyFileRange(_ pathIn: UnsafePointer<CChar>?, _ fiIn: UnsafeMutablePointer<fuse_file_info>, _ offIn: off_t,
                       _ pathOut: UnsafePointer<CChar>?, _ fiOut: UnsafeMutablePointer<fuse_file_info>, _ offOut: off_t,
                       _ length: Int, _ flags: Int32) -> Int {
        guard let input = UnionHandle.borrow(fiIn.pointee.fh, { $0.fd }) else { return -Int(EBADF) }
        return changing(fiOut, path: pathOut) { out in
            guard let (allowed, granted, size) = claimSpillRoom(out, at: offOut, length: length) else { return -Int(ENOSPC) }
            var a = offIn, b = offOut
            let n = spw_copy_file_range(input, &a, out, &b, allowed, UInt32(bitPattern: flags))
            settleSpillRoom(granted: granted, at: offOut, size: size, written: n)
            return n >= 0 ? n : -Int(errno)
        }
    }

    func lseek(_ offset: off_t, whence: Int32, fi: UnsafeMutablePointer<fuse_file_info>) -> off_t {
        guard let fd = UnionHandle.borrow(fi.pointee.fh, { $0.fd }) else { return off_t(-EBADF) }
        let at = Glibc.lseek(fd, offset, whence)
        return at >= 0 ? at : off_t(-errno)
    }

    func fsync(_ datasync: Int32, fi: UnsafeMutablePointer<fuse_file_info>) -> Int32 {
        UnionHandle.borrow(fi.pointee.fh) { handle in
            handle.file.lockShared()
            defer { handle.file.unlock() }
            let rc = datasync != 0 ? fdatasync(handle.fd) : Glibc.fsync(handle.fd)
            return rc == 0 ? 0 : -errno
        } ?? -EBADF
    }
}
