#if canImport(Glibc)
import Glibc
#endif
import CFuse3
import CSpillway
import CSpillwaySyscalls
import SpillwayCore

/// Moving a main-disk file into the spill area, whole and crash-safely, and re-pointing every
/// open handle of it at once (docs/FUSE.md, "Moves"). The protocol is the preload library's
/// and the supervisor's (spillway_slot.h): temporary `.spillway-move.*` beside the
/// destination, intent record `.spillway-intent.*`, origin xattr, flock on the source.
extension UnionFilesystem {
    /// Moves the main-disk file at `path` to the spill area (only its metadata when not
    /// `keepData`) and re-points every handle the union has open of it. Returns 0 when the file
    /// is in the spill area afterwards (moved now, or already), or `-errno`.
    func moveToSpill(_ path: UnionPath, keepData: Bool) -> Int32 {
        let src = main.openRegular(path.relative, O_RDONLY | O_NONBLOCK)
        if src < 0 { return src == -ENOENT && spill.lookup(path.relative) != nil ? 0 : src }
        defer { close(src) }
        var before = stat()
        guard fstat(src, &before) == 0 else { return -errno }
        guard (before.st_mode & S_IFMT) == S_IFREG else { return -EISDIR }
        let file = table.pin(FileKey(before), branch: .main)
        defer { table.unpin(file) }
        file.lockExclusive()
        defer { file.unlock() }
        if file.branch == .spill { return 0 }
        // Movers of every process serialise on the source (the preload library and the drain).
        while spw_flock(src, LOCK_EX) != 0 {
            if errno != EINTR { return -errno }
        }
        guard fstat(src, &before) == 0 else { return -errno }
        if before.st_nlink == 0 { return -ESTALE }
        let made = ensureParents(in: .spill, for: path)
        if made < 0 { return made }
        let spillDir = spill.parent(of: path, readable: true)
        if spillDir < 0 { return spillDir }
        defer { close(spillDir) }
        let mainDir = main.parent(of: path, readable: true)
        if mainDir < 0 { return mainDir }
        defer { close(mainDir) }

        let serial = moveCounter.add(1, ordering: .relaxed).newValue
        let suffix = "fuse.\(getpid()).\(serial)"
        let temp = SPILLWAY_MOVE_TEMP_PREFIX + suffix
        let intent = SPILLWAY_MOVE_INTENT_PREFIX + suffix
        var tempNamed = false, intentNamed = false
        defer {
            if tempNamed { unlinkat(spillDir, temp, 0) }
            if intentNamed { unlinkat(spillDir, intent, 0) }
        }
        let tmp = Branch.open(at: spillDir, temp, O_RDWR | O_CREAT | O_EXCL, 0o600)
        if tmp < 0 { return tmp }
        tempNamed = true
        defer { close(tmp) }
        if keepData && before.st_size > 0 {
            if spillway_copy_data(src, tmp, UInt64(before.st_size), UInt64(max(0, before.st_blocks)) * 512, nil) != 0 { return -errno }
        } else if !keepData {
            // O_TRUNC: the open would discard every byte; only the metadata moves.
        }
        // Owner before mode (chown clears set-ID bits), xattrs, origin, then times last.
        fchown(tmp, before.st_uid, before.st_gid)
        if fchmod(tmp, before.st_mode & 0o7777) != 0 { return -errno }
        if spillway_copy_xattrs(src, tmp, SPILLWAY_ORIGIN_XATTR) != 0 && errno != ENOTSUP { return -errno }
        let origin = "\(before.st_dev):\(before.st_ino)"
        _ = origin.withCString { fsetxattr(tmp, SPILLWAY_ORIGIN_XATTR, $0, strlen($0), 0) }
        var times = [before.st_atim, before.st_mtim]
        futimens(tmp, &times)
        if Glibc.fsync(tmp) != 0 { return -errno }
        // The intent record, so a crash between the rename and the unlink is recovered.
        let record = "\(SPILLWAY_MOVE_INTENT_MAGIC)\nto-spill\n\(path.relative)\n\(before.st_ino) \(before.st_size) \(UInt64(before.st_mtim.tv_sec) * 1_000_000_000 + UInt64(before.st_mtim.tv_nsec))\n"
        let intentFD = Branch.open(at: spillDir, intent, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        if intentFD < 0 { return intentFD }
        intentNamed = true
        let wrote = record.withCString { Glibc.write(intentFD, $0, strlen($0)) }
        let synced = Glibc.fsync(intentFD)
        close(intentFD)
        if wrote < 0 || synced != 0 { return -EIO }
        Glibc.fsync(spillDir)
        if spillway_renameat2(spillDir, temp, spillDir, path.name, UInt32(RENAME_NOREPLACE)) != 0 { return -errno }
        tempNamed = false
        Glibc.fsync(spillDir)

        // Every handle follows, before the main-disk name goes: each gets a description of the
        // very file moved (not of whatever the spill-area name holds by now).
        for handle in table.handles(of: file) {
            let fresh = Branch.reopen(tmp, handle.flags)
            if fresh < 0 { continue }
            if handle.writable { _ = placeWriterMark(fresh, draining: false) }
            spw_dup3(fresh, handle.fd, O_CLOEXEC)
            close(fresh)
        }
        var moved = stat()
        if fstat(tmp, &moved) == 0 { table.rekey(file, to: FileKey(moved)) }
        file.branch = .spill

        var named = stat()
        if fstatat(mainDir, path.name, &named, AT_SYMLINK_NOFOLLOW) == 0,
           named.st_dev == before.st_dev, named.st_ino == before.st_ino {
            unlinkat(mainDir, path.name, 0)
            Glibc.fsync(mainDir)
        }
        return 0
    }

    /// Places the writer mark of spillway_slot.h on `fd`, a description open for writing a
    /// spill-area file, so the drain leaves the file alone while it is open. While `draining`
    /// the mark is placed under flock(LOCK_SH) and the file's link count checked: 0 means the
    /// drain moved it first. Returns false in that case.
    func placeWriterMark(_ fd: Int32, draining: Bool) -> Bool {
        if draining {
            while spw_flock(fd, LOCK_SH) != 0 && errno == EINTR {}
        }
        defer { if draining { _ = spw_flock(fd, LOCK_UN) } }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_len = 1
        for _ in 0..<64 {
            let byte = Int64(writerMarks.add(1, ordering: .relaxed).newValue % UInt64(SPILLWAY_WRITER_MARK_SPAN))
            lock.l_start = off_t(SPILLWAY_WRITER_MARK_OFFSET + byte)
            if spw_fcntl_lock(fd, Int32(SPILLWAY_F_OFD_SETLK), &lock) == 0 { break }
            if errno != EAGAIN && errno != EACCES { break }
        }
        if draining {
            var st = stat()
            if fstat(fd, &st) == 0 && st.st_nlink == 0 { return false }
        }
        return true
    }

    /// Moves the file behind `handle` to the spill area because it is about to be written while
    /// `spilling` or a write on the main disk ran out of space. `path` is its current name in
    /// the union (nil when it was unlinked: such a file cannot move). Returns 0 or `-errno`.
    func moveOpenFile(_ handle: UnionHandle, path: UnsafePointer<CChar>?, keepData: Bool) -> Int32 {
        guard let path else { return -ENOENT }
        let rc = moveToSpill(UnionPath(cString: path), keepData: keepData)
        if rc < 0 { return rc }
        return handle.file.branch == .spill ? 0 : -ESTALE
    }
}
