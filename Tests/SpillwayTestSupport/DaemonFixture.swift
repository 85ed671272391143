import Foundation
import SpillwaySystem

/// A real `spillway daemon` for tests: a btrfs main disk with quotas (containers are
/// qgroup-limited subvolumes), a btrfs sub disk mounted nosuid,nodev, its own state and run
/// directories and socket. ``destroy()`` stops the daemon and removes every mount and loop device.
public final class DaemonFixture: @unchecked Sendable {
    public let main: LoopFilesystem
    public let sub: LoopFilesystem
    public let base: String
    public let configPath: String
    public var socket: String { base + "/run/spillway.sock" }
    public var stateDir: String { base + "/state" }
    public var runDir: String { base + "/run" }
    public private(set) var process: Process?
    private let logPath: String

    /// - Parameters:
    ///   - dockerSocket: the `docker_socket` to discover containers on (`""`: none).
    ///   - extraConfig: more TOML lines (e.g. `webhook_url = "..."`).
    public init(mainMegabytes: Int = 1024, subMegabytes: Int = 1024, dockerSocket: String = "", extraConfig: String = "") throws {
        main = try LoopFilesystem(type: "btrfs", megabytes: mainMegabytes)
        do {
            sub = try LoopFilesystem(type: "btrfs", megabytes: subMegabytes, options: "nosuid,nodev")
        } catch {
            main.destroy()
            throw error
        }
        base = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-daemon-\(UUID().uuidString.prefix(8))").path
        configPath = base + "/spillway.toml"
        logPath = base + "/daemon.log"
        do {
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
            try Command.check(["btrfs", "quota", "enable", main.mountPoint])
            try Command.check(["btrfs", "quota", "enable", sub.mountPoint])
            try Command.check(["chmod", "0755", sub.mountPoint])
            let config = """
                sub_disk = "\(sub.mountPoint)"
                state_dir = "\(base)/state"
                run_dir = "\(base)/run"
                poll_interval = 0.25
                docker_socket = "\(dockerSocket)"
                \(extraConfig)
                """
            try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        } catch {
            destroy()
            throw error
        }
    }

    /// A container root: a btrfs subvolume on the main disk with a qgroup limit.
    @discardableResult
    public func makeContainer(_ id: String, limit: String) throws -> String {
        let root = main.mountPoint + "/" + id
        try Command.check(["btrfs", "subvolume", "create", root])
        try Command.check(["btrfs", "qgroup", "limit", limit, root])
        return root
    }

    public var environment: [String: String] { ["SPILLWAY_SOCKET": socket] }

    /// Starts the daemon and waits until its socket answers.
    public func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Paths.spillway)
        process.arguments = ["daemon", "--config", configPath]
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let logHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        logHandle.seekToEndOfFile()
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: socket),
               (try? Command.run([Paths.spillway, "status", "--socket", socket]))?.status == 0 {
                return
            }
            if !process.isRunning { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        throw CommandFailure(argv: ["spillway", "daemon"], result: CommandResult(status: process.isRunning ? -1 : process.terminationStatus, stdout: "", stderr: log()))
    }

    /// Stops the daemon: SIGTERM (graceful) or SIGKILL.
    public func stop(kill: Bool = false) {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, kill ? SIGKILL : SIGTERM)
        process.waitUntilExit()
        self.process = nil
    }

    /// What the daemon logged so far.
    public func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    /// Runs `spillway ARGS` against this daemon.
    public func spillway(_ arguments: String...) throws -> CommandResult {
        try Command.run([Paths.spillway] + arguments + ["--socket", socket])
    }

    /// Stops the daemon and removes everything; safe to call twice.
    public func destroy() {
        stop(kill: true)
        // FUSE unions the daemon mounted (their servers outlive it by design): unmounting one
        // ends its server; a server left without a mount is stopped by its PID.
        HostCommand.unmountAll(under: runDir)
        for pid in HostCommand.processes(mentioning: base + "/") { kill(pid, SIGKILL) }
        // Spill-area subvolumes and loop images live on the sub disk; unmounting it suffices.
        sub.destroy()
        main.destroy()
        try? FileManager.default.removeItem(atPath: base)
    }

    deinit { destroy() }
}
