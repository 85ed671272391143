#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import SpillwayClient
import SpillwayCore

/// `spillway grow CONTAINER (--to SIZE | --by SIZE) [--wait]`: raise a container's main-disk quota
/// and move its spilled files back (claim 5).
struct GrowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grow",
        abstract: "Raise a container's main-disk quota and move its spilled files back.",
        discussion: """
            Sets the container's real limit (btrfs qgroup or XFS project quota), keeps it across \
            daemon restarts, and drains its spill area back to the main disk. With --wait, shows \
            the drain (files, bytes, rate, time to go) and returns when the spill area is empty.
            """
    )

    @OptionGroup var options: ClientOptions

    @Argument(help: "The container: its name, id, or a unique prefix of its id.")
    var container: String

    @Option(help: "The new limit, e.g. 2G.")
    var to: String?

    @Option(help: "How much to add to the current limit, e.g. 512M.")
    var by: String?

    @Flag(help: "Show the drain's progress and return when it is done.")
    var wait = false

    func validate() throws {
        _ = try request()
    }

    func request() throws -> GrowRequest {
        let request = GrowRequest(to: try to.map { try ByteSize(parsing: $0, what: "--to").bytes },
                                  by: try by.map { try ByteSize(parsing: $0, what: "--by").bytes })
        do {
            try request.validate()
        } catch {
            throw ValidationError(error.message)
        }
        return request
    }

    func run() async throws {
        let client = options.client
        let result = try await client.grow(container, try request())
        let id = result.container.id
        let shown = result.container.name
        let from = result.previousLimitBytes.map { ByteSize(bytes: $0).description } ?? "none"
        print("grew \(shown): limit \(from) -> \(ByteSize(bytes: result.limitBytes))" +
              (result.draining ? "; moving \(ByteSize(bytes: result.container.spilledBytes)) back from its spill area" : ""))
        if let note = result.note { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
        guard wait else { return }
        try await follow(id, shown: shown, client: client)
    }

    /// Polls the daemon until the container's drain is over.
    func follow(_ id: String, shown: String, client: ControlClient) async throws {
        let terminal = isatty(STDOUT_FILENO) == 1
        var lastLine = Date.distantPast
        var lastShown = ""
        while true {
            let status = try await client.status()
            guard let container = status.containers.first(where: { $0.id == id }) else {
                throw ValidationError("'\(shown)' is no longer managed")
            }
            let progress = container.drain
            if let progress {
                if terminal {
                    let line = progress.bar()
                    if line != lastShown {
                        print("\r\u{1B}[K" + line, terminator: "")
                        fflush(nil)
                        lastShown = line
                    }
                } else if Date().timeIntervalSince(lastLine) >= 1 || progress.phase == .done {
                    let line = "drain \(shown): \(progress.phase.rawValue), \(progress.summary)"
                    if line != lastShown {
                        print(line)
                        fflush(nil)
                        lastShown = line
                        lastLine = Date()
                    }
                }
            }
            switch container.state {
            case .normal:
                if terminal { print("") }
                let moved = progress.map { "\($0.filesMoved) files, \(ByteSize(bytes: $0.bytesMoved))" } ?? "nothing"
                let seconds = progress.map { Double($0.updatedNanoseconds &- $0.startedNanoseconds) / 1e9 } ?? 0
                print("drained \(shown): \(moved) moved back in \(String(format: "%.1f", seconds)) s; spill area empty, state normal")
                return
            case .spilling:
                if terminal { print("") }
                throw ValidationError("the drain of '\(id)' stopped: its usage reached the spill threshold again; grow it more (`spillway grow \(id) --by SIZE`)")
            case .draining:
                try await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}
