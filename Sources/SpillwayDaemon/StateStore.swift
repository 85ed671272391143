import Foundation
import GRDB
import SpillwayCore

/// The daemon's persistent state: an SQLite database (GRDB) in `state_dir`, so that a restart,
/// graceful or `kill -9`, resumes every container, slot, partition, event and unfinished move.
///
/// Every change is one transaction with `synchronous = FULL`: what an API call or a state
/// change reported as done is on disk.
public final class StateStore: Sendable {
    let queue: DatabaseQueue
    public let path: String

    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// - Throws: ``StateStoreError`` naming the file and what to do, for an unreadable or
    ///   corrupt database.
    public init(path: String) throws {
        self.path = path
        try Self.makePrivate(path)
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
            }
            try Self.migrator.migrate(queue)
            _ = try queue.read { db in try String.fetchOne(db, sql: "PRAGMA quick_check") }
        } catch {
            throw StateStoreError(
                message: "the state database \(path) cannot be used (\(Self.describe(error))); move it aside to start afresh, and register the containers again")
        }
    }

    /// Makes the database file (and its journal files, if there) mode 0600: it holds container
    /// ids, roots and events. SQLite gives the journal files it makes the database's mode.
    static func makePrivate(_ path: String) throws {
        for (file, create) in [(path, true), (path + "-wal", false), (path + "-shm", false)] {
            let fd = open(file, O_RDWR | O_NOFOLLOW | O_CLOEXEC | (create ? O_CREAT : 0), 0o600)
            guard fd >= 0 else {
                if !create && errno == ENOENT { continue }
                throw StateStoreError(message: "the state database \(file) cannot be opened (\(String(cString: strerror(errno)))); it must be a regular file, not a symlink")
            }
            defer { close(fd) }
            _ = fchmod(fd, 0o600)
        }
    }

    static func describe(_ error: Error) -> String {
        if let db = error as? DatabaseError { return db.message ?? db.description }
        return String(describing: error)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "container") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("root", .text).notNull()
                t.column("mode", .text).notNull()
                t.column("state", .integer).notNull()
                t.column("stateSinceNs", .integer).notNull()
                t.column("limitBytes", .integer)
                t.column("partitionBytes", .integer)
                t.column("registeredNs", .integer).notNull()
            }
            try db.create(table: "event") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("timeNs", .integer).notNull()
                t.column("container", .text).notNull()
                t.column("body", .text).notNull()
            }
            try db.create(table: "work") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("container", .text).notNull()
                t.column("kind", .text).notNull()
                t.column("body", .text).notNull()
                t.column("createdNs", .integer).notNull()
            }
            try db.create(table: "setting") { t in
                t.primaryKey("key", .text)
                t.column("value", .text).notNull()
            }
        }
        return migrator
    }

    // MARK: containers

    public func containers() throws -> [StoredContainer] {
        try queue.read { db in try StoredContainer.order(Column("registeredNs")).fetchAll(db) }
    }

    /// Inserts a new container. Returns false if one with that id exists already.
    public func insert(_ container: StoredContainer) throws -> Bool {
        try queue.write { db in
            if try StoredContainer.fetchOne(db, key: container.id) != nil { return false }
            try container.insert(db)
            return true
        }
    }

    public func update(_ container: StoredContainer) throws {
        try queue.write { db in try container.update(db) }
    }

    public func remove(id: String) throws -> Bool {
        try queue.write { db in try StoredContainer.deleteOne(db, key: id) }
    }

    // MARK: events

    /// Appends `event` and returns it with its sequence number.
    public func append(_ event: EventRecord) throws -> EventRecord {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try queue.write { db in
            var stored = event
            try db.execute(sql: "INSERT INTO event (timeNs, container, body) VALUES (?, ?, '')",
                           arguments: [Int64(bitPattern: event.timeNanoseconds), event.container])
            stored.seq = db.lastInsertedRowID
            let body = String(decoding: try encoder.encode(stored), as: UTF8.self)
            try db.execute(sql: "UPDATE event SET body = ? WHERE seq = ?", arguments: [body, stored.seq])
            return stored
        }
    }

    /// Events with a sequence number above `since`, oldest first, at most `limit`.
    public func events(since: Int64, limit: Int = 10_000) throws -> [EventRecord] {
        let decoder = JSONDecoder()
        return try queue.read { db in
            try String.fetchAll(db, sql: "SELECT body FROM event WHERE seq > ? ORDER BY seq LIMIT ?", arguments: [since, limit])
                .map { try decoder.decode(EventRecord.self, from: Data($0.utf8)) }
        }
    }

    // MARK: settings

    public func setting(_ key: String) throws -> String? {
        try queue.read { db in try String.fetchOne(db, sql: "SELECT value FROM setting WHERE key = ?", arguments: [key]) }
    }

    public func setSetting(_ key: String, _ value: String) throws {
        try queue.write { db in
            try db.execute(sql: "INSERT INTO setting (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                           arguments: [key, value])
        }
    }
}

/// One managed container as the daemon keeps it.
public struct StoredContainer: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "container"

    public var id: String
    public var name: String
    public var root: String
    public var mode: String
    public var state: Int
    public var stateSinceNs: Int64
    public var limitBytes: Int64?
    public var partitionBytes: Int64?
    public var registeredNs: Int64

    public init(id: String, name: String, root: String, mode: String, state: SlotState, stateSinceNs: Int64,
                limitBytes: Int64? = nil, partitionBytes: Int64? = nil, registeredNs: Int64) {
        self.id = id
        self.name = name
        self.root = root
        self.mode = mode
        self.state = Int(state.rawValue)
        self.stateSinceNs = stateSinceNs
        self.limitBytes = limitBytes
        self.partitionBytes = partitionBytes
        self.registeredNs = registeredNs
    }

    public var slotState: SlotState {
        get { SlotState(rawValue: UInt32(clamping: state)) ?? .normal }
        set { state = Int(newValue.rawValue) }
    }
}

/// The state database cannot be used.
public struct StateStoreError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}
