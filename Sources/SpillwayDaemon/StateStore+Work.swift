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
public final class StoreMoveJournal: MoveJournal, @unchecked Sendable {
    let store: StateStore

    public init(store: StateStore) {
        self.store = store
    }

    private static func body(_ intent: MoveIntent) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(intent), as: UTF8.self)
    }

    public func begin(_ intents: [MoveIntent]) throws -> [Int64] {
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        return try store.queue.write { db in
            try intents.map { intent in
                try db.execute(sql: "INSERT INTO work (container, kind, body, createdNs) VALUES (?, ?, ?, ?)",
                               arguments: [intent.container, StateStore.drainMoveKind, try Self.body(intent), now])
                return db.lastInsertedRowID
            }
        }
    }

    public func update(_ records: [(id: Int64, intent: MoveIntent)]) throws {
        try store.queue.write { db in
            for (id, intent) in records {
                try db.execute(sql: "UPDATE work SET body = ? WHERE id = ?", arguments: [try Self.body(intent), id])
            }
        }
    }

    public func finish(_ ids: [Int64]) throws {
        guard !ids.isEmpty else { return }
        try store.queue.write { db in
            for id in ids { try db.execute(sql: "DELETE FROM work WHERE id = ?", arguments: [id]) }
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
