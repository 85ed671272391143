#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// The size Docker's btrfs storage driver keeps for a container's layer: `--storage-opt size`,
/// in `DATA_ROOT/btrfs/quotas/LAYER` (decimal bytes), which the driver sets again as the qgroup
/// limit at every mount of the layer, that is at every start of the container.
///
/// A limit Spillway raised has to be written there too. Otherwise the next start lowers the
/// limit again, and once the container stores more than its original size Docker cannot start
/// it at all: the kernel refuses a qgroup limit ioctl made inside a subvolume that is over its
/// limit (`EDQUOT`), and `docker start` fails with "Failed to limit qgroup".
public enum DockerBtrfsQuota {
    /// For a container root `…/btrfs/subvolumes/LAYER` whose `…/btrfs/quotas/LAYER` exists and
    /// holds less than `bytes`, writes `bytes` there (temporary file, fsync, rename, fsync of the
    /// directory). Any other root, or no such file, is left alone.
    ///
    /// - Returns: whether the file was raised.
    /// - Throws: ``SystemError`` naming the file when it cannot be read or replaced.
    @discardableResult
    public static func raise(root: String, to bytes: UInt64) throws -> Bool {
        let path = FilePath(root)
        guard let layer = path.lastComponent?.string, !layer.hasPrefix("."),
              path.removingLastComponent().lastComponent?.string == "subvolumes" else { return false }
        let driver = path.removingLastComponent().removingLastComponent()
        guard driver.lastComponent?.string == "btrfs" else { return false }
        // The engine's directories, not the container's tree; still reached without following
        // a symlink.
        let quotas: HeldDirectory
        do {
            quotas = try HeldDirectory.openRoot(driver).directory("quotas")
        } catch {
            return false
        }
        guard let st = try quotas.status(layer), (st.st_mode & S_IFMT) == S_IFREG else { return false }
        let current = try read(layer, in: quotas)
        guard let current, current < bytes else { return false }

        let temporary = ".spillway-quota-\(layer)-\(getpid())"
        _ = try? quotas.remove(temporary)
        let fd = try quotas.createExclusive(temporary)
        var named = true
        defer {
            try? fd.close()
            if named { _ = try? quotas.remove(temporary) }
        }
        let text = Array(String(bytes).utf8)
        do {
            _ = try fd.writeAll(text)
            guard fchmod(fd.rawValue, st.st_mode & 0o7777) == 0 else { throw Errno(rawValue: errno) }
            try fsyncOrThrow(fd)
        } catch let errno as Errno {
            throw SystemError("write", path: quotas.path(temporary), syscall: "write", errno: errno)
        }
        guard renameat(quotas.fd.rawValue, temporary, quotas.fd.rawValue, layer) == 0 else {
            throw SystemError("replace", path: quotas.path(layer), syscall: "renameat", errno: Errno(rawValue: errno))
        }
        named = false
        try quotas.sync()
        return true
    }

    /// The size in the quota file `name`; nil when it holds no number (left alone then).
    static func read(_ name: String, in directory: HeldDirectory) throws -> UInt64? {
        let fd = try directory.openat2(name, flags: O_RDONLY)
        defer { try? fd.close() }
        var buffer = [UInt8](repeating: 0, count: 32)
        let got = buffer.withUnsafeMutableBytes { Glibc.read(fd.rawValue, $0.baseAddress, $0.count) }
        guard got >= 0 else {
            throw SystemError("read", path: directory.path(name), syscall: "read", errno: Errno(rawValue: errno))
        }
        let digits = buffer.prefix(got).filter { ![0x0a, 0x0d, 0x20, 0x09].contains($0) }
        return UInt64(String(decoding: digits, as: UTF8.self))
    }
}
