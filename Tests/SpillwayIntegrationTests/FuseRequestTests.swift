import CFuse3
import CSpillwaySyscalls
import Foundation
@testable import SpillwayFuse
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The union's operations table called the way libfuse could call it, with what the kernel
/// or libfuse may hand over: NULL paths, NULL file info, a handle of 0, flag and mode bits no
/// call knows. Every entry returns an errno (the kernel's own where a plain directory gives
/// one) and the process goes on; a crash here would be the server's death, every process
/// using the mount then getting ENOTCONN.
@Suite("FUSE union requests", .serialized)
struct FuseRequestTests {
    /// A union over two fresh directories as the served one, and a plain directory beside.
    static func withServedUnion(_ body: (_ ops: fuse_operations, _ tree: String, _ plain: String) throws -> Void) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("fuse-requests-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        let tree = base + "/tree", spill = base + "/spill", plain = base + "/plain"
        for dir in [tree, spill, plain] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(atPath: base) }
        for dir in [tree, plain] { try Data("data".utf8).write(to: URL(fileURLWithPath: dir + "/f")) }
        servedUnion = try UnionFilesystem(tree: tree, spill: spill, slot: SlotWatch())
        defer { servedUnion = nil }
        try body(UnionOperations.make(), tree, plain)
    }

    @Test func nullPathsAndMissingFileInfoGetAnErrnoNotACrash() throws {
        try Self.withServedUnion { ops, _, _ in
            var st = stat()
            var info = fuse_file_info()
            var buffer = [CChar](repeating: 0, count: 64)
            var vfs = statvfs()
            #expect(ops.getattr?(nil, &st, nil) == -ESTALE)
            #expect(ops.getattr?("/f", nil, nil) == -EFAULT)
            #expect(ops.getattr?(nil, &st, &info) == -ESTALE, "a handle of 0 is no handle")
            #expect(ops.readlink?(nil, &buffer, 64) == -ESTALE)
            #expect(ops.readlink?("/f", &buffer, 0) == -EINVAL)
            #expect(ops.mknod?(nil, S_IFREG | 0o644, 0) == -ESTALE)
            #expect(ops.mkdir?(nil, 0o755) == -ESTALE)
            #expect(ops.unlink?(nil) == -ESTALE)
            #expect(ops.rmdir?(nil) == -ESTALE)
            #expect(ops.symlink?(nil, "/s") == -EFAULT)
            #expect(ops.symlink?("t", nil) == -ESTALE)
            #expect(ops.rename?(nil, "/g", 0) == -ESTALE)
            #expect(ops.rename?("/f", nil, 0) == -ESTALE)
            #expect(ops.link?(nil, "/g") == -ESTALE)
            #expect(ops.chmod?(nil, 0o644, nil) == -ESTALE)
            #expect(ops.chown?(nil, 0, 0, nil) == -ESTALE)
            #expect(ops.truncate?(nil, 0, nil) == -ESTALE)
            #expect(ops.utimens?(nil, nil, nil) == -ESTALE)
            #expect(ops.open?(nil, &info) == -ESTALE)
            #expect(ops.open?("/f", nil) == -EIO)
            #expect(ops.create?(nil, 0o644, &info) == -ESTALE)
            #expect(ops.create?("/new", 0o644, nil) == -EIO)
            #expect(ops.read?(nil, &buffer, 64, 0, nil) == -EBADF)
            #expect(ops.read?(nil, &buffer, 64, 0, &info) == -EBADF)
            #expect(ops.read_buf?(nil, nil, 64, 0, &info) == -EBADF)
            #expect(ops.write?(nil, "x", 1, 0, nil) == -EBADF)
            #expect(ops.write?("/f", "x", 1, 0, &info) == -EBADF)
            #expect(ops.statfs?(nil, &vfs) == 0, "statfs of no path is the main disk's")
            #expect(ops.statfs?("/", nil) == -EFAULT)
            #expect(ops.flush?(nil, nil) == 0)
            #expect(ops.release?(nil, nil) == 0)
            #expect(ops.release?("/f", &info) == 0)
            #expect(ops.fsync?(nil, 0, nil) == -EBADF)
            #expect(ops.fsync?(nil, 1, &info) == -EBADF)
            #expect(ops.setxattr?(nil, "user.a", "v", 1, 0) == -ESTALE)
            #expect(ops.setxattr?("/f", nil, "v", 1, 0) == -EFAULT)
            #expect(ops.getxattr?(nil, "user.a", &buffer, 64) == -ESTALE)
            #expect(ops.getxattr?("/f", nil, &buffer, 64) == -EFAULT)
            #expect(ops.listxattr?(nil, &buffer, 64) == -ESTALE)
            #expect(ops.removexattr?(nil, "user.a") == -ESTALE)
            #expect(ops.removexattr?("/f", nil) == -EFAULT)
            #expect(ops.readdir?(nil, nil, nil, 0, nil, fuse_readdir_flags(rawValue: 0)) == -ESTALE)
            #expect(ops.readdir?("/", nil, nil, 0, nil, fuse_readdir_flags(rawValue: 0)) == -EIO)
            #expect(ops.access?(nil, F_OK) == -ESTALE)
            #expect(ops.fallocate?(nil, 0, 0, 1, nil) == -EBADF)
            #expect(ops.fallocate?("/f", 0, 0, 1, &info) == -EBADF)
            #expect(ops.copy_file_range?(nil, nil, 0, nil, &info, 0, 1, 0) == -Int(EBADF))
            var other = fuse_file_info()
            #expect(ops.copy_file_range?(nil, &info, 0, nil, &other, 0, 1, 0) == -Int(EBADF))
            #expect(ops.lseek?(nil, 0, SEEK_END, nil) == off_t(-EBADF))
            #expect(ops.lseek?(nil, 0, SEEK_END, &info) == off_t(-EBADF))
        }
    }

    /// Bits no call knows get the errno the same call gives on a plain directory.
    @Test func unknownFlagAndModeBitsGetThePlainDirectorysErrno() throws {
        try Self.withServedUnion { ops, _, plain in
            func kernel(_ rc: Int32) -> Int32 { rc == 0 ? 0 : -errno }
            #expect(ops.rename?("/f", "/g", 0xFFFF_FFF0) == kernel(spillway_renameat2(AT_FDCWD, plain + "/f", AT_FDCWD, plain + "/g", 0xFFFF_FFF0)))
            #expect(ops.mknod?("/node", 0o170644, 0) == kernel(mknod(plain + "/node", 0o170644, 0)))
            #expect(ops.setxattr?("/f", "user.a", "v", 1, 0x7FFF_0000) == kernel(setxattr(plain + "/f", "user.a", "v", 1, 0x7FFF_0000)))
            #expect(ops.removexattr?("/f", "nonsense") == kernel(removexattr(plain + "/f", "nonsense")))
            // Mode bits beyond 07777 are not the file's: chmod keeps the rest as the kernel does.
            #expect(ops.chmod?("/f", 0o177_777, nil) == kernel(chmod(plain + "/f", 0o177_777)))
            var info = fuse_file_info()
            info.flags = Int32(bitPattern: 0xFFFF_FFFF) & ~(O_CREAT | O_EXCL | O_TRUNC | O_DIRECTORY)
            let opened = ops.open?("/f", &info) ?? 1
            #expect(opened <= 0, "open gave \(opened)")
            if opened == 0 {
                #expect(ops.release?("/f", &info) == 0)
            }
            var st = stat(), plainSt = stat()
            #expect(ops.getattr?("/f", &st, nil) == 0 && stat(plain + "/f", &plainSt) == 0)
            #expect(st.st_mode == plainSt.st_mode, "mode \(String(st.st_mode, radix: 8)) vs \(String(plainSt.st_mode, radix: 8))")
        }
    }
}
