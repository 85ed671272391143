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
