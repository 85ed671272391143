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
            the drain (files, bytes, rate, time to go) and returns when the spill area is empty; \
            files the drain must leave are named with why (and the processes that hold them open). \
            It gives up, with a non-zero status, when only files the drain refuses remain (a name \
            on their way is a symbolic link, or another file has their name on the main disk) or \
            when no file moved for --timeout seconds; the drain goes on in the background and \
            `spillway status` shows what it waits for.
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

    @Option(help: "With --wait: give up after this many seconds in which no file moved back.")
    var timeout: Double = 300

    func validate() throws {
        _ = try request()
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be a positive number of seconds") }
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
        var lastHeld: [String] = []
        var lastMoved = -1
        var lastMove = Date()
        while true {
            let status = try await client.status()
            guard let container = status.containers.first(where: { $0.id == id }) else {
                throw ValidationError("'\(shown)' is no longer managed")
            }
            let progress = container.drain
            if let progress, progress.filesMoved != lastMoved {
                lastMoved = progress.filesMoved
                lastMove = Date()
            }
            if let progress, container.state == .draining, progress.phase == .waiting {
                // Each file the drain leaves, once, with why and who holds it.
                let held = (progress.held ?? []).map { ($0.refused ? "refused " : "waiting for ") + $0.line }
                if held != lastHeld {
                    if terminal, !lastShown.isEmpty { print("") }
                    held.filter { !lastHeld.contains($0) }.forEach { print("drain \(shown): \($0)") }
                    fflush(nil)
                    lastHeld = held
                    lastShown = ""
                }
                let refused = progress.refused
                if !refused.isEmpty, refused.count >= progress.filesDeferred {
                    if terminal { print("") }
                    throw ValidationError("the drain of '\(shown)' cannot finish: it refuses \(refused.count) file(s) (\(refused.map(\.line).joined(separator: "; "))); they stay in the spill area and '\(shown)' stays draining until what is in their way goes; `spillway status` shows them")
                }
                if Date().timeIntervalSince(lastMove) >= timeout {
                    if terminal { print("") }
                    let named = (progress.held ?? []).map(\.line).joined(separator: "; ")
                    throw ValidationError("gave up waiting for the drain of '\(shown)' after \(String(format: "%g", timeout)) s with no file moved: \(progress.filesDeferred) file(s) wait (\(named)); '\(shown)' stays draining and the drain retries them every second; `spillway status` shows them")
                }
            }
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
