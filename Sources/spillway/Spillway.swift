import ArgumentParser
import SpillwayFuse

/// `spillway`: the supervisor's command line. Each subcommand lives in its own file and only
/// parses and prints; the work is done by the Spillway libraries.
@main
struct Spillway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spillway",
        abstract: "Keep containers writing when their disk quota runs out.",
        discussion: """
            Spillway watches each managed container's main-disk usage and, past a threshold, \
            stores its new and modified files in the container's own spill area on a spare \
            disk, while the application keeps seeing one tree.
            """,
        version: "spillway \(SpillwayVersion.current) (libfuse \(FuseLibrary.version))",
        subcommands: [
            DaemonCommand.self, StatusCommand.self, PlanCommand.self, EventsCommand.self,
            RegisterCommand.self, UnregisterCommand.self, GrowCommand.self, SlotCommand.self, InspectCommand.self, DemoCommand.self,
            DrainTestCommand.self, FuseCommand.self,
        ]
    )
}

enum SpillwayVersion {
    static let current = "0.1.0"
}
