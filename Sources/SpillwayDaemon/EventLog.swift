import SpillwayCore
import Synchronization

/// Every event the daemon emits goes through ``emit(_:)``, the one path: stored first (so
/// `spillway events` shows it after a restart, and the store gives it its sequence number), then
/// handed to every live subscriber (`events --follow`, the webhook sender) in the same call.
///
/// Storing and handing out happen under one lock, so subscribers see events in sequence order
/// with no gap, whoever emits them; a subscriber that falls more than its buffer behind loses the
/// oldest events it has not read (and can read them back from the store).
public final class EventLog: Sendable {
    let store: StateStore
    private struct Subscribers {
        var streams: [Int: AsyncStream<EventRecord>.Continuation] = [:]
        var next = 0
        var finished = false
    }
    private let subscribers = Mutex(Subscribers())

    public init(store: StateStore) {
        self.store = store
    }

    /// Records `event` and tells every subscriber; returns it with its sequence number.
    @discardableResult
    public func emit(_ event: EventRecord) throws -> EventRecord {
        try subscribers.withLock { subscribers in
            let stored = try store.append(event)
            for continuation in subscribers.streams.values { continuation.yield(stored) }
            return stored
        }
    }

    /// Events with a sequence number above `since`.
    public func history(since: Int64) throws -> [EventRecord] {
        try store.events(since: since)
    }

    /// A stream of every event from now on; it ends when the caller stops iterating or the log
    /// is finished (at shutdown).
    public func subscribe(bufferingNewest limit: Int = 10_000) -> AsyncStream<EventRecord> {
        let (stream, continuation) = AsyncStream<EventRecord>.makeStream(bufferingPolicy: .bufferingNewest(limit))
        let id: Int? = subscribers.withLock { subscribers in
            guard !subscribers.finished else { return nil }
            let id = subscribers.next
            subscribers.next += 1
            subscribers.streams[id] = continuation
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.subscribers.withLock { $0.streams.removeValue(forKey: id) }
        }
        return stream
    }

    /// Ends every subscription (at shutdown).
    public func finishAll() {
        let streams = subscribers.withLock { subscribers in
            subscribers.finished = true
            defer { subscribers.streams.removeAll() }
            return Array(subscribers.streams.values)
        }
        for continuation in streams { continuation.finish() }
    }
}
