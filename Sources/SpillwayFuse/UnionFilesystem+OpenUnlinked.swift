#if canImport(Glibc)
import Glibc
#endif
import SpillwayCore

/// Files unlinked, or replaced by a rename, while open (docs/FUSE.md, "Files unlinked while
/// open"). libfuse (`hard_remove = 0`) renames such a file to `.fuse_hidden` + 16 hex digits
/// in its directory and removes that name at the last close; the union keeps the name at the
/// top of the file's branch instead (``UnionOperations/served(_:)``) and hides it from listings
/// (``UnionPolicy/isHidden(_:)``). The drain leaves it alone (``DrainPlan``).
extension UnionFilesystem {
    /// Removes what a server that ended without unmounting (killed, crashed) left at the top of
    /// either branch; nothing has those files open once no server runs. Called before the mount.
    public func removeLeftoverOpenUnlinkedFiles() {
        for kind in BranchKind.allCases {
            let top = branch(kind).open("", O_RDONLY | O_DIRECTORY)
            if top < 0 { continue }
            guard let stream = fdopendir(top) else {
                close(top)
                continue
            }
            var names: [String] = []
            while let entry = Glibc.readdir(stream) {
                withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                    guard let name = raw.baseAddress?.assumingMemoryBound(to: CChar.self) else { return }
                    if UnionPolicy.isOpenUnlinked(name) { names.append(String(cString: name)) }
                }
            }
            closedir(stream)
            for name in names { unlinkat(branch(kind).fd, name, 0) }
        }
    }

    /// At the last close of a file libfuse no longer has a path for: removes the top-level
    /// `.fuse_hidden…` name in `kind` that still names the very file `fd` is open on (found by
    /// identity; the names are few and this happens only once a directory that held an open
    /// unlinked file was removed).
    func removeOpenUnlinkedName(of fd: Int32, in kind: BranchKind) {
        var open = stat()
        guard fstat(fd, &open) == 0, open.st_nlink > 0 else { return }
        let top = branch(kind).open("", O_RDONLY | O_DIRECTORY)
        if top < 0 { return }
        guard let stream = fdopendir(top) else {
            close(top)
            return
        }
        defer { closedir(stream) }
        while let entry = Glibc.readdir(stream) {
            let done: Bool = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                guard let name = raw.baseAddress?.assumingMemoryBound(to: CChar.self), UnionPolicy.isOpenUnlinked(name) else { return false }
                var st = stat()
                guard fstatat(top, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_dev == open.st_dev, st.st_ino == open.st_ino else { return false }
                unlinkat(top, name, 0)
                return true
            }
            if done { return }
        }
    }
}
