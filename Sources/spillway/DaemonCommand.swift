import ArgumentParser
import Foundation
import Logging
import SpillwayCore
import SpillwayDaemon

/// `spillway daemon [--config FILE]`: the supervisor, in the foreground (systemd runs it so).
struct DaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Run the supervisor: monitor quotas, raise flags, plan partitions, serve the control API.",
        discussion: "Stops gracefully on SIGTERM or SIGINT; state persists in state_dir, so a restart resumes everything."
    )

    static let defaultConfig = "/etc/spillway/spillway.toml"

    @Option(help: "The TOML configuration file (default \(defaultConfig)); see docs/CONFIG.md.")
    var config: String?

    func run() async throws {
        let path = config ?? Self.defaultConfig
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw InputError(config == nil
                ? "no configuration at \(path): write one with at least `sub_disk = \"/mnt/sub\"` (see docs/CONFIG.md), or pass --config FILE"
                : "cannot read --config \(path): \((error as NSError).localizedDescription)")
        }
        let configuration: DaemonConfiguration
        do {
            configuration = try DaemonConfiguration(toml: text)
        } catch {
            throw InputError("\(path): \(error.message)")
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["SPILLWAY_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .info
            return handler
        }
        try await Daemon.run(configuration: configuration, logger: Logger(label: "spillway"))
    }
}
