#if canImport(Glibc)
import Glibc
#endif
import CFuse3
import SpillwayCore
import CSpillwaySyscalls

/// Making and removing names (mknod, mkdir, symlink, link, unlink, rmdir, rename) so that every
/// path stays in exactly one place (docs/SHIM.md, "Removing names", "rename", "link").
extension UnionFilesystem {
    func mknod(_ path: UnionPath, _ mode: mode_t, _ rdev: dev_t) -> Int32 {
        create(path) { parent, _ in mknodat(parent, path.name, mode, rdev) == 0 ? 0 : -errno }
    }

    func mkdir(_ path: UnionPath, _ mode: mode_t) -> Int32 {
        create(path) { parent, _ in mkdirat(parent, path.name, mode) == 0 ? 0 : -errno }
    }

    func symlink(_ target: String, _ path: UnionPath) -> Int32 {
        create(path) { parent, _ in symlinkat(target, parent, path.name) == 0 ? 0 : -errno }
    }

    /// A hard link is made where its source lives, whatever the state.
    func link(_ from: UnionPath, _ to: UnionPath) -> Int32 {
        guard let (kind, st) = locate(from) else { return -ENOENT }
        if (st.st_mode & S_IFMT) == S_IFDIR { return -EPERM }
        if locate(to) != nil { return -EEXIST }
        return withParents(in: kind, from, to) { source, target in
            linkat(source, from.name, target, to.name, 0) == 0 ? 0 : -errno
        }
    }

    /// Runs `body` with descriptors of the parents of `from` and `to` in `kind` (the latter's
    /// made first if missing), for a call that names both within one branch.
    private func withParents(in kind: BranchKind, _ from: UnionPath, _ to: UnionPath,
                             _ body: (_ source: Int32, _ target: Int32) -> Int32) -> Int32 {
        let made = ensureParents(in: kind, for: to)
        if made < 0 { return made }
        let source = branch(kind).parent(of: from), target = branch(kind).parent(of: to)
        defer {
            if source >= 0 { close(source) }
            if target >= 0 { close(target) }
        }
        if source < 0 { return source }
        if target < 0 { return target }
        return body(source, target)
    }

    func unlink(_ path: UnionPath) -> Int32 {
        // The usual case, a non-directory in one place: one lookup of the parent per place
        // looked in and the name removed through it (unlinkat refuses a directory, EISDIR).
        for kind in BranchKind.allCases {
            let parent = branch(kind).parent(of: path)
            if parent < 0 { continue }
            defer { close(parent) }
            if unlinkat(parent, path.name, 0) == 0 { return 0 }
            let err = errno
            if err == ENOENT { continue }
            if err == EISDIR { break }
            return -err
        }
        let found = halves(path)
        if found.isEmpty { return -ENOENT }
        var result: Int32 = 0
        for kind in BranchKind.allCases where found[kind] != nil {
            let parent = branch(kind).parent(of: path)
            if parent < 0 { return parent }
            if unlinkat(parent, path.name, 0) != 0 && result == 0 { result = -errno }
            close(parent)
        }
        return result
    }

    /// Whether the directory `relative` in `kind` holds any name.
    func isEmptyDirectory(_ kind: BranchKind, _ relative: String) -> Bool {
        let fd = branch(kind).open(relative, O_RDONLY | O_DIRECTORY)
        if fd < 0 { return true }
        guard let stream = fdopendir(fd) else {
            close(fd)
            return true
        }
        defer { closedir(stream) }
        while let entry = Glibc.readdir(stream) {
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                raw[0] == 0x2E && (raw[1] == 0 || (raw[1] == 0x2E && raw[2] == 0))
            }
            if !isDot { return false }
        }
        return true
    }

    /// A directory in both places goes only when the union is empty: the spill half first, then
    /// the main half; if the main half cannot go the spill half is made again.
    func rmdir(_ path: UnionPath) -> Int32 {
        let found = halves(path)
        if found.isEmpty { return -ENOENT }
        if found.count == 2 {
            for kind in BranchKind.allCases where !isEmptyDirectory(kind, path.relative) { return -ENOTEMPTY }
        }
        var removedSpill: stat? = nil
        for kind in BranchKind.allCases {
            guard let st = found[kind] else { continue }
            let parent = branch(kind).parent(of: path)
            if parent < 0 { return parent }
            defer { close(parent) }
            if unlinkat(parent, path.name, AT_REMOVEDIR) != 0 {
                let err = errno
                if let spilled = removedSpill {
                    let again = spill.parent(of: path)
                    if again >= 0 {
                        _ = makeDirectory(in: again, path.name, like: spilled)
                        close(again)
                    }
                }
                return -err
            }
            if kind == .spill { removedSpill = st }
        }
        return 0
    }

    /// renameat2(2) of one half within `kind`.
    private func renameHalf(_ kind: BranchKind, _ from: UnionPath, _ to: UnionPath, _ flags: UInt32) -> Int32 {
        withParents(in: kind, from, to) { source, target in
            spillway_renameat2(source, from.name, target, to.name, flags) == 0 ? 0 : -errno
        }
    }

    private func removeHalf(_ kind: BranchKind, _ path: UnionPath, directory: Bool) -> Int32 {
        let parent = branch(kind).parent(of: path)
        if parent < 0 { return parent }
        defer { close(parent) }
        return unlinkat(parent, path.name, directory ? AT_REMOVEDIR : 0) == 0 ? 0 : -errno
    }

    /// Each half of the source is renamed within its own filesystem; then every half of the
    /// destination the source had no counterpart for is removed, so afterwards every name is in
    /// exactly one place. Checks are made on the union first, in the kernel's order.
    func rename(_ from: UnionPath, _ to: UnionPath, flags: UInt32) -> Int32 {
        let noReplace = UInt32(RENAME_NOREPLACE), exchange = UInt32(RENAME_EXCHANGE)
        if flags & ~(noReplace | exchange) != 0 { return -EINVAL }
        var src = halves(from)
        let dst = halves(to)
        if src.isEmpty { return -ENOENT }
        if to.parent != from.parent && locate(to.parentPath) == nil { return -ENOENT }
        func isDir(_ st: stat) -> Bool { (st.st_mode & S_IFMT) == S_IFDIR }
        let srcIsDir = src.values.contains(where: isDir)
        if flags & exchange != 0 {
            if dst.isEmpty { return -ENOENT }
            for kind in BranchKind.allCases {
                let rc: Int32
                switch (src[kind] != nil, dst[kind] != nil) {
                case (true, true): rc = renameHalf(kind, from, to, exchange)
                case (true, false): rc = renameHalf(kind, from, to, 0)
                case (false, true): rc = renameHalf(kind, to, from, 0)
                case (false, false): rc = 0
                }
                if rc < 0 { return rc }
            }
            return 0
        }
        if !dst.isEmpty {
            if flags & noReplace != 0 { return -EEXIST }
            let dstIsDir = dst.values.contains(where: isDir)
            // Two names of one file: nothing happens.
            for (kind, s) in src { if let d = dst[kind], d.st_dev == s.st_dev, d.st_ino == s.st_ino { return 0 } }
            if srcIsDir && !dstIsDir { return -ENOTDIR }
            if !srcIsDir && dstIsDir { return -EISDIR }
            if dstIsDir {
                for kind in dst.keys where !isEmptyDirectory(kind, to.relative) { return -ENOTEMPTY }
            }
        }
        // While spilling, a main-disk file going into a directory that exists only in the
        // spill area moves there first rather than making directories on the full main disk.
        if let onMain = src[.main], src[.spill] == nil, (onMain.st_mode & S_IFMT) == S_IFREG, slot.state == .spilling,
           main.lookup(to.parent) == nil, spill.lookup(to.parent) != nil {
            if moveToSpill(from, keepData: true) == 0, let moved = spill.lookup(from.relative) { src = [.spill: moved] }
        }
        for kind in BranchKind.allCases where src[kind] != nil {
            var rc = renameHalf(kind, from, to, 0)
            // No room on the main disk for the destination's directories: a regular file moves
            // to the spill area and is renamed there.
            if rc < 0, kind == .main, UnionPolicy.isOutOfSpace(-rc), src[.spill] == nil, let onMain = src[.main],
               (onMain.st_mode & S_IFMT) == S_IFREG {
                slot.noteRescue()
                if moveToSpill(from, keepData: true) == 0, let moved = spill.lookup(from.relative) {
                    src = [.spill: moved]
                    rc = renameHalf(.spill, from, to, 0)
                }
            }
            if rc < 0 { return rc }
        }
        let dstIsDir = dst.values.contains(where: isDir)
        for kind in BranchKind.allCases where dst[kind] != nil && src[kind] == nil {
            _ = removeHalf(kind, to, directory: dstIsDir)
        }
        return 0
    }
}
