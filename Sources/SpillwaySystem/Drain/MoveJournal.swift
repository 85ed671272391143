import SpillwayCore

/// Where a mover keeps its intent records (``MoveIntent``) so that recovery finds every move cut
/// short. The daemon keeps them in its state database; each call is one durable transaction.
public protocol MoveJournal: AnyObject, Sendable {
    /// Stores new records; returns their ids, in order.
    func begin(_ intents: [MoveIntent]) throws -> [Int64]
    /// Replaces stored records.
    func update(_ records: [(id: Int64, intent: MoveIntent)]) throws
    /// Removes records: those moves are over.
    func finish(_ ids: [Int64]) throws
    /// The records of `container` still stored.
    func pending(container: String) throws -> [(id: Int64, intent: MoveIntent)]
}

/// A journal in memory, for tests of the engine that do not crash.
public final class MemoryMoveJournal: MoveJournal, @unchecked Sendable {
    private var records: [Int64: MoveIntent] = [:]
    private var next: Int64 = 1
    public init() {}
    public func begin(_ intents: [MoveIntent]) throws -> [Int64] {
        intents.map { intent in
            defer { next += 1 }
            records[next] = intent
            return next
        }
    }
    public func update(_ updates: [(id: Int64, intent: MoveIntent)]) throws {
        for (id, intent) in updates { records[id] = intent }
    }
    public func finish(_ ids: [Int64]) throws { ids.forEach { records.removeValue(forKey: $0) } }
    public func pending(container: String) throws -> [(id: Int64, intent: MoveIntent)] {
        records.filter { $0.value.container == container }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
