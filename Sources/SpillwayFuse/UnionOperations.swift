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
                cfg.pointee.hard_remove = 1
                cfg.pointee.nullpath_ok = 0
                cfg.pointee.entry_timeout = 1
                cfg.pointee.attr_timeout = 1
                cfg.pointee.negative_timeout = 1
            }
            return fuse_get_context().pointee.private_data
        }
        ops.getattr = { path, st, fi in servedUnion.getattr(path!, st!, fi: fi) }
        ops.readlink = { path, buffer, size in servedUnion.readlink(path!, buffer!, size) }
        ops.mknod = { path, mode, rdev in servedUnion.mknod(UnionPath(cString: path!), mode, rdev) }
        ops.mkdir = { path, mode in servedUnion.mkdir(UnionPath(cString: path!), mode) }
        ops.unlink = { path in
            let key = UnionOperations.otherNamesKey(path)
            let rc = servedUnion.unlink(UnionPath(cString: path!))
            if rc == 0, let key {
                // Its other names have one link fewer.
                let name = String(cString: path!)
                servedUnion.linked.forget(name)
                UnionOperations.invalidate(servedUnion.linked.others(of: key, except: name))
            }
            return rc
        }
        ops.rmdir = { path in servedUnion.rmdir(UnionPath(cString: path!)) }
        ops.symlink = { target, path in servedUnion.symlink(String(cString: target!), UnionPath(cString: path!)) }
        ops.rename = { from, to, flags in
            let replaced = UnionOperations.otherNamesKey(to)
            let rc = servedUnion.rename(UnionPath(cString: from!), UnionPath(cString: to!), flags: flags)
            if rc == 0 && !servedUnion.linked.isEmpty {
                let source = String(cString: from!), target = String(cString: to!)
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
        ops.link = { from, to in
            let rc = servedUnion.link(UnionPath(cString: from!), UnionPath(cString: to!))
            // libfuse gives each name its own kernel inode: every other name's cached link
            // count is stale now, and a later change through one must reach the others.
            if rc == 0 {
                var st = stat()
                if servedUnion.locate(to! + 1, &st).0 != nil {
                    let source = String(cString: from!), target = String(cString: to!)
                    servedUnion.linked.note(source, FileKey(st))
                    servedUnion.linked.note(target, FileKey(st))
                    UnionOperations.invalidate(servedUnion.linked.others(of: FileKey(st), except: target))
                } else if let fuse = servedFuse {
                    fuse_invalidate_path(fuse, from!)
                }
            }
            return rc
        }
        ops.chmod = { path, mode, fi in UnionOperations.changedAttributes(path, servedUnion.chmod(path, mode, fi: fi)) }
        ops.chown = { path, uid, gid, fi in UnionOperations.changedAttributes(path, servedUnion.chown(path, uid, gid, fi: fi)) }
        ops.truncate = { path, size, fi in UnionOperations.changedAttributes(path, servedUnion.truncate(path, size: size, fi: fi)) }
        ops.open = { path, fi in servedUnion.open(UnionPath(cString: path!), flags: fi!.pointee.flags, fi: fi!) }
        ops.create = { path, mode, fi in servedUnion.create(UnionPath(cString: path!), mode: mode, fi: fi!) }
        ops.read = { _, buffer, size, offset, fi in servedUnion.read(buffer!, size: size, offset: offset, fi: fi!) }
        ops.read_buf = { _, bufp, size, offset, fi in servedUnion.readBuf(bufp!, size: size, offset: offset, fi: fi!) }
        ops.write = { path, buffer, size, offset, fi in
            servedUnion.write(path, buffer!, size: size, offset: offset, fi: fi!)
        }
        ops.statfs = { path, out in servedUnion.statfs(path!, out!) }
        ops.flush = { path, fi in
            UnionOperations.changedData(path, fi!)
            return 0
        }
        ops.release = { path, fi in
            UnionOperations.changedData(path, fi!)
            return servedUnion.release(fi!)
        }
        ops.fsync = { path, datasync, fi in
            let rc = servedUnion.fsync(datasync, fi: fi!)
            UnionOperations.changedData(path, fi!)
            return rc
        }
        ops.setxattr = { path, name, value, size, flags in
            let rc = servedUnion.setxattr(path!, name!, value, size, flags)
            // An ACL can change the mode the kernel has cached (cp -p sets it that way).
            if rc == 0, let fuse = servedFuse { fuse_invalidate_path(fuse, path!) }
            return UnionOperations.changedAttributes(path, rc)
        }
        ops.getxattr = { path, name, value, size in servedUnion.getxattr(path!, name!, value, size) }
        ops.listxattr = { path, list, size in servedUnion.listxattr(path!, list, size) }
        ops.removexattr = { path, name in
            let rc = servedUnion.removexattr(path!, name!)
            if rc == 0, let fuse = servedFuse { fuse_invalidate_path(fuse, path!) }
            return UnionOperations.changedAttributes(path, rc)
        }
        ops.opendir = { _, _ in 0 }
        ops.readdir = { path, buffer, fill, _, _, _ in servedUnion.readdir(path!, buffer, fill!) }
        ops.releasedir = { _, _ in 0 }
        ops.access = { path, mask in servedUnion.access(path!, mask) }
        ops.utimens = { path, times, fi in UnionOperations.changedAttributes(path, servedUnion.utimens(path, times, fi: fi)) }
        ops.fallocate = { path, mode, offset, length, fi in
            servedUnion.fallocate(path, mode: mode, offset: offset, length: length, fi: fi!)
        }
        ops.copy_file_range = { pathIn, fiIn, offIn, pathOut, fiOut, offOut, length, flags in
            servedUnion.copyFileRange(pathIn, fiIn!, offIn, pathOut, fiOut!, offOut, length, flags)
        }
        ops.lseek = { _, offset, whence, fi in servedUnion.lseek(offset, whence: whence, fi: fi!) }
        return ops
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
        if rc == 0, let key = otherNamesKey(path) { invalidate(servedUnion.linked.others(of: key, except: String(cString: path!))) }
        return rc
    }

    /// At flush, fsync or release of a handle that changed data: the file's other names show it.
    /// Not done in write itself, where the kernel holds the written pages locked: two writers
    /// through two names would each wait for the other's pages.
    @inline(__always)
    static func changedData(_ path: UnsafePointer<CChar>?, _ fi: UnsafeMutablePointer<fuse_file_info>) {
        guard fi.pointee.fh != 0, let path else { return }
        let fd: Int32? = UnionHandle.borrow(fi.pointee.fh) { $0.changed.exchange(false, ordering: .relaxed) ? $0.fd : nil }
        guard let fd else { return }
        var st = stat()
        if fstat(fd, &st) == 0 { invalidate(servedUnion.linked.others(of: FileKey(st), except: String(cString: path))) }
    }
}
