#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import SpillwayCore
import SpillwayDocker
import SpillwaySystem
import SystemPackage

/// `spillway daemon`: the supervisor, its control API, its poll loop, webhook and metrics, run as
/// one service group that stops gracefully on SIGTERM or SIGINT.
public enum Daemon {
    /// Runs until SIGTERM/SIGINT.
    ///
    /// - Throws: ``DaemonError`` for a second daemon on the same state or socket, and whatever
    ///   ``Supervisor`` throws for a bad sub disk or state; nothing is changed in those cases.
    public static func run(configuration: DaemonConfiguration, logger: Logger) async throws {
        raiseDescriptorLimit(logger: logger)
        try Supervisor.makeDirectory(configuration.stateDir, mode: 0o700)
        let lock = try InstanceLock(path: configuration.stateDir + "/daemon.lock")
        defer { lock.release() }
        try claimSocket(configuration.socket)
        defer { _ = unlink(configuration.socket) }

        let supervisor = try await Supervisor(configuration: configuration, logger: logger)
        var services: [any Service] = [
            ControlServer.application(socketPath: configuration.socket, handler: supervisor, logger: logger),
            PollService(supervisor: supervisor, interval: configuration.pollInterval),
        ]
        if let dockerSocket = configuration.dockerSocket {
            services.append(DockerDiscoveryService(supervisor: supervisor, docker: DockerClient(socketPath: dockerSocket), logger: logger))
        }
        if let webhook = configuration.webhookURL {
            services.append(WebhookService(url: webhook.description, events: supervisor.events, logger: logger))
        }
        if let listen = configuration.metricsListen {
            services.append(Metrics.application(listen: listen, supervisor: supervisor, logger: logger))
        }
        let group = ServiceGroup(configuration: .init(
            services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        logger.info("spillway daemon started", metadata: [
            "sub_disk": "\(configuration.subDisk ?? "")", "socket": "\(configuration.socket)", "pid": "\(getpid())",
        ])
        try await group.run()
        await supervisor.shutdown()
        logger.info("spillway daemon stopped")
    }

    /// Each btrfs container keeps a few sysfs files open so that a poll is a handful of preads;
    /// 1,000 containers need more descriptors than the usual soft limit of 1,024.
    static func raiseDescriptorLimit(logger: Logger) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 {
            logger.warning("cannot raise the open-file limit", metadata: ["limit": "\(limit.rlim_max)"])
        }
    }

    /// Makes sure nobody answers on `path`, then removes a stale socket file there.
    static func claimSocket(_ path: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty { try Supervisor.makeDirectory(directory, mode: 0o700) }
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw DaemonError(message: "\(path) exists and is not a socket; choose another `socket` or remove that file")
        }
        if UnixSocket.answers(path) {
            throw DaemonError(message: "another spillway daemon is listening on \(path); stop it first, or give this one another `socket` and `state_dir`")
        }
        _ = unlink(path)
    }
}

/// The daemon cannot start as configured.
public struct DaemonError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

/// One daemon per state directory: an exclusive flock held for the daemon's life.
final class InstanceLock {
    private let fd: Int32

    init(path: String) throws {
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw SystemError("open lock file", path: path, syscall: "open", errno: Errno(rawValue: errno))
        }
        if flock(fd, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let got = pread(fd, &buffer, buffer.count, 0)
            let pid = got > 0 ? String(decoding: buffer.prefix(got), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "?"
            close(fd)
            throw DaemonError(message: "another spillway daemon (pid \(pid)) is using the state directory \((path as NSString).deletingLastPathComponent); stop it first")
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, text, text.count, 0)
    }

    func release() {
        close(fd)
    }
}

/// Tiny unix-socket helpers.
enum UnixSocket {
    /// Does something accept connections on `path`?
    static func answers(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
        }
        let size = socklen_t(MemoryLayout<sockaddr_un>.size)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, size) == 0 }
        }
    }
}

/// Polls every container at the configured interval until shutdown.
struct PollService: Service {
    let supervisor: Supervisor
    let interval: Duration

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while true {
                    await supervisor.pollOnce()
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {
            return
        }
    }
}
