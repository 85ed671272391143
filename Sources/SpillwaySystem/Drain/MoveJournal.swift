import Foundation
import SpillwayCore

/// Where a mover keeps its intent records (``MoveIntent``) so that recovery finds every move cut
/// short. The daemon keeps them in its state database; each call is one durable transaction.
public protocol MoveJournal: AnyObject, Sendable {
    /// Stores new records; returns their ids, in order.
    func begin(_ intents: [MoveIntent]) throws -> [Int64]
    /// Marks records `ready`: their temporary files (inode `tempInode`) are complete and on disk.
    func markReady(_ records: [(id: Int64, tempInode: UInt64)]) throws
    /// Removes records: those moves are over.
    func finish(_ ids: [Int64]) throws
    /// The records of `container` still stored.
    func pending(container: String) throws -> [(id: Int64, intent: MoveIntent)]
}

/// A journal in memory, for tests of the engine that do not crash. A drain calls it from two
/// threads (a batch's tail and the next batch), so every call holds a lock.
public final class MemoryMoveJournal: MoveJournal, @unchecked Sendable {
    private var records: [Int64: MoveIntent] = [:]
    private var next: Int64 = 1
    private let lock = NSLock()
    public init() {}
    public func begin(_ intents: [MoveIntent]) throws -> [Int64] {
        lock.withLock {
            intents.map { intent in
                defer { next += 1 }
                records[next] = intent
                return next
            }
        }
    }
    public func markReady(_ updates: [(id: Int64, tempInode: UInt64)]) throws {
        lock.withLock {
            for (id, inode) in updates {
                records[id]?.phase = .ready
                records[id]?.tempInode = inode
            }
        }
    }
    public func finish(_ ids: [Int64]) throws { lock.withLock { ids.forEach { records.removeValue(forKey: $0) } } }
    public func pending(container: String) throws -> [(id: Int64, intent: MoveIntent)] {
        lock.withLock {
            records.filter { $0.value.container == container }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        }
    }
}
