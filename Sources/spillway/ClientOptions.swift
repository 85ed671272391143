import ArgumentParser
import SpillwayClient

/// Options every command that talks to the daemon takes.
struct ClientOptions: ParsableArguments {
    @Option(help: "The daemon's control socket (default: $SPILLWAY_SOCKET or /run/spillway/spillway.sock).")
    var socket: String?

    var client: ControlClient { ControlClient(socketPath: socket) }
}
