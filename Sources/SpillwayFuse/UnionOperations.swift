#if canImport(Glibc)
import Glibc
#endif
import CFuse3
import SpillwayCore
import CSpillwaySyscalls
import Synchronization

/// The union being served; libfuse's C callbacks cannot capture, so they reach it here. Set
/// once before the session starts and never changed while it runs.
nonisolated(unsafe) var servedUnion: UnionFilesystem!

/// libfuse's handle of the mounted session, for invalidating the kernel's caches.
nonisolated(unsafe) var servedFuse: OpaquePointer?

/// libfuse's operations table for ``servedUnion``: each entry unpacks libfuse's arguments and
/// calls the union's method of the same name (passthrough.c's shape; `return -errno`).
enum UnionOperations {
    /// Size of the largest write and read the kernel is asked to send in one request.
    static let maxIO: UInt32 = 1 << 20

    static func make() -> fuse_operations {
        var ops = fuse_operations()
        ops.`init` = { conn, cfg in
            if let conn {
                let wanted = UInt32(FUSE_CAP_SPLICE_WRITE | FUSE_CAP_SPLICE_MOVE | FUSE_CAP_PARALLEL_DIROPS
                    | FUSE_CAP_ASYNC_DIO | FUSE_CAP_CACHE_SYMLINKS)
                conn.pointee.want |= conn.pointee.capable & wanted
                // Writes are written through so an out-of-space error reaches the write that caused it.
                conn.pointee.want &= ~UInt32(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_SPLICE_READ)
                conn.pointee.max_write = UnionOperations.maxIO
                conn.pointee.max_readahead = UnionOperations.maxIO
            }
            if let cfg {
                cfg.pointee.use_ino = 1
                cfg.pointee.readdir_ino = 0
                // A file unlinked (or replaced by a rename) while open keeps a name, libfuse's
                // `.fuse_hidden…`, until its last close: with hard_remove libfuse forgets the
                // node at once, so fstat of the descriptor (a GETATTR without a handle) could only
                // get ESTALE and every path-based call on it (fchmod, fchown, futimens) fail.
                // The union keeps those names at the top of their branch and out of listings
                // (``UnionOperations/UnionOperations.served(_:)``, docs/FUSE.md "Files unlinked while open").
                cfg.pointee.hard_remove = 0
                cfg.pointee.nullpath_ok = 0
                cfg.pointee.entry_timeout = 1
                cfg.pointee.attr_timeout = 1
                cfg.pointee.negative_timeout = 1
            }
            return fuse_get_context().pointee.private_data
        }
        // Every entry takes whatever libfuse hands it: a NULL path (a node whose name is gone)
        // is ESTALE, libfuse's own answer for it; a missing file handle is EBADF.
        ops.getattr = { path, st, fi in
            guard let st else { return -EFAULT }
            let rc = servedUnion.getattr(UnionOperations.served(path), original: path, st, fi: fi)
            if rc == 0 && UnionOperations.endSetattr(path) && st.pointee.st_nlink > 0 { st.pointee.st_nlink -= 1 }
            return rc
        }
        ops.readlink = { path, buffer, size in
            guard let path = UnionOperations.served(path) else { return -ESTALE }
            guard let buffer, size > 0 else { return -EINVAL }
            return servedUnion.readlink(path, buffer, size)
        }
        ops.mknod = { path, mode, rdev in
            guard let path = UnionOperations.served(path) else { return -ESTALE }
            return servedUnion.mknod(UnionPath(cString: path), mode, rdev)
        }
        ops.mkdir = { path, mode in
            guard let path = UnionOperations.served(path) else { return -ESTALE }
            return servedUnion.mkdir(UnionPath(cString: path), mode)
        }
        ops.unlink = { original in
            guard let original, let path = UnionOperations.served(original) else { return -ESTALE }
            let key = UnionOperations.otherNamesKey(path)
            let rc = servedUnion.unlink(UnionPath(cString: path))
            if rc == 0, let key {
                // Its other names have one link fewer.
                let name = String(cString: original)
                servedUnion.linked.forget(name)
                UnionOperations.invalidate(servedUnion.linked.others(of: key, except: name))
            }
            return rc
        }
        ops.rmdir = { path in
            guard let path = UnionOperations.served(path) else { return -ESTALE }
            return servedUnion.rmdir(UnionPath(cString: path))
        }
        ops.symlink = { target, path in
            guard let path = UnionOperations.served(path) else { return -ESTALE }
            guard let target else { return -EFAULT }
            return servedUnion.symlink(String(cString: target), UnionPath(cString: path))
        }
        ops.rename = { originalFrom, originalTo, flags in
            guard let originalFrom, let originalTo, let from = UnionOperations.served(originalFrom), let to = UnionOperations.served(originalTo) else { return -ESTALE }
            let replaced = UnionOperations.otherNamesKey(to)
            let rc = servedUnion.rename(UnionPath(cString: from), UnionPath(cString: to), flags: flags)
            if rc == 0 && !servedUnion.linked.isEmpty {
                let source = String(cString: originalFrom), target = String(cString: originalTo)
                if flags & UInt32(RENAME_EXCHANGE) != 0 {
                    // Noted again at their next getattr (the kernel drops both inodes' attributes).
                    servedUnion.linked.renamed(source, to: nil)
                    servedUnion.linked.renamed(target, to: nil)
                } else {
                    servedUnion.linked.renamed(source, to: target)
                    // A replaced file's other names have one link fewer.
                    if let replaced { UnionOperations.invalidate(servedUnion.linked.others(of: replaced, except: target)) }
                }
            }
            return rc
        }
        ops.link = { originalFrom, originalTo in
            guard let originalFrom, let originalTo, let from = UnionOperations.served(originalFrom), let to = UnionOperations.served(originalTo) else { return -ESTALE }
            let rc = servedUnion.link(UnionPath(cString: from), UnionPath(cString: to))
            // libfuse gives each name its own kernel inode: every other name's cached link
            // count is stale now, and a later change through one must reach the others.
            if rc == 0 {
                var st = stat()
                if servedUnion.locate(to + 1, &st).0 != nil {
                    let source = String(cString: originalFrom), target = String(cString: originalTo)
                    servedUnion.linked.note(source, FileKey(st))
                    servedUnion.linked.note(target, FileKey(st))
                    UnionOperations.invalidate(servedUnion.linked.others(of: FileKey(st), except: target))
                } else if let fuse = servedFuse {
                    fuse_invalidate_path(fuse, originalFrom)
                }
            }
            return rc
        }
        ops.chmod = { path, mode, fi in
            UnionOperations.setattr(path, UnionOperations.changedAttributes(path, servedUnion.chmod(UnionOperations.served(path), mode, fi: fi)))
        }
        ops.chown = { path, uid, gid, fi in
            UnionOperations.setattr(path, UnionOperations.changedAttributes(path, servedUnion.chown(UnionOperations.served(path), uid, gid, fi: fi)))
        }
        ops.truncate = { path, size, fi in
            UnionOperations.setattr(path, UnionOperations.changedAttributes(path, servedUnion.truncate(UnionOperations.served(path), size: size, fi: fi)))
        }
        ops.open = { path, fi in
            guard let path = UnionOperations.served(path) else { return -ESTALE }
            guard let fi else { return -EIO }
            return servedUnion.open(UnionPath(cString: path), flags: fi.pointee.flags, fi: fi)
        }
        ops.create = { path, mode, fi in
            guard let path = UnionOperations.served(path) else { return -ESTALE }
            guard let fi else { return -EIO }
            return servedUnion.create(UnionPath(cString: path), mode: mode, fi: fi)
        }
        ops.read = { _, buffer, size, offset, fi in
            guard let buffer, let fi else { return -EBADF }
            return servedUnion.read(buffer, size: size, offset: offset, fi: fi)
        }
        ops.read_buf = { _, bufp, size, offset, fi in
            guard let bufp, let fi else { return -EBADF }
            return servedUnion.readBuf(bufp, size: size, offset: offset, fi: fi)
        }
        ops.write = { path, buffer, size, offset, fi in
            guard let buffer, let fi else { return -EBADF }
            return servedUnion.write(UnionOperations.served(path), buffer, size: size, offset: offset, fi: fi)
        }
        ops.statfs = { path, out in
            guard let out else { return -EFAULT }
            return servedUnion.statfs(UnionOperations.served(path), out)
        }
        ops.flush = { path, fi in
            if let fi { UnionOperations.changedData(path, fi) }
            return 0
        }
        ops.release = { path, fi in
            guard let fi else { return 0 }
            UnionOperations.changedData(path, fi)
            return servedUnion.release(fi, named: path != nil)
        }
        ops.fsync = { path, datasync, fi in
            guard let fi else { return -EBADF }
            let rc = servedUnion.fsync(datasync, fi: fi)
            UnionOperations.changedData(path, fi)
            return rc
        }
        ops.setxattr = { original, name, value, size, flags in
            guard let original, let path = UnionOperations.served(original) else { return -ESTALE }
            guard let name else { return -EFAULT }
            let rc = servedUnion.setxattr(path, name, value, size, flags)
            // An ACL can change the mode the kernel has cached (cp -p sets it that way).
            if rc == 0, let fuse = servedFuse { fuse_invalidate_path(fuse, original) }
            return UnionOperations.changedAttributes(original, rc)
        }
        ops.getxattr = { path, name, value, size in
            guard let path = UnionOperations.served(path) else { return -ESTALE }
            guard let name else { return -EFAULT }
            return servedUnion.getxattr(path, name, value, size)
        }
        ops.listxattr = { path, list, size in
            guard let path = UnionOperations.served(path) else { return -ESTALE }
            return servedUnion.listxattr(path, list, size)
        }
        ops.removexattr = { original, name in
            guard let original, let path = UnionOperations.served(original) else { return -ESTALE }
            guard let name else { return -EFAULT }
            let rc = servedUnion.removexattr(path, name)
            if rc == 0, let fuse = servedFuse { fuse_invalidate_path(fuse, original) }
            return UnionOperations.changedAttributes(original, rc)
        }
        ops.opendir = { _, _ in 0 }
        ops.readdir = { path, buffer, fill, _, _, _ in
            guard let path = UnionOperations.served(path) else { return -ESTALE }
            guard let fill else { return -EIO }
            return servedUnion.readdir(path, buffer, fill)
        }
        ops.releasedir = { _, _ in 0 }
        ops.access = { path, mask in
            guard let path = UnionOperations.served(path) else { return -ESTALE }
            return servedUnion.access(path, mask)
        }
        ops.utimens = { path, times, fi in
            UnionOperations.setattr(path, UnionOperations.changedAttributes(path, servedUnion.utimens(UnionOperations.served(path), times, fi: fi)))
        }
        ops.fallocate = { path, mode, offset, length, fi in
            guard let fi else { return -EBADF }
            return servedUnion.fallocate(UnionOperations.served(path), mode: mode, offset: offset, length: length, fi: fi)
        }
        ops.copy_file_range = { pathIn, fiIn, offIn, pathOut, fiOut, offOut, length, flags in
            guard let fiIn, let fiOut else { return -Int(EBADF) }
            return servedUnion.copyFileRange(UnionOperations.served(pathIn), fiIn, offIn, UnionOperations.served(pathOut), fiOut, offOut, length, flags)
        }
        ops.lseek = { _, offset, whence, fi in
            guard let fi else { return off_t(-EBADF) }
            return servedUnion.lseek(offset, whence: whence, fi: fi)
        }
        return ops
    }

    /// The branch path for libfuse's `path`: itself, except that a file libfuse has hidden
    /// because it was unlinked or replaced while open (`/dir/.fuse_hidden…`) is kept at the top
    /// of its branch (`/.fuse_hidden…`, the same bytes from the last slash on, no copy). So a
    /// directory that held it can be removed as on ext4, where the open file has no name, and
    /// the leftovers of a server that crashed are all in two known places
    /// (``UnionFilesystem/removeLeftoverOpenUnlinkedFiles()``).
    @inline(__always)
    static func served(_ path: UnsafePointer<CChar>?) -> UnsafePointer<CChar>? {
        guard let path, let slash = strrchr(path, 0x2F) else { return path }
        return UnionPolicy.isOpenUnlinked(slash + 1) ? UnsafePointer(slash) : path
    }

    // MARK: - Link counts of files libfuse hid

    /// The threads serving a setattr request (chmod, chown, truncate, utimens) that changed a
    /// file libfuse hid (``served(_:)``), until the getattr libfuse makes for its reply.
    ///
    /// libfuse reports a hidden file's `st_nlink` one lower in a GETATTR reply (its last name
    /// is libfuse's own, not the container's), but not in the attributes it replies to a
    /// SETATTR with, which the kernel caches for the attribute timeout: `fchmod` then `fstat`
    /// of an unlinked file would show one link. The union lowers it there itself.
    static let hiddenSetattrs = Mutex<Set<UInt>>([])
    static let hiddenSetattrCount = Atomic<Int>(0)

    /// After a setattr operation on `path` that returned `rc`: whether libfuse's getattr for the
    /// reply, on this thread, must lower the link count (a success on a hidden file) or not.
    @inline(__always)
    static func setattr(_ path: UnsafePointer<CChar>?, _ rc: Int32) -> Int32 {
        let hidden = rc == 0 && path != nil && served(path) != path
        if !hidden && hiddenSetattrCount.load(ordering: .relaxed) == 0 { return rc }
        let me = UInt(pthread_self())
        hiddenSetattrs.withLock { threads in
            if hidden { threads.insert(me) } else { threads.remove(me) }
            hiddenSetattrCount.store(threads.count, ordering: .relaxed)
        }
        return rc
    }

    /// At a getattr of `path`: whether it is the reply of a setattr on a hidden file
    /// (``setattr(_:_:)``), which ends the mark.
    @inline(__always)
    static func endSetattr(_ path: UnsafePointer<CChar>?) -> Bool {
        if hiddenSetattrCount.load(ordering: .relaxed) == 0 { return false }
        let me = UInt(pthread_self())
        return hiddenSetattrs.withLock { threads in
            let marked = threads.remove(me) != nil
            hiddenSetattrCount.store(threads.count, ordering: .relaxed)
            return marked && path != nil && served(path) != path
        }
    }

    // MARK: - The other names of hard-linked files (LinkedNames)

    /// The identity of the file at `path` when hard-linked names are known, else nil (one
    /// atomic load).
    @inline(__always)
    static func otherNamesKey(_ path: UnsafePointer<CChar>?) -> FileKey? {
        guard let path, !servedUnion.linked.isEmpty else { return nil }
        var st = stat()
        guard servedUnion.locate(path + 1, &st).0 != nil, (st.st_mode & S_IFMT) != S_IFDIR else { return nil }
        return FileKey(st)
    }

    /// Drops the kernel's cached attributes and pages of each of `names`.
    static func invalidate(_ names: [String]) {
        guard let fuse = servedFuse else { return }
        for name in names { _ = fuse_invalidate_path(fuse, name) }
    }

    /// After an attribute change at `path` that returned `rc`: the file's other names show it
    /// at once. Done before the reply: the kernel holds only this name's inode meanwhile.
    @inline(__always)
    static func changedAttributes(_ path: UnsafePointer<CChar>?, _ rc: Int32) -> Int32 {
        if rc == 0, let path, let key = otherNamesKey(served(path)) { invalidate(servedUnion.linked.others(of: key, except: String(cString: path))) }
        return rc
    }

    /// At flush, fsync or release of a handle that changed data: the file's other names show it.
    /// Not done in write itself, where the kernel holds the written pages locked: two writers
    /// through two names would each wait for the other's pages.
    @inline(__always)
    static func changedData(_ path: UnsafePointer<CChar>?, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        guard fi.pointee.fh != 0, let path else { return }
        let fd: Int32?? = UnionHandle.borrow(fi.pointee.fh) { $0.changed.exchange(false, ordering: .relaxed) ? $0.fd : nil }
        guard let fd = fd ?? nil else { return }
        var st = stat()
        if fstat(fd, &st) == 0 { invalidate(servedUnion.linked.others(of: FileKey(st), except: String(cString: path))) }
    }
}
