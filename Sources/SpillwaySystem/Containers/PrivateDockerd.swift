#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A private dockerd (for `spillway demo` and the tests): its own data root (on a btrfs filesystem the caller provides,
/// for `--storage-opt size`), socket, exec root, pid file and managed containerd; no bridge, no
/// iptables. It never talks to the machine's own Docker. ``destroy()`` removes every container,
/// stops dockerd (by its pid), its containerd and shims, and unmounts what they left under the
/// data root; safe to call twice, and called by `deinit`.
// @unchecked: made and destroyed by one caller (the demo or a test); nothing in it is shared
// between threads while it changes.
public final class PrivateDockerd: @unchecked Sendable {
    public let base: String
    public var socket: String { base + "/docker.sock" }
    public var execRoot: String { base + "/exec" }
    public var pidFile: String { base + "/dockerd.pid" }
    public var logPath: String { base + "/dockerd.log" }
    public private(set) var dataRoot: String?
    public private(set) var process: Process?

    /// Makes the private directory (short, so sockets under it fit in 107 bytes).
    /// - Parameter base: the directory to use (made if missing); default a new one in /tmp.
    public init(base: String? = nil) throws {
        self.base = base ?? "/tmp/sw-dockerd-\(UUID().uuidString.prefix(8).lowercased())"
        try FileManager.default.createDirectory(atPath: self.base + "/exec", withIntermediateDirectories: true)
    }

    /// Starts dockerd with the btrfs storage driver on `dataRoot` and the given runtimes
    /// (name → path and arguments), and waits until it answers.
    /// - Parameter extraArguments: more dockerd options (e.g. `--userns-remap=default`).
    public func start(dataRoot: String, runtimes: [String: (path: String, args: [String])] = [:], extraArguments: [String] = []) throws {
        self.dataRoot = dataRoot
        try FileManager.default.createDirectory(atPath: dataRoot, withIntermediateDirectories: true)
        var config: [String: Any] = [:]
        if !runtimes.isEmpty {
            config["runtimes"] = runtimes.mapValues { ["path": $0.path, "runtimeArgs": $0.args] as [String: Any] }
        }
        let configPath = base + "/daemon.json"
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
        let process = Process()
        guard let dockerd = ProcessReplacement.resolve("dockerd") else {
            throw HostCommandError(message: "dockerd is not installed; run tools/install-deps (Debian's docker.io)")
        }
        // Its own session, so a Ctrl-C at the terminal reaches only whoever started it.
        process.executableURL = URL(fileURLWithPath: ProcessReplacement.resolve("setsid") ?? dockerd)
        process.arguments = (process.executableURL?.path == dockerd ? [] : [dockerd]) + [
            "--config-file", configPath, "--data-root", dataRoot, "--exec-root", execRoot, "--pidfile", pidFile,
            "--host", "unix://" + socket, "--storage-driver", "btrfs",
            "--bridge", "none", "--iptables=false", "--ip6tables=false", "--ip-masq=false", "--userland-proxy=false",
        ] + extraArguments
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        self.process = process
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            // setsid may fork (when the child leads its process group); then only a failure counts.
            if !process.isRunning, process.terminationStatus != 0 { break }
            if FileManager.default.fileExists(atPath: socket), (try? docker("version"))?.status == 0 { return }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        destroy()
        throw HostCommandError(message: "dockerd did not start within 60 s; its log ends: \(text.suffix(2000))")
    }

    /// dockerd's process id, from its pid file.
    public var pid: pid_t? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8) else { return nil }
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Runs `docker -H unix://SOCKET ARGS`.
    @discardableResult
    public func docker(_ arguments: String..., input: String? = nil) throws -> HostCommand.Result {
        try docker(arguments, input: input)
    }

    @discardableResult
    public func docker(_ arguments: [String], input: String? = nil) throws -> HostCommand.Result {
        try HostCommand.run(["docker", "-H", "unix://" + socket] + arguments, environment: ["DOCKER_CONFIG": base + "/client"], input: input)
    }

    /// Imports the tar file `tarball` (a root filesystem) as image `tag`.
    public func importImage(_ tarball: String, tag: String) throws {
        try HostCommand.check(["docker", "-H", "unix://" + socket, "import", tarball, tag], environment: ["DOCKER_CONFIG": base + "/client"])
    }

    /// dockerd's log so far.
    public func log() -> String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Removes every container, stops dockerd and everything it started, unmounts what it
    /// mounted, and deletes the private directory.
    public func destroy() {
        if let pid, kill(pid, 0) == 0 {
            if let ids = try? docker("ps", "-aq").stdout.split(separator: "\n").map(String.init), !ids.isEmpty {
                _ = try? docker(["rm", "-f"] + ids)
            }
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(20)
            func alive() -> Bool {
                if let process, process.processIdentifier == pid { return process.isRunning }
                return kill(pid, 0) == 0
            }
            while alive(), Date() < deadline { Thread.sleep(forTimeInterval: 0.1) }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }
        if let process {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        process = nil
        // containerd and its shims, should dockerd have died without stopping them.
        for pid in HostCommand.processes(mentioning: base) { kill(pid, SIGKILL) }
        for root in [dataRoot, execRoot].compactMap({ $0 }) { HostCommand.unmountAll(under: root) }
        try? FileManager.default.removeItem(atPath: base)
    }

    deinit { destroy() }
}
