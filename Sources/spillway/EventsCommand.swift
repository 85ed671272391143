import ArgumentParser
import Foundation
import SpillwayClient
import SpillwayCore

/// `spillway events [--follow] [--json]`: what happened to the managed containers.
struct EventsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        abstract: "Show state changes and other events; --follow keeps listening."
    )

    @OptionGroup var options: ClientOptions

    @Flag(help: "Keep running and print events as they happen.")
    var follow = false

    @Flag(help: "Print one JSON object per line.")
    var json = false

    @Option(help: "Only events after this sequence number.")
    var since: Int64 = 0

    func run() async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        for try await event in options.client.events(since: since, follow: follow) {
            let text = json ? String(decoding: try encoder.encode(event), as: UTF8.self) : Self.line(event)
            // Unbuffered, so that a pipe sees each event as it happens.
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
    }

    static func line(_ event: EventRecord) -> String {
        let time = Date(timeIntervalSince1970: Double(event.timeNanoseconds) / 1e9).formatted(.iso8601)
        var text = "\(time) #\(event.seq) \(event.container) \(event.kind)"
        if let from = event.from, let to = event.to { text += " \(from) -> \(to)" }
        if let rate = event.usageRate { text += " at \(Int((rate * 100).rounded()))%" }
        if let reason = event.reason { text += " (\(reason))" }
        if let detail = event.detail { text += ": \(detail)" }
        return text
    }
}

enum SpillwayCoreFormat {
    static func size(_ bytes: UInt64) -> String { ByteSize(bytes: bytes).description }
}
