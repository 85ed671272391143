import SpillwayCore
#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// Everything the union has open of one file (one inode), shared by its handles.
///
/// `lock` is the per-file lock: reads need nothing, writes (write, truncate, fallocate,
/// copy_file_range into it, fsync) hold it shared, a move to the spill area holds it exclusive
/// while it copies and re-points every handle. Other files are never blocked by this lock.
final class OpenFile: @unchecked Sendable {
    let lock: UnsafeMutablePointer<pthread_rwlock_t>
    /// Where the file lives now (a ``BranchKind`` raw value).
    let branchRaw: Atomic<Int>
    /// Its identity now (changes when it moves); guarded by the table's mutex.
    var key: FileKey
    /// Its open handles; guarded by the table's mutex.
    var handles: [ObjectIdentifier: UnionHandle] = [:]
    /// Movers working on it without a handle of their own; guarded by the table's mutex.
    var pins = 0

    init(key: FileKey, branch: BranchKind) {
        self.key = key
        branchRaw = Atomic(branch.rawValue)
        lock = .allocate(capacity: 1)
        pthread_rwlock_init(lock, nil)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    var branch: BranchKind {
        get { BranchKind(rawValue: branchRaw.load(ordering: .acquiring))! }
        set { branchRaw.store(newValue.rawValue, ordering: .releasing) }
    }

    @inline(__always) func lockShared() { pthread_rwlock_rdlock(lock) }
    @inline(__always) func lockExclusive() { pthread_rwlock_wrlock(lock) }
    @inline(__always) func unlock() { pthread_rwlock_unlock(lock) }
}
