#if canImport(Glibc)
import Glibc
#endif
import CFuse3
import SpillwayCore
import CSpillway
import CSpillwaySyscalls

/// Extended attributes (getxattr, listxattr, setxattr, removexattr). Reads are lookups,
/// changes act where the name lives (both halves of a directory). The mark a moved file carries
/// (`user.spillway.origin`) is hidden from the container and cannot be set by it.
extension UnionFilesystem {
    static let originName = SPILLWAY_ORIGIN_XATTR

    /// The kernel asks this before every write through the union (for `security.capability`,
    /// to know whether the write must drop privileges), so it is kept to getxattrat(2) on the
    /// parent in each place looked in (spill area first, as ``locate(_:_:)``); kernels without
    /// getxattrat take the longer way through /proc/self/fd.
    func getxattr(_ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int32 {
        if strcmp(name, Self.originName) == 0 { return -ENODATA }
        let inSpill = spillway_getxattr_beneath(spill.fd, path + 1, Branch.resolve, name, value, UInt(size))
        if inSpill >= 0 { return Int32(inSpill) }
        var err = errno
        if err != ENOSYS {
            // ENODATA and its kin come from the file itself; only a missing name looks further.
            if err != ENOENT && err != ENOTDIR && err != ELOOP && err != EXDEV { return -err }
            let onMain = spillway_getxattr_beneath(main.fd, path + 1, Branch.resolve, name, value, UInt(size))
            if onMain >= 0 { return Int32(onMain) }
            let mainErr = errno
            if mainErr != ENOSYS { return mainErr == ENOENT ? -err : -mainErr }
        }
        var st = stat()
        let (kind, found) = locate(path + 1, &st)
        guard let kind else { return found }
        if (st.st_mode & S_IFMT) == S_IFLNK { return -ENODATA }
        let fd = branch(kind).open(path + 1, SPILLWAY_O_PATH)
        if fd < 0 { return fd }
        defer { close(fd) }
        let n = HeldNode.withProcPath(fd) { CFuse3.getxattr($0, name, value, size) }
        err = errno
        return n >= 0 ? Int32(n) : -err
    }

    func listxattr(_ path: UnsafePointer<CChar>, _ list: UnsafeMutablePointer<CChar>?, _ size: Int) -> Int32 {
        var st = stat()
        let (kind, err) = locate(path + 1, &st)
        guard let kind else { return err }
        if (st.st_mode & S_IFMT) == S_IFLNK { return 0 }
        let fd = branch(kind).open(path + 1, SPILLWAY_O_PATH)
        if fd < 0 { return fd }
        defer { close(fd) }
        return HeldNode.withProcPath(fd) { proc in
            let full = CFuse3.listxattr(proc, nil, 0)
            if full < 0 { return -errno }
            if full == 0 { return 0 }
            let names = UnsafeMutablePointer<CChar>.allocate(capacity: full)
            defer { names.deallocate() }
            let got = CFuse3.listxattr(proc, names, full)
            if got < 0 { return -errno }
            var out = 0, i = 0
            while i < got {
                let length = strlen(names + i) + 1
                if strcmp(names + i, Self.originName) != 0 {
                    if let list, size > 0 {
                        if out + length > size { return -ERANGE }
                        memcpy(list + out, names + i, length)
                    }
                    out += length
                }
                i += length
            }
            return Int32(out)
        }
    }

    func setxattr(_ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>, _ value: UnsafePointer<CChar>?, _ size: Int, _ flags: Int32) -> Int32 {
        if strcmp(name, Self.originName) == 0 { return -EPERM }
        return changeEveryHalf(UnionPath(cString: path)) { $0.setxattr(name, value, size, flags) }
    }

    func removexattr(_ path: UnsafePointer<CChar>, _ name: UnsafePointer<CChar>) -> Int32 {
        if strcmp(name, Self.originName) == 0 { return -ENODATA }
        return changeEveryHalf(UnionPath(cString: path)) { $0.removexattr(name) }
    }
}
