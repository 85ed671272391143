#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The spill area's regular files with more than one name, as a listing finds them, so that the
/// drain moves the names of one inode together: one copy, the other names hard links to it
/// (``DrainEngine``), instead of one full copy per name.
// @unchecked: `names` is written only under `lock` (the listing runs on several threads).
final class HardLinks: @unchecked Sendable {
    struct Key: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    private let lock = NSLock()
    private var names: [(path: String, key: Key)] = []

    /// A listing found `path`, whose status is `st` (more than one link).
    func found(_ path: String, _ st: stat) {
        lock.withLock { names.append((path, Key(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)))) }
    }

    /// The groups of the names found: an inode the listing found under two names or more.
    func groups() -> LinkGroups {
        let found = lock.withLock { names }
        var byKey: [Key: [String]] = [:]
        for (path, key) in found { byKey[key, default: []].append(path) }
        var groups = LinkGroups()
        for paths in byKey.values.sorted(by: { $0.min()! < $1.min()! }) where paths.count > 1 {
            let id = groups.expected.count
            groups.expected.append(paths.count)
            for path in paths { groups.member[path] = id }
        }
        return groups
    }
}

/// The hard-link groups of one pass and the candidates of each waiting for the rest.
struct LinkGroups {
    fileprivate(set) var member: [String: Int] = [:]
    fileprivate(set) var expected: [Int] = []
    private var pending: [Int: [Candidate]] = [:]
    private var heldLeaves: [(String, stat?)] = []

    /// The group `path` belongs to; `nil` for a file with one name in the spill area.
    func group(of path: String) -> Int? { member[path] }

    /// Whether no group waits for more of its names.
    var isIdle: Bool { pending.isEmpty }

    /// Takes `candidate` and returns what may go into a batch now: the candidate itself, nothing
    /// (its group waits for more names), or its whole group.
    mutating func add(_ candidate: Candidate) -> [Candidate] {
        guard let group = candidate.linkGroup else { return [candidate] }
        pending[group, default: []].append(candidate)
        guard pending[group]!.count >= expected[group] else { return [] }
        return pending.removeValue(forKey: group)!
    }

    /// A directory left while a group waits: it is left after the group.
    mutating func holdLeave(_ leave: (String, stat?)) { heldLeaves.append(leave) }

    mutating func takeHeldLeaves() -> [(String, stat?)] {
        defer { heldLeaves.removeAll() }
        return heldLeaves
    }

    /// The groups still waiting (some names were not reached), each together.
    mutating func takeIncomplete() -> [Candidate] {
        defer { pending.removeAll() }
        return pending.keys.sorted().flatMap { pending[$0]! }
    }
}
