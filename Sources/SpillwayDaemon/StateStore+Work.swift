import Foundation
import GRDB
import SpillwayCore
import SpillwaySystem

extension StateStore {
    /// The kind of a `work` row that holds a ``MoveIntent``.
    static let drainMoveKind = "drain-move"
}

/// The drain's intent records in the state database (table `work`, kind `drain-move`), each call
/// one transaction with `synchronous = FULL`: a record the engine was told is stored is on disk.
// @unchecked: it holds only the StateStore (Sendable: GRDB serialises every access).
public final class StoreMoveJournal: MoveJournal, @unchecked Sendable {
    let store: StateStore

    public init(store: StateStore) {
        self.store = store
    }

    // The bodies are built by SQLite's JSON functions, in ``MoveIntent``'s Codable form (read
    // back by ``pending(container:)`` with JSONDecoder): a drain writes two records per file,
    // and Foundation's encoder took most of each transaction's time.

    public func begin(_ intents: [MoveIntent]) throws -> [Int64] {
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        return try store.queue.write { db in
            let insert = try db.cachedStatement(sql: """
                INSERT INTO work (container, kind, body, createdNs) VALUES (?, ?, json_object(
                    'container', ?, 'relative_path', ?, 'temp_name', ?, 'phase', ?, 'temp_inode', ?,
                    'source', json_object('inode', ?, 'size', ?, 'mtime_ns', ?, 'ctime_ns', ?)), ?)
                """)
            return try intents.map { intent in
                try insert.execute(arguments: [
                    intent.container, StateStore.drainMoveKind,
                    intent.container, intent.relativePath, intent.tempName, intent.phase.rawValue, intent.tempInode,
                    intent.source.inode, intent.source.size, intent.source.mtimeNanoseconds, intent.source.ctimeNanoseconds, now,
                ])
                return db.lastInsertedRowID
            }
        }
    }

    public func markReady(_ records: [(id: Int64, tempInode: UInt64)]) throws {
        try store.queue.write { db in
            let update = try db.cachedStatement(sql: """
                UPDATE work SET body = json_set(body, '$.phase', ?, '$.temp_inode', ?) WHERE id = ?
                """)
            for record in records {
                try update.execute(arguments: [MoveIntent.Phase.ready.rawValue, record.tempInode, record.id])
            }
        }
    }

    public func finish(_ ids: [Int64]) throws {
        guard !ids.isEmpty else { return }
        try store.queue.write { db in
            let delete = try db.cachedStatement(sql: "DELETE FROM work WHERE id = ?")
            for id in ids { try delete.execute(arguments: [id]) }
        }
    }

    /// The stored records of `container`; a record that cannot be read is reported as an error
    /// naming it (it is never silently dropped: it may name a temporary file to remove).
    public func pending(container: String) throws -> [(id: Int64, intent: MoveIntent)] {
        let rows = try store.queue.read { db in
            try Row.fetchAll(db, sql: "SELECT id, body FROM work WHERE container = ? AND kind = ? ORDER BY id",
                             arguments: [container, StateStore.drainMoveKind])
        }
        let decoder = JSONDecoder()
        return try rows.map { row in
            let id: Int64 = row["id"]
            let body: String = row["body"]
            do {
                return (id, try decoder.decode(MoveIntent.self, from: Data(body.utf8)))
            } catch {
                throw StateStoreError(message: "work record \(id) in \(store.path) is not a readable drain move (\(error)); move the database aside only after checking the container's tree for .spillway-move.* files")
            }
        }
    }
}
