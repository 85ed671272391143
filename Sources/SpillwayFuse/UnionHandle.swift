#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// One file opened through the union: what libfuse's `fh` points at.
///
/// `fd` never changes for the life of the handle. When the file moves to the spill area, the
/// mover opens the moved file with the same flags and puts that description in place of the old
/// one with dup3(2) on the same number, so reads and writes in flight on other threads use either
/// the old or the new description, never a closed or reused number; writes are excluded during
/// the move by the file's lock (``OpenFile``).
final class UnionHandle: @unchecked Sendable {
    /// The backing descriptor.
    let fd: Int32
    /// The flags it was opened with (without O_CREAT, O_EXCL and O_TRUNC: those happened once).
    let flags: Int32
    /// The per-file record shared by every handle of the same file; set once at registration.
    var file: OpenFile!
    /// Whether data was changed through this handle since the last flush while hard-linked
    /// files were known (the other names' caches are dropped at flush, fsync and release).
    let changed = Atomic<Bool>(false)

    init(fd: Int32, flags: Int32) {
        self.fd = fd
        self.flags = flags & ~(O_CREAT | O_EXCL | O_TRUNC)
    }

    var writable: Bool { (flags & O_ACCMODE) != O_RDONLY }

    /// The value for `fuse_file_info.fh`: this handle, retained until ``take(_:)``.
    func retainedBits() -> UInt64 {
        UInt64(UInt(bitPattern: Unmanaged.passRetained(self).toOpaque()))
    }

    /// What `body` returns for the handle behind `fh`, without touching its reference count;
    /// nil for `fh` 0 (a request with no handle of ours: the caller answers EBADF).
    @inline(__always)
    static func borrow<R>(_ fh: UInt64, _ body: (UnionHandle) -> R) -> R? {
        guard let raw = UnsafeRawPointer(bitPattern: UInt(fh)) else { return nil }
        return Unmanaged<UnionHandle>.fromOpaque(raw)._withUnsafeGuaranteedRef(body)
    }

    /// Ends the retain of ``retainedBits()``; nil for `fh` 0.
    static func take(_ fh: UInt64) -> UnionHandle? {
        guard let raw = UnsafeRawPointer(bitPattern: UInt(fh)) else { return nil }
        return Unmanaged<UnionHandle>.fromOpaque(raw).takeRetainedValue()
    }
}
