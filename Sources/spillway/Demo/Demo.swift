#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SpillwayCore
import SpillwaySystem

/// The demo's scenario and everything it made, so that ``cleanUp()`` (at the end, on an error,
/// on SIGINT or SIGTERM) removes exactly that: containers, dockerd and its containerd, the
/// daemon, mounts, loop devices and the work directory.
// @unchecked: the scenario runs on one thread; the signal handler only calls cleanUp(), which
// takes the same lock as every change to what the demo made.
final class Demo: @unchecked Sendable {
    struct Writer {
        let name: String
        let quota: String
        let quotaMiB: Int
        /// MiB it writes, in 4 MiB files, well past its quota.
        var writeMiB: Int { quotaMiB * 2 }
    }

    static let writers = [
        Writer(name: "demo-small", quota: "48M", quotaMiB: 48),
        Writer(name: "demo-medium", quota: "64M", quotaMiB: 64),
        Writer(name: "demo-large", quota: "96M", quotaMiB: 96),
    ]
    static let image = "spillway-demo:1"

    let work: String
    let libDir: String
    let timeout: Double
    let keepLogs: String?
    let spillway: String
    let runtime: String
    private let lock = NSLock()
    private var loops: [String] = []
    private var daemon: Process?
    private var dockerd: PrivateDockerd?
    private var cleaned = false
    private var signalSources: [DispatchSourceSignal] = []

    var socket: String { work + "/run/spillway.sock" }
    var mainDisk: String { work + "/main" }
    var subDisk: String { work + "/sub" }

    init(libDir: String, timeout: Double, keepLogs: String?) throws {
        self.libDir = libDir
        self.timeout = timeout
        self.keepLogs = keepLogs
        spillway = Self.ownExecutable()
        let beside = (spillway as NSString).deletingLastPathComponent + "/spillway-runtime"
        guard let runtime = access(beside, X_OK) == 0 ? beside : ProcessReplacement.resolve("spillway-runtime") else {
            throw HostCommandError(message: "spillway-runtime is neither beside \(spillway) nor on PATH; run tools/install")
        }
        self.runtime = runtime
        for tool in ["dockerd", "docker", "runc", "mkfs.btrfs", "btrfs", "losetup", "tar", "ldd"] where ProcessReplacement.resolve(tool) == nil {
            throw HostCommandError(message: "\(tool) is not installed; run tools/install-deps")
        }
        work = "/tmp/spillway-demo-\(UUID().uuidString.prefix(6).lowercased())"
        try FileManager.default.createDirectory(atPath: work + "/run", withIntermediateDirectories: true)
        catchSignals()
    }

    // MARK: - The scenario

    func run() throws {
        say("work directory \(work); everything in it goes away at the end (also on Ctrl-C)")
        try makeDisk(at: mainDisk, megabytes: 2048, options: nil)
        say("main disk: 2 GiB btrfs on \(loops.last ?? "?"), quotas on: dockerd's data root")
        try makeDisk(at: subDisk, megabytes: 1024, options: "nosuid,nodev")
        say("sub disk: 1 GiB btrfs on \(loops.last ?? "?"): the spill areas")

        let config = """
            sub_disk = "\(subDisk)"
            state_dir = "\(work)/state"
            run_dir = "\(work)/run"
            socket = "\(socket)"
            poll_interval = 0.5
            docker_socket = "\(work)/docker/docker.sock"
            lib_dir = "\(libDir)"
            partition_min_containers = 2
            """
        try config.write(toFile: work + "/spillway.toml", atomically: true, encoding: .utf8)
        try startDaemon()
        say("spillway daemon running (config \(work)/spillway.toml)")

        let dockerd = try PrivateDockerd(base: work + "/docker")
        lock.withLock { self.dockerd = dockerd }
        try dockerd.start(dataRoot: mainDisk + "/docker", runtimes: [
            "spillway": (runtime, ["--spillway-socket=\(socket)", "--spillway-lib-dir=\(libDir)"]),
        ])
        say("private dockerd running: btrfs storage driver, socket \(dockerd.socket), runtime spillway = \(runtime)")

        try RootFilesystemImage.build(tarball: work + "/image.tar", scratch: work)
        try dockerd.importImage(work + "/image.tar", tag: Self.image)
        say("image \(Self.image): this host's sh, dd, sha256sum, ... and their libraries")

        for writer in Self.writers {
            let script = """
                i=0; while [ $i -lt \(writer.writeMiB / 4) ]; do \
                dd if=/dev/urandom of=/data/part-$i bs=1M count=4 status=none || { echo "write $i failed"; exit 1; }; \
                i=$((i+1)); sleep 0.2; done; sync; echo "wrote \(writer.writeMiB) MiB"; sleep 100000
                """
            try check(dockerd.docker(["run", "-d", "--name", writer.name, "--network", "none", "--runtime", "spillway",
                                      "--storage-opt", "size=" + writer.quota, Self.image, "sh", "-c", script]),
                      "docker run \(writer.name)")
            say("\(writer.name): quota \(writer.quota), writes \(writer.writeMiB) MiB")
        }

        let spilled = watch(until: { report, written in
            Self.writers.allSatisfy { w in
                report.containers.contains { $0.name == w.name && $0.state == .spilling } && written.contains(w.name)
            }
        })
        for writer in Self.writers {
            let logs = (try? dockerd.docker("logs", writer.name))
            say("\(writer.name): \((logs?.stdout ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) \((logs?.stderr ?? "").trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        guard spilled else {
            throw HostCommandError(message: "the containers did not all spill within \(Int(timeout)) s; see the table above")
        }
        say("every container wrote twice its quota: no write failed; the excess is on the sub disk")

        // The operator's answer: raise one container's quota; its spilled files move back to
        // the main disk (draining), then it is normal again.
        say("spillway grow demo-medium --by 128M --wait")
        let grow = try check(HostCommand.run([spillway, "grow", "demo-medium", "--by", "128M", "--wait", "--socket", socket]), "spillway grow")
        print(grow.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        guard watch(until: { report, _ in report.containers.contains { $0.name == "demo-medium" && $0.state == .normal && $0.spilledBytes < 1 << 20 } }) else {
            throw HostCommandError(message: "demo-medium did not drain back to normal within \(Int(timeout)) s; see the table above")
        }
        say("demo-medium: quota raised, its files are back on the main disk, state normal")
        say("done; cleaning up")
    }

    /// Prints the status table every second until `done` or the timeout; true if done.
    private func watch(until done: (StatusReport, Set<String>) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        let terminal = isatty(1) != 0
        var lastTable = ""
        while true {
            let table = (try? HostCommand.run([spillway, "status", "--socket", socket]))?.stdout ?? ""
            let report = (try? HostCommand.run([spillway, "status", "--json", "--socket", socket]))
                .flatMap { try? JSONDecoder().decode(StatusReport.self, from: Data($0.stdout.utf8)) }
            let written = Set(Self.writers.map(\.name).filter { name in
                ((try? dockerd?.docker("logs", name))??.stdout ?? "").contains("wrote")
            })
            if table != lastTable {
                if terminal { print("\u{1B}[2J\u{1B}[H", terminator: "") }
                print(table)
                print("")
                lastTable = table
            }
            if let report, done(report, written) { return true }
            if Date() >= deadline { return false }
            Thread.sleep(forTimeInterval: 1)
        }
    }

    // MARK: - Resources

    private func makeDisk(at mountPoint: String, megabytes: Int, options: String?) throws {
        let image = mountPoint + ".img"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try HostCommand.check(["truncate", "-s", "\(megabytes)M", image])
        let device = try HostCommand.check(["losetup", "--find", "--show", image]).trimmingCharacters(in: .whitespacesAndNewlines)
        lock.withLock { loops.append(device) }
        try HostCommand.check(["mkfs.btrfs", "-q", "-f", device])
        try HostCommand.check(["mount", "-t", "btrfs"] + (options.map { ["-o", $0] } ?? []) + [device, mountPoint])
        try HostCommand.check(["btrfs", "quota", "enable", mountPoint])
        chmod(mountPoint, 0o755)
    }

    private func startDaemon() throws {
        let process = Process()
        // Its own session: a Ctrl-C reaches the demo, which stops the daemon in order.
        process.executableURL = URL(fileURLWithPath: ProcessReplacement.resolve("setsid") ?? spillway)
        process.arguments = (process.executableURL?.path == spillway ? [] : [spillway]) + ["daemon", "--config", work + "/spillway.toml"]
        FileManager.default.createFile(atPath: work + "/daemon.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: work + "/daemon.log"))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        lock.withLock { daemon = process }
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if (try? HostCommand.run([spillway, "status", "--socket", socket]))?.status == 0 { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let text = (try? String(contentsOfFile: work + "/daemon.log", encoding: .utf8)) ?? ""
        throw HostCommandError(message: "the spillway daemon did not start within 30 s; its log ends: \(text.suffix(2000))")
    }

    /// The daemon's pid, from its lock file (it may run under setsid).
    private var daemonPID: pid_t? {
        (try? String(contentsOfFile: work + "/state/daemon.lock", encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Removes everything the demo made, in order; safe to call more than once and from a
    /// signal handler's queue.
    func cleanUp() {
        lock.lock()
        defer { lock.unlock() }
        guard !cleaned else { return }
        cleaned = true
        if let keepLogs {
            try? FileManager.default.createDirectory(atPath: keepLogs, withIntermediateDirectories: true)
            for log in ["daemon.log", "docker/dockerd.log"] {
                try? FileManager.default.removeItem(atPath: keepLogs + "/" + (log as NSString).lastPathComponent)
                try? FileManager.default.copyItem(atPath: work + "/" + log, toPath: keepLogs + "/" + (log as NSString).lastPathComponent)
            }
        }
        dockerd?.destroy()
        if let pid = daemonPID, kill(pid, 0) == 0 {
            kill(pid, SIGTERM)
            let deadline = Date().addingTimeInterval(15)
            while kill(pid, 0) == 0, Date() < deadline, daemon?.isRunning != false || daemon?.processIdentifier != pid {
                Thread.sleep(forTimeInterval: 0.1)
            }
            if kill(pid, 0) == 0 { kill(pid, SIGKILL) }
        }
        if let daemon, daemon.isRunning { kill(daemon.processIdentifier, SIGKILL) }
        for pid in HostCommand.processes(mentioning: work) { kill(pid, SIGKILL) }
        HostCommand.unmountAll(under: work)
        for device in loops.reversed() { _ = try? HostCommand.run(["losetup", "-d", device]) }
        loops.removeAll()
        try? FileManager.default.removeItem(atPath: work)
        print("demo: removed its containers, dockerd, daemon, mounts, loop devices and \(work)")
    }

    private func catchSignals() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { [self] in
                print("\ndemo: signal \(signalNumber); cleaning up")
                cleanUp()
                exit(130)
            }
            source.resume()
            signalSources.append(source)
        }
    }

    @discardableResult
    private func check(_ result: HostCommand.Result, _ what: String) throws -> HostCommand.Result {
        guard result.status == 0 else {
            throw HostCommandError(message: "\(what) failed (exit \(result.status)): \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return result
    }

    private func say(_ line: String) {
        print("demo: \(line)")
        fflush(nil)
    }

    static func ownExecutable() -> String {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return path }
        return CommandLine.arguments[0]
    }
}
