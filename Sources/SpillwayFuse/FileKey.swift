#if canImport(Glibc)
import Glibc
#endif

/// A file's identity on disk: device and inode of the backing file.
struct FileKey: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64

    init(_ st: stat) {
        device = UInt64(st.st_dev)
        inode = UInt64(st.st_ino)
    }
}
