import ArgumentParser
import SpillwayCore
import SpillwaySystem
import SystemPackage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `spillway slot create|set|show PATH`: a standalone slot file, to use the preload library
/// outside any container (with SPILLWAY_SLOT, SPILLWAY_SPILL and SPILLWAY_ROOT).
struct SlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slot",
        abstract: "Make, change and show a standalone slot file.",
        discussion: """
            A slot is the page-sized file the preload library maps read-only to learn its \
            container's state. Run a program with LD_PRELOAD=libspillway.so, SPILLWAY_SLOT=PATH, \
            SPILLWAY_SPILL=DIR and SPILLWAY_ROOT=TREE to use one outside a container.
            """,
        subcommands: [Create.self, Set.self, Show.self]
    )

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a slot file (refuses to overwrite one).")

        @Argument(help: "Where to create the slot file; its directory must exist.")
        var path: String

        @Option(help: "The initial state: normal, spilling or draining.")
        var state: String = "normal"

        @Option(name: .customLong("id"), help: "The container id to record in the slot: 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit.")
        var containerID: String = ""

        func run() throws {
            let state = try SlotState(parsing: state, what: "--state")
            let slot = try SlotFile.create(
                at: FilePath(path), initial: SlotSnapshot(state: state, containerID: containerID))
            print("created \(path): \(try slot.read().state)")
        }
    }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a slot's state, atomically for its readers.")

        @Argument(help: "The slot file.")
        var path: String

        @Option(help: "The new state: normal, spilling or draining.")
        var state: String

        func run() throws {
            let state = try SlotState(parsing: state, what: "--state")
            let slot = try SlotFile.open(at: FilePath(path))
            let before = try slot.read().state
            let after = try slot.update { $0.state = state }
            print("\(path): \(before) -> \(after.state) (generation \(after.generation))")
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a slot's fields.")

        @Argument(help: "The slot file.")
        var path: String

        @Flag(help: "Print one JSON object instead of a table.")
        var json = false

        func run() throws {
            let snapshot = try SlotFile.open(at: FilePath(path)).read()
            let report = SlotReport(path: path, snapshot: snapshot)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                print(report.table)
            }
        }
    }
}

/// What `spillway slot show` prints.
struct SlotReport: Encodable {
    let path: String
    let state: String
    let generation: UInt64
    let containerID: String
    let spillLimitBytes: UInt64?
    let mainLimitBytes: UInt64?
    let updatedUnixNanoseconds: UInt64
    let moveEpoch: UInt64

    enum CodingKeys: String, CodingKey {
        case path, state, generation
        case containerID = "container_id"
        case spillLimitBytes = "spill_limit_bytes"
        case mainLimitBytes = "main_limit_bytes"
        case updatedUnixNanoseconds = "updated_unix_ns"
        case moveEpoch = "move_epoch"
    }

    init(path: String, snapshot: SlotSnapshot) {
        self.path = path
        state = snapshot.state.description
        generation = snapshot.generation
        containerID = snapshot.containerID
        spillLimitBytes = snapshot.spillLimit
        mainLimitBytes = snapshot.mainLimit
        updatedUnixNanoseconds = snapshot.updatedNanoseconds
        moveEpoch = snapshot.moveEpoch
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(path, forKey: .path)
        try container.encode(state, forKey: .state)
        try container.encode(generation, forKey: .generation)
        try container.encode(containerID, forKey: .containerID)
        try container.encode(spillLimitBytes, forKey: .spillLimitBytes)
        try container.encode(mainLimitBytes, forKey: .mainLimitBytes)
        try container.encode(updatedUnixNanoseconds, forKey: .updatedUnixNanoseconds)
        try container.encode(moveEpoch, forKey: .moveEpoch)
    }

    var table: String {
        let updated = Date(timeIntervalSince1970: Double(updatedUnixNanoseconds) / 1e9)
        let rows: [(String, String)] = [
            ("slot", path),
            ("state", state),
            ("generation", String(generation)),
            ("container", containerID.isEmpty ? "(standalone)" : containerID),
            ("spill limit", spillLimitBytes.map { ByteSize(bytes: $0).description } ?? "none"),
            ("main limit", mainLimitBytes.map { ByteSize(bytes: $0).description } ?? "unknown"),
            ("updated", updated.formatted(.iso8601)),
            ("move epoch", String(moveEpoch)),
        ]
        return rows.map { name, value in name + String(repeating: " ", count: max(1, 12 - name.count)) + value }
            .joined(separator: "\n")
    }
}
