#if canImport(Glibc)
import Glibc
#endif
import CFuse3
import SpillwayCore

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
        ops.unlink = { path in servedUnion.unlink(UnionPath(cString: path!)) }
        ops.rmdir = { path in servedUnion.rmdir(UnionPath(cString: path!)) }
        ops.symlink = { target, path in servedUnion.symlink(String(cString: target!), UnionPath(cString: path!)) }
        ops.rename = { from, to, flags in
            servedUnion.rename(UnionPath(cString: from!), UnionPath(cString: to!), flags: flags)
        }
        ops.link = { from, to in
            let rc = servedUnion.link(UnionPath(cString: from!), UnionPath(cString: to!))
            // libfuse gives each name its own kernel inode: the source's cached link count is
            // stale now.
            if rc == 0, let fuse = servedFuse { fuse_invalidate_path(fuse, from!) }
            return rc
        }
        ops.chmod = { path, mode, fi in servedUnion.chmod(path, mode, fi: fi) }
        ops.chown = { path, uid, gid, fi in servedUnion.chown(path, uid, gid, fi: fi) }
        ops.truncate = { path, size, fi in servedUnion.truncate(path, size: size, fi: fi) }
        ops.open = { path, fi in servedUnion.open(UnionPath(cString: path!), flags: fi!.pointee.flags, fi: fi!) }
        ops.create = { path, mode, fi in servedUnion.create(UnionPath(cString: path!), mode: mode, fi: fi!) }
        ops.read = { _, buffer, size, offset, fi in servedUnion.read(buffer!, size: size, offset: offset, fi: fi!) }
        ops.read_buf = { _, bufp, size, offset, fi in servedUnion.readBuf(bufp!, size: size, offset: offset, fi: fi!) }
        ops.write = { path, buffer, size, offset, fi in
            servedUnion.write(path, buffer!, size: size, offset: offset, fi: fi!)
        }
        ops.statfs = { path, out in servedUnion.statfs(path!, out!) }
        ops.flush = { _, _ in 0 }
        ops.release = { _, fi in servedUnion.release(fi!) }
        ops.fsync = { _, datasync, fi in servedUnion.fsync(datasync, fi: fi!) }
        ops.setxattr = { path, name, value, size, flags in
            let rc = servedUnion.setxattr(path!, name!, value, size, flags)
            // An ACL can change the mode the kernel has cached (cp -p sets it that way).
            if rc == 0, let fuse = servedFuse { fuse_invalidate_path(fuse, path!) }
            return rc
        }
        ops.getxattr = { path, name, value, size in servedUnion.getxattr(path!, name!, value, size) }
        ops.listxattr = { path, list, size in servedUnion.listxattr(path!, list, size) }
        ops.removexattr = { path, name in
            let rc = servedUnion.removexattr(path!, name!)
            if rc == 0, let fuse = servedFuse { fuse_invalidate_path(fuse, path!) }
            return rc
        }
        ops.opendir = { _, _ in 0 }
        ops.readdir = { path, buffer, fill, _, _, _ in servedUnion.readdir(path!, buffer, fill!) }
        ops.releasedir = { _, _ in 0 }
        ops.access = { path, mask in servedUnion.access(path!, mask) }
        ops.utimens = { path, times, fi in servedUnion.utimens(path, times, fi: fi) }
        ops.fallocate = { path, mode, offset, length, fi in
            servedUnion.fallocate(path, mode: mode, offset: offset, length: length, fi: fi!)
        }
        ops.copy_file_range = { pathIn, fiIn, offIn, pathOut, fiOut, offOut, length, flags in
            servedUnion.copyFileRange(pathIn, fiIn!, offIn, pathOut, fiOut!, offOut, length, flags)
        }
        ops.lseek = { _, offset, whence, fi in servedUnion.lseek(offset, whence: whence, fi: fi!) }
        return ops
    }
}
