import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import SpillwayCore

/// Posts every event as JSON to the configured webhook, retrying with exponential backoff.
///
/// It reads from its own subscription (bounded, newest kept), so a slow or dead receiver never
/// holds up the monitor; an event that still fails after the last retry is logged and dropped
/// (it stays in `spillway events`).
struct WebhookService: Service {
    let url: String
    let events: EventLog
    let logger: Logger
    static let delays: [Duration] = [.milliseconds(500), .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(16), .seconds(30)]

    func run() async throws {
        let stream = events.subscribe()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        do {
            try await cancelWhenGracefulShutdown {
                for await event in stream {
                    try await deliver(try encoder.encode(event), seq: event.seq)
                }
            }
        } catch is CancellationError {
            return
        }
    }

    private func deliver(_ body: Data, seq: Int64) async throws {
        for attempt in 0...Self.delays.count {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "User-Agent", value: "spillway")
            request.body = .bytes(ByteBuffer(bytes: body))
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
                _ = try? await response.body.collect(upTo: 1 << 16)
                if (200..<300).contains(Int(response.status.code)) { return }
                logger.warning("webhook answered \(response.status.code)", metadata: ["seq": "\(seq)", "attempt": "\(attempt + 1)"])
            } catch {
                logger.warning("webhook failed", metadata: ["seq": "\(seq)", "attempt": "\(attempt + 1)", "error": "\(error)"])
            }
            guard attempt < Self.delays.count else { break }
            try await Task.sleep(for: Self.delays[attempt])
        }
        logger.error("webhook gave up on an event", metadata: ["seq": "\(seq)", "url": "\(url)"])
    }
}
