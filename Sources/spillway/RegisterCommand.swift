import ArgumentParser
import SpillwayClient
import SpillwayCore

/// `spillway register ID --root PATH`: manage a container that no engine reports.
struct RegisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "register",
        abstract: "Manage a container no engine reports (systemd-nspawn, LXC, a runc bundle, tests)."
    )

    @OptionGroup var options: ClientOptions

    @Argument(help: "A name for it: 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit.")
    var id: String

    @Option(help: "Its root filesystem as the host sees it.")
    var root: String

    @Option(help: "How its programs are reached: preload (default), fuse or monitor.")
    var mode: String?

    func run() async throws {
        let registration = ContainerRegistration(id: id, root: root, mode: mode)
        try registration.validate()
        let status = try await options.client.register(registration)
        print("registered \(status.id): \(status.root), \(status.state), \(status.backend.map { "quota from \($0)" } ?? "no quota found")")
    }
}

/// `spillway unregister ID`: stop managing a container.
struct UnregisterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "unregister",
        abstract: "Stop managing a container registered with `spillway register`."
    )

    @OptionGroup var options: ClientOptions

    @Argument(help: "Its name or id (a unique prefix is enough).")
    var id: String

    func run() async throws {
        try await options.client.unregister(id)
        print("unregistered \(id)")
    }
}
