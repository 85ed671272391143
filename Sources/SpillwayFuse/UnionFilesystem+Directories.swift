#if canImport(Glibc)
import Glibc
#endif
import CFuse3
import SpillwayCore

/// Listing directories (opendir, readdir, releasedir): the union, each name once — the spill
/// half's names, then those of the main half the spill half lacks — without the movers'
/// temporary names.
extension UnionFilesystem {
    func readdir(_ path: UnsafePointer<CChar>, _ buffer: UnsafeMutableRawPointer?, _ fill: fuse_fill_dir_t) -> Int32 {
        var seen = Set<String>()
        var listedAny = false
        var firstError: Int32 = -ENOENT
        var entryStat = stat()
        for kind in BranchKind.allCases {
            let fd = branch(kind).open(path + 1, O_RDONLY | O_DIRECTORY)
            if fd < 0 {
                if firstError == -ENOENT { firstError = fd }
                continue
            }
            guard let stream = fdopendir(fd) else {
                close(fd)
                continue
            }
            defer { closedir(stream) }
            let last = kind == .main
            while let entry = Glibc.readdir(stream) {
                let stop: Bool = withUnsafeBytes(of: &entry.pointee.d_name) { raw in
                    guard let name = raw.baseAddress?.assumingMemoryBound(to: CChar.self) else { return false }
                    if UnionPolicy.isHidden(name) { return false }
                    let isDot = name[0] == 0x2E && (name[1] == 0 || (name[1] == 0x2E && name[2] == 0))
                    if isDot && listedAny { return false }
                    if !isDot {
                        let text = String(cString: name)
                        if kind == .spill { seen.insert(text) } else if seen.contains(text) { return false }
                    }
                    entryStat.st_ino = entry.pointee.d_ino
                    entryStat.st_mode = mode_t(entry.pointee.d_type) << 12
                    Self.present(&entryStat, from: kind)
                    return fill(buffer, name, &entryStat, 0, fuse_fill_dir_flags(rawValue: 0)) != 0
                }
                if stop { return 0 }
                _ = last
            }
            listedAny = true
        }
        return listedAny ? 0 : firstError
    }
}
