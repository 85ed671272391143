#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// The union names the kernel has been shown for files with more than one name.
///
/// libfuse's high-level API gives each name of a hard-linked file its own kernel inode, each
/// with its own cached attributes (and page cache). After a change through one name, the union
/// asks the kernel to drop what it caches for the file's other names (``others(of:except:)``,
/// then `fuse_invalidate_path`), so a chmod, truncate or unlink through one name shows through
/// every other at once rather than after the attribute timeout.
///
/// A name is noted when getattr reports more than one link for a non-directory, and by link()
/// for both its names; it is forgotten on unlink, when its file is seen with one link, and
/// follows renames. While no linked file has been seen, every call returns after one atomic load.
final class LinkedNames: Sendable {
    private struct Names {
        var byFile: [FileKey: Set<String>] = [:]
        var byName: [String: FileKey] = [:]

        mutating func remove(_ name: String) {
            guard let key = byName.removeValue(forKey: name) else { return }
            byFile[key]?.remove(name)
            if byFile[key]?.isEmpty == true { byFile[key] = nil }
        }
    }

    /// The most names remembered; past it new names are not noted (their other names then see a
    /// change only after the attribute timeout, libfuse's own behaviour).
    static let limit = 65_536

    private let names = Mutex(Names())
    /// How many names are noted: 0 lets every call skip the mutex.
    private let count = Atomic<Int>(0)

    var isEmpty: Bool { count.load(ordering: .relaxed) == 0 }

    /// Records what getattr found at `name`: a non-directory with `st_nlink` above one is noted;
    /// with one link, whatever was noted for its file is forgotten.
    @inline(__always)
    func saw(_ name: UnsafePointer<CChar>, _ st: stat) {
        if (st.st_mode & S_IFMT) == S_IFDIR { return }
        if st.st_nlink > 1 {
            note(String(cString: name), FileKey(st))
        } else if !isEmpty {
            forget(file: FileKey(st))
        }
    }

    func note(_ name: String, _ key: FileKey) {
        names.withLock { names in
            if names.byName[name] == key { return }
            names.remove(name)
            guard names.byName.count < Self.limit else { return }
            names.byName[name] = key
            names.byFile[key, default: []].insert(name)
            count.store(names.byName.count, ordering: .relaxed)
        }
    }

    func forget(file key: FileKey) {
        names.withLock { names in
            guard let all = names.byFile.removeValue(forKey: key) else { return }
            for name in all { names.byName[name] = nil }
            count.store(names.byName.count, ordering: .relaxed)
        }
    }

    func forget(_ name: String) {
        if isEmpty { return }
        names.withLock { names in
            names.remove(name)
            count.store(names.byName.count, ordering: .relaxed)
        }
    }

    /// The noted names of `key` other than `name`.
    func others(of key: FileKey, except name: String) -> [String] {
        if isEmpty { return [] }
        return names.withLock { names in (names.byFile[key] ?? []).filter { $0 != name } }
    }

    /// Moves every noted name at or under `from` to the same place under `to` (a rename), or
    /// forgets them when `to` is nil.
    func renamed(_ from: String, to: String?) {
        if isEmpty { return }
        names.withLock { names in
            if let to { names.remove(to) }
            let prefix = from + "/"
            let moved = names.byName.filter { $0.key == from || $0.key.hasPrefix(prefix) }
            for (old, key) in moved {
                names.remove(old)
                guard let to else { continue }
                let new = to + old.dropFirst(from.count)
                names.byName[new] = key
                names.byFile[key, default: []].insert(new)
            }
            count.store(names.byName.count, ordering: .relaxed)
        }
    }
}
