import SpillwayCore

/// Every event the daemon emits: stored first (so `spillway events` shows it after a restart),
/// then handed to the live subscribers (`events --follow`, the webhook sender).
public actor EventLog {
    let store: StateStore
    private var subscribers: [Int: AsyncStream<EventRecord>.Continuation] = [:]
    private var nextSubscriber = 0

    public init(store: StateStore) {
        self.store = store
    }

    /// Records `event` and tells every subscriber; returns it with its sequence number.
    @discardableResult
    public func emit(_ event: EventRecord) throws -> EventRecord {
        let stored = try store.append(event)
        for continuation in subscribers.values { continuation.yield(stored) }
        return stored
    }

    /// Tells every subscriber about an event already stored.
    public func publish(_ stored: EventRecord) {
        for continuation in subscribers.values { continuation.yield(stored) }
    }

    /// Events with a sequence number above `since`.
    public func history(since: Int64) throws -> [EventRecord] {
        try store.events(since: since)
    }

    /// A stream of every event from now on; it ends when the caller stops iterating.
    public func subscribe(bufferingNewest limit: Int = 10_000) -> AsyncStream<EventRecord> {
        let id = nextSubscriber
        nextSubscriber += 1
        let (stream, continuation) = AsyncStream<EventRecord>.makeStream(bufferingPolicy: .bufferingNewest(limit))
        continuation.onTermination = { [weak self] _ in
            Task { await self?.unsubscribe(id) }
        }
        subscribers[id] = continuation
        return stream
    }

    private func unsubscribe(_ id: Int) {
        subscribers.removeValue(forKey: id)
    }

    /// Ends every subscription (at shutdown).
    public func finishAll() {
        for continuation in subscribers.values { continuation.finish() }
        subscribers.removeAll()
    }
}
