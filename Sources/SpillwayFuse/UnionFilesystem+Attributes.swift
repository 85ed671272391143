#if canImport(Glibc)
import Glibc
#endif
import CFuse3
import SpillwayCore
import CSpillwaySyscalls

/// Looking at and changing attributes (getattr, readlink, access, statfs, chmod, chown,
/// utimens). Changes act where the name lives; a directory present in both places is changed
/// in both, so parents made later in the spill area mirror the right mode and owner.
extension UnionFilesystem {
    /// The status of `path` (the branch path, ``UnionOperations/served(_:)``; `original` is
    /// libfuse's name for it, which LinkedNames keeps), or of the open file `fi` when it has one.
    @inline(__always)
    func getattr(_ path: UnsafePointer<CChar>?, original: UnsafePointer<CChar>?, _ st: UnsafeMutablePointer<stat>,
                 fi: UnsafeMutablePointer<fuse_file_info>?) -> Int32 {
        if let fi, fi.pointee.fh != 0 {
            return UnionHandle.borrow(fi.pointee.fh) { handle in
                if fstat(handle.fd, st) != 0 { return -errno }
                Self.present(&st.pointee, from: handle.file.branch)
                return 0
            } ?? -EBADF
        }
        guard let path, let original else { return -ESTALE }
        let (kind, err) = locate(path + 1, &st.pointee)
        guard let kind else { return err }
        linked.saw(original, st.pointee)
        Self.present(&st.pointee, from: kind)
        if kind == .spill && (st.pointee.st_mode & S_IFMT) == S_IFDIR {
            // A directory in both places keeps its main half's identity, so programs that
            // check a directory's inode before and after working in it (tar) see one directory
            // whichever half was made first; and its mode and owner, the container's: the spill
            // half mirrors them when the union makes it, but a spill area's own top is the
            // supervisor's, private to root (`ls -la` of a directory shows it as `..`).
            var onMain = stat()
            if main.status(path + 1, &onMain) == 0 && (onMain.st_mode & S_IFMT) == S_IFDIR {
                st.pointee.st_ino = onMain.st_ino
                st.pointee.st_mode = onMain.st_mode
                st.pointee.st_uid = onMain.st_uid
                st.pointee.st_gid = onMain.st_gid
            }
        }
        return 0
    }

    func readlink(_ path: UnsafePointer<CChar>, _ buffer: UnsafeMutablePointer<CChar>, _ size: Int) -> Int32 {
        var st = stat()
        let (kind, err) = locate(path + 1, &st)
        guard let kind else { return err }
        let fd = branch(kind).open(path + 1, SPILLWAY_O_PATH)
        if fd < 0 { return fd }
        defer { close(fd) }
        let n = spillway_readlink_opath(fd, buffer, UInt(size > 0 ? size - 1 : 0))
        if n < 0 { return -errno }
        buffer[n] = 0
        return 0
    }

    func access(_ path: UnsafePointer<CChar>, _ mask: Int32) -> Int32 {
        // default_permissions: the kernel checks permissions; only existence is ours to answer.
        var st = stat()
        let (kind, err) = locate(path + 1, &st)
        return kind == nil ? err : 0
    }

    func statfs(_ path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<statvfs>) -> Int32 {
        var st = stat()
        let (kind, _) = path.map { locate($0 + 1, &st) } ?? (nil, 0)
        return fstatvfs(branch(kind ?? .main).fd, out) == 0 ? 0 : -errno
    }

    /// Runs `change` on every half of `path`, each held as an `O_PATH` descriptor opened beneath
    /// its branch (``HeldNode``), returning the spill half's result when there is one.
    func changeEveryHalf(_ path: UnionPath, _ change: (HeldNode) -> Int32) -> Int32 {
        let found = halves(path)
        if found.isEmpty { return -ENOENT }
        var result: Int32? = nil
        for kind in BranchKind.allCases where found[kind] != nil {
            let rc = HeldNode.with(branch(kind).fd, path.relative, change)
            if result == nil { result = rc }
        }
        return result ?? -ENOENT
    }

    func chmod(_ path: UnsafePointer<CChar>?, _ mode: mode_t, fi: UnsafeMutablePointer<fuse_file_info>?) -> Int32 {
        if let fi, fi.pointee.fh != 0 {
            return UnionHandle.borrow(fi.pointee.fh) { fchmod($0.fd, mode) == 0 ? 0 : -errno } ?? -EBADF
        }
        guard let path else { return -ESTALE }
        return changeEveryHalf(UnionPath(cString: path)) { $0.chmod(mode) }
    }

    func chown(_ path: UnsafePointer<CChar>?, _ uid: uid_t, _ gid: gid_t, fi: UnsafeMutablePointer<fuse_file_info>?) -> Int32 {
        if let fi, fi.pointee.fh != 0 {
            return UnionHandle.borrow(fi.pointee.fh) { fchown($0.fd, uid, gid) == 0 ? 0 : -errno } ?? -EBADF
        }
        guard let path else { return -ESTALE }
        return changeEveryHalf(UnionPath(cString: path)) { $0.chown(uid, gid) }
    }

    func utimens(_ path: UnsafePointer<CChar>?, _ times: UnsafePointer<timespec>?, fi: UnsafeMutablePointer<fuse_file_info>?) -> Int32 {
        if let fi, fi.pointee.fh != 0 {
            return UnionHandle.borrow(fi.pointee.fh) { futimens($0.fd, times) == 0 ? 0 : -errno } ?? -EBADF
        }
        guard let path else { return -ESTALE }
        return changeEveryHalf(UnionPath(cString: path)) { $0.setTimes(times) }
    }
}
