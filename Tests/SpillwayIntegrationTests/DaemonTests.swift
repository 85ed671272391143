import Foundation
import Synchronization
import SpillwayTestSupport
import Testing

/// The supervisor against real btrfs qgroup-limited subvolumes: monitoring, the flag, events on
/// every channel, partitions as planned, restarts, and bad input.
@Suite("Supervisor daemon", .serialized)
struct DaemonTests {
    static let fixtures = Paths.packageRoot.appendingPathComponent("Tests/SpillwayIntegrationTests/Fixtures").path

    struct Status: Decodable {
        struct Container: Decodable {
            let id: String
            let state: String
            let used_bytes: UInt64?
            let limit_bytes: UInt64?
            let partition_bytes: UInt64?
        }
        let containers: [Container]
        func container(_ id: String) -> Container? { containers.first { $0.id == id } }
    }

    static func status(_ daemon: DaemonFixture) throws -> Status {
        let result = try daemon.spillway("status", "--json")
        guard result.status == 0 else { throw CommandFailure(argv: ["spillway", "status"], result: result) }
        return try JSONDecoder().decode(Status.self, from: Data(result.stdout.utf8))
    }

    static func wait(seconds: Double = 20, until condition: () throws -> Bool) rethrows -> Bool {
        try waitUntil(seconds: seconds, every: 0.02, condition)
    }

    /// A process whose standard output is collected as it runs.
    final class Collector: @unchecked Sendable {
        let process = Process()
        private let lock = NSLock()
        private var buffer = Data()

        init(_ argv: [String]) throws {
            process.executableURL = URL(fileURLWithPath: try Command.resolve(argv[0]))
            process.arguments = Array(argv.dropFirst())
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = FileHandle.nullDevice
            pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
                let data = handle.availableData
                guard let self else { return }
                self.lock.lock()
                self.buffer.append(data)
                self.lock.unlock()
            }
            try process.run()
        }

        var lines: [String] {
            lock.lock()
            defer { lock.unlock() }
            return String(decoding: buffer, as: UTF8.self).split(separator: "\n").map(String.init)
        }

        func stop() {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
    }

    static func freePort() throws -> Int {
        let out = try Command.check(["python3", "-c", "import socket; s=socket.socket(); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])"])
        return Int(out.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    @Test func fillingOneContainerFlipsItsSlotAndTellsEveryChannel() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let hookFile = FileManager.default.temporaryDirectory.appendingPathComponent("hook-\(UUID().uuidString)").path
        let hook = try Collector(["python3", Self.fixtures + "/webhook_server.py", hookFile])
        defer { hook.stop(); try? FileManager.default.removeItem(atPath: hookFile) }
        #expect(Self.wait { !hook.lines.isEmpty })
        let hookPort = hook.lines.first ?? "0"
        let metricsPort = try Self.freePort()
        let daemon = try DaemonFixture(extraConfig: """
            webhook_url = "http://127.0.0.1:\(hookPort)/hook"
            metrics_listen = "127.0.0.1:\(metricsPort)"
            """)
        defer { daemon.destroy() }
        for (id, limit) in [("c1", "64M"), ("c2", "128M"), ("c3", "256M")] {
            try daemon.makeContainer(id, limit: limit)
        }
        try daemon.start()
        for id in ["c1", "c2", "c3"] {
            let registered = try daemon.spillway("register", id, "--root", daemon.main.mountPoint + "/" + id)
            #expect(registered.status == 0, "\(registered)")
        }
        let follow = try Collector([Paths.spillway, "events", "--follow", "--json", "--socket", daemon.socket])
        defer { follow.stop() }

        try Command.check(["dd", "if=/dev/urandom", "of=\(daemon.main.mountPoint)/c1/fill", "bs=1M", "count=60", "status=none"])
        let written = Date()
        #expect(try Self.wait { try Self.status(daemon).container("c1")?.state == "spilling" })
        let elapsed = Date().timeIntervalSince(written)
        #expect(elapsed < 1.0, "flipped \(elapsed) s after the write; the default poll interval is 1 s")
        let status = try Self.status(daemon)
        #expect(status.container("c2")?.state == "normal")
        #expect(status.container("c3")?.state == "normal")
        let slot = try Command.check([Paths.spillway, "slot", "show", daemon.runDir + "/slots/c1.slot", "--json"])
        #expect(slot.contains("\"state\":\"spilling\""))

        func isFlip(_ line: String) -> Bool {
            line.contains("\"container\":\"c1\"") && line.contains("\"to\":\"spilling\"")
        }
        #expect(Self.wait { follow.lines.contains(where: isFlip) }, "events --follow: \(follow.lines)")
        #expect(Self.wait {
            ((try? String(contentsOfFile: hookFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init).contains(where: isFlip)
        }, "webhook")
        let metrics = try Command.check(["python3", "-c", "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:\(metricsPort)/metrics').read().decode())"])
        #expect(metrics.contains("spillway_state{container=\"c1\",id=\"c1\",state=\"spilling\"} 1"), "\(metrics)")
        #expect(metrics.contains("spillway_state{container=\"c2\",id=\"c2\",state=\"normal\"} 1"))
        #expect(metrics.contains("spillway_limit_bytes{container=\"c1\",id=\"c1\"} 67108864"))
    }

    /// The sequence numbers in JSON event lines, in the order the lines came.
    static func sequence(_ lines: [String]) -> [Int64] {
        lines.compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
            return (object["seq"] as? NSNumber)?.int64Value
        }
    }

    /// Events come from concurrent requests and the poll loop at once: the stored log, `events
    /// --follow` and the webhook must all see one sequence, in order, with no gap.
    @Test func eventsReachEveryChannelInOrderWithNoGap() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let hookFile = FileManager.default.temporaryDirectory.appendingPathComponent("hook-\(UUID().uuidString)").path
        let hook = try Collector(["python3", Self.fixtures + "/webhook_server.py", hookFile])
        defer { hook.stop(); try? FileManager.default.removeItem(atPath: hookFile) }
        #expect(Self.wait { !hook.lines.isEmpty })
        // One shared spill area (no partitions), so that a registration costs the daemon no
        // filesystem work and 1,000 of them fit in the test's time.
        let daemon = try DaemonFixture(extraConfig: """
            webhook_url = "http://127.0.0.1:\(hook.lines.first ?? "0")/hook"
            partition_min_containers = 10000
            """)
        defer { daemon.destroy() }
        let ids = (0..<50).map { "ev\($0)" }
        for id in ids { try daemon.makeContainer(id, limit: "256M") }
        try daemon.start()
        let follow = try Collector([Paths.spillway, "events", "--follow", "--json", "--socket", daemon.socket])
        defer { follow.stop() }
        // `events --follow` is connected once it has passed on an event emitted after it started.
        let marker = try daemon.spillway("register", "marker", "--root", try daemon.makeContainer("marker", limit: "256M"))
        try #require(marker.status == 0, "\(marker)")
        #expect(Self.wait { !follow.lines.isEmpty }, "events --follow printed nothing")

        // 50 containers, each registered and unregistered 10 times, from 8 clients at once: 1,000
        // state changes, with the poll loop's own events in between.
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for id in ids.enumerated().filter({ $0.offset % 8 == worker }).map(\.element) {
                for _ in 0..<10 {
                    for argv in [["register", id, "--root", daemon.main.mountPoint + "/" + id], ["unregister", id]] {
                        let result = (try? Command.run([Paths.spillway] + argv + ["--socket", daemon.socket]))
                        if result?.status != 0 { failures.withLock { $0.append("\(argv): \(String(describing: result))") } }
                    }
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0.prefix(3) })")

        let stored = try Self.sequence(Command.check([Paths.spillway, "events", "--json", "--socket", daemon.socket]).split(separator: "\n").map(String.init))
        #expect(stored.count >= 1_001, "\(stored.count) events stored")
        #expect(stored == Array(1...Int64(stored.count)), "the stored log has gaps or is out of order")
        let last = stored.last ?? 0
        let fromMarker = stored.filter { $0 >= (Self.sequence(follow.lines).first ?? 1) }
        func hookLines() -> [String] {
            ((try? String(contentsOfFile: hookFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
        }
        #expect(Self.wait(seconds: 60) { Self.sequence(follow.lines).last == last }, "events --follow stopped at \(Self.sequence(follow.lines).last ?? 0) of \(last)")
        #expect(Self.sequence(follow.lines) == fromMarker, "events --follow saw another sequence")
        #expect(Self.wait(seconds: 120) { Self.sequence(hookLines()).last == last }, "the webhook stopped at \(Self.sequence(hookLines()).last ?? 0) of \(last)")
        let hooked = Self.sequence(hookLines())
        #expect(hooked.count >= 1_001, "the webhook saw \(hooked.count) events")
        #expect(hooked == stored.filter { $0 >= (hooked.first ?? 1) }, "the webhook saw another sequence")
    }

    @Test func partitionsFollowThePlanFromTheThresholdCountOn() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let daemon = try DaemonFixture(extraConfig: "partition_min_containers = 5")
        defer { daemon.destroy() }
        try daemon.start()
        let quotas = (1...10).map { ("p\($0)", "\(32 * $0)M") }
        for (index, (id, limit)) in quotas.enumerated() {
            let root = try daemon.makeContainer(id, limit: limit)
            let result = try daemon.spillway("register", id, "--root", root)
            #expect(result.status == 0, "\(result)")
            let status = try Self.status(daemon)
            if index + 1 < 5 {
                #expect(status.containers.allSatisfy { $0.partition_bytes == nil }, "shared below the threshold count")
            } else {
                #expect(status.containers.allSatisfy { $0.partition_bytes != nil }, "partitioned at \(index + 1)")
            }
        }
        try checkPartitionsMatchPlan(daemon, expected: 10)
        // Ten partitions proportional to quotas: p10's is ten times p1's (within MiB rounding).
        let status = try Self.status(daemon)
        let p1 = Double(status.container("p1")?.partition_bytes ?? 0), p10 = Double(status.container("p10")?.partition_bytes ?? 0)
        #expect(p1 > 0 && abs(p10 / p1 - 10) < 0.2, "p1 \(p1), p10 \(p10)")

        let before = status.container("p2")?.partition_bytes ?? 0
        #expect(try daemon.spillway("unregister", "p10").status == 0)
        try checkPartitionsMatchPlan(daemon, expected: 9)
        #expect((try Self.status(daemon).container("p2")?.partition_bytes ?? 0) > before, "re-planned online: the rest grew")
    }

    /// Each container's partition is what `spillway plan` says, and the kernel enforces it:
    /// the spill area's qgroup limit on the sub disk.
    func checkPartitionsMatchPlan(_ daemon: DaemonFixture, expected: Int) throws {
        let planJSON = try daemon.spillway("plan", "--json")
        #expect(planJSON.status == 0)
        let plan = try JSONSerialization.jsonObject(with: Data(planJSON.stdout.utf8)) as? [String: Any]
        let entries = (plan?["containers"] as? [[String: Any]]) ?? []
        #expect(entries.count == expected)
        let status = try Self.status(daemon)
        #expect(status.containers.count == expected)
        let qgroups = try Command.check(["btrfs", "qgroup", "show", "-re", "--raw", daemon.sub.mountPoint])
        for entry in entries {
            let id = (entry["id"] as? String) ?? ""
            let planned = (entry["partition_bytes"] as? NSNumber)?.uint64Value
            #expect(status.container(id)?.partition_bytes == planned, "\(id)")
            let row = qgroups.split(separator: "\n").first { $0.hasSuffix(" " + id) }
            #expect(row?.split(separator: " ").contains { UInt64($0) == planned } == true, "\(id): \(row ?? "no qgroup")")
        }
    }

    @Test func killNineAndRestartResumeEverything() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let daemon = try DaemonFixture()
        defer { daemon.destroy() }
        try daemon.start()
        for (id, limit) in [("k1", "64M"), ("k2", "128M"), ("k3", "256M")] {
            let root = try daemon.makeContainer(id, limit: limit)
            #expect(try daemon.spillway("register", id, "--root", root).status == 0)
        }
        try Command.check(["dd", "if=/dev/zero", "of=\(daemon.main.mountPoint)/k1/fill", "bs=1M", "count=60", "status=none"])
        #expect(try Self.wait { try Self.status(daemon).container("k1")?.state == "spilling" })
        let before = try daemon.spillway("status", "--json").stdout
        let eventsBefore = try daemon.spillway("events", "--json").stdout
        let slotBefore = try Command.check([Paths.spillway, "slot", "show", daemon.runDir + "/slots/k1.slot", "--json"])

        daemon.stop(kill: true)
        try daemon.start()
        let after = try daemon.spillway("status", "--json").stdout
        let beforeStatus = try JSONDecoder().decode(Status.self, from: Data(before.utf8))
        let afterStatus = try JSONDecoder().decode(Status.self, from: Data(after.utf8))
        #expect(afterStatus.containers.map(\.id) == beforeStatus.containers.map(\.id))
        #expect(afterStatus.containers.map(\.state) == beforeStatus.containers.map(\.state))
        #expect(afterStatus.containers.map(\.partition_bytes) == beforeStatus.containers.map(\.partition_bytes))
        let eventsAfter = try daemon.spillway("events", "--json").stdout
        #expect(eventsAfter.hasPrefix(eventsBefore), "events kept, in order")
        #expect(eventsAfter.components(separatedBy: "\"kind\":\"registered\"").count - 1 == 3, "no duplicate registration")
        let slotAfter = try Command.check([Paths.spillway, "slot", "show", daemon.runDir + "/slots/k1.slot", "--json"])
        #expect(slotAfter.contains("\"state\":\"spilling\"") && slotBefore.contains("\"state\":\"spilling\""))
        let subvolumes = try Command.check(["btrfs", "subvolume", "list", daemon.sub.mountPoint])
        #expect(subvolumes.split(separator: "\n").count == 3, "one spill area each, none twice: \(subvolumes)")

        // SIGTERM: a graceful stop that removes the socket and exits 0.
        let process = try #require(daemon.process)
        daemon.stop()
        #expect(process.terminationStatus == 0, "\(daemon.log())")
        #expect(!FileManager.default.fileExists(atPath: daemon.socket))
    }

    @Test func badInputGetsClearErrorsAndChangesNothing() throws {
        try #require(getuid() == 0, "these tests mount loop devices and must run as root")
        let daemon = try DaemonFixture()
        defer { daemon.destroy() }
        // Bad configuration values: the daemon refuses to start and makes nothing.
        for (line, key) in [("spill_threshold = 1.5", "spill_threshold"), ("partition_auto_share = \"12XB\"", "partition_auto_share"),
                            ("sub_disk_reserve = \"-5G\"", "sub_disk_reserve"), ("poll_interval = \"1e99\"", "poll_interval"),
                            ("no_such_key = 1", "no_such_key")] {
            let path = daemon.base + "/bad.toml"
            let config = try String(contentsOfFile: daemon.configPath, encoding: .utf8) + "\n" + line + "\n"
            try config.write(toFile: path, atomically: true, encoding: .utf8)
            let result = try Command.run([Paths.spillway, "daemon", "--config", path])
            #expect(result.status != 0, "\(line)")
            #expect(result.stderr.contains(key) && result.stderr.split(separator: "\n").count == 1, "\(line): \(result.stderr)")
            #expect(!FileManager.default.fileExists(atPath: daemon.stateDir), "\(line) created the state directory")
        }
        try daemon.start()
        let root = try daemon.makeContainer("b1", limit: "64M")
        #expect(try daemon.spillway("register", "b1", "--root", root).status == 0)
        let statusBefore = try daemon.spillway("status", "--json").stdout
        let cases: [([String], String)] = [
            (["unregister", "nosuch"], "no managed container is called 'nosuch'"),
            (["register", "b1", "--root", root], "registered already"),
            (["register", "bad/id", "--root", root], "is not valid"),
            (["register", "b2", "--root", "/no/such/dir"], "not an existing directory"),
        ]
        for (arguments, message) in cases {
            let result = try Command.run([Paths.spillway] + arguments + ["--socket", daemon.socket])
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        let second = try Command.run([Paths.spillway, "daemon", "--config", daemon.configPath])
        #expect(second.status != 0)
        #expect(second.stderr.contains("another spillway daemon"), "\(second.stderr)")
        #expect(try daemon.spillway("status", "--json").stdout == statusBefore, "nothing changed")
        let stranger = try Command.run([Paths.spillway, "status", "--socket", daemon.base + "/none.sock"])
        #expect(stranger.status != 0 && stranger.stderr.contains("no spillway daemon is listening"))
        // Someone who is not root is told so; the socket is mode 0600.
        let attributes = try FileManager.default.attributesOfItem(atPath: daemon.socket)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let nobody = try Command.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", Paths.spillway, "status", "--socket", daemon.socket])
        #expect(nobody.status != 0 && nobody.stderr.contains("root-only"), "\(nobody)")
    }
}
