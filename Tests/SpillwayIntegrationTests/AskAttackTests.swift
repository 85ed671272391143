import Foundation
import SpillwayCore
import SpillwaySystem
import SpillwayTestSupport
import Testing

/// A process in a managed container that asks the supervisor, on its ask socket, for anything
/// outside its own two trees: `..` and absolute paths, a symlinked parent in its main-disk tree
/// or its spill area (pointing at a second container's spill area), another container's id,
/// garbage, short, oversized and unterminated messages, and a rename racing the requests. Each
/// is refused with an `ask_refused` event and nothing changes on disk: neither of its trees
/// (but for what the race legitimately made inside them) nor the second container's.
@Suite("Hostile requests on the ask socket", .serialized)
struct AskAttackTests {
    static let image = "spillway-test:apps"

    static func status(_ daemon: DaemonFixture) throws -> StatusReport {
        try JSONDecoder().decode(StatusReport.self, from: Data(try daemon.spillway("status", "--json").stdout.utf8))
    }

    /// Every name below `path` with its mode, owner and, for symlinks, target.
    static func listing(_ path: String) throws -> String {
        try Command.check(["find", path, "-printf", "%P %m %u %g %y %l\n"]).split(separator: "\n").sorted().joined(separator: "\n")
    }

    @Test func requestsOutsideItsTreesAreRefusedAndChangeNothing() throws {
        try withContainerEnvironment(mainMegabytes: 3072) { env in
            try env.dockerd.importImage(try ContainerImages.bookwormApps(), tag: Self.image)
            let script = Paths.packageRoot.appendingPathComponent("Tests/SpillwayIntegrationTests/Fixtures/ask_attack.py").path
            for name in ["attacker", "victim"] {
                let started = try env.run(size: "400M", name: name, ["-d", "-v", script + ":/ask_attack.py:ro", Self.image, "sleep", "600"])
                try #require(started.status == 0, "\(started)")
            }
            defer { _ = try? env.dockerd.docker("rm", "-f", "attacker", "victim") }
            let report = try Self.status(env.daemon)
            let attacker = try #require(report.containers.first { $0.name == "attacker" })
            let victim = try #require(report.containers.first { $0.name == "victim" })
            let victimSpill = try #require(victim.spillPath)
            let attackerSpill = try #require(attacker.spillPath)
            func inAttacker(_ command: String) throws -> HostCommand.Result {
                try env.dockerd.docker("exec", "attacker", "sh", "-c", command)
            }
            // The attacker's own setup: a main-disk symlink to /etc, a main-disk directory whose
            // spill-area twin is a symlink to the victim's spill area (as the host sees it).
            let setup = try inAttacker("mkdir -p /tmp /sp1/sub \((0..<7).map { "/race/a/b\($0)" }.joined(separator: " ")) && ln -s /etc /tmp/evil && ln -s \(victimSpill) /.spillway/spill/sp1")
            try #require(setup.status == 0, "\(setup)")
            let before = try [attackerSpill, attacker.root, victimSpill, victim.root].map(Self.listing)

            let cases: [(String, String)] = [
                ("dotdot", "python3 /ask_attack.py path tmp/../../../../etc/spillway-escape/x"),
                ("absolute", "python3 /ask_attack.py path /etc/spillway-escape/x"),
                ("main-symlink", "python3 /ask_attack.py path tmp/evil/spillway-escape/x"),
                ("spill-symlink", "python3 /ask_attack.py path sp1/sub/spillway-escape/x"),
                ("other-id", "python3 /ask_attack.py other-id tmp/escape/x \(victim.id)"),
                ("garbage", "python3 /ask_attack.py garbage"),
                ("short", "python3 /ask_attack.py short"),
                ("oversized", "python3 /ask_attack.py oversized"),
                ("unterminated", "python3 /ask_attack.py unterminated"),
            ]
            for (name, command) in cases {
                let result = try inAttacker(command)
                #expect(result.status == 0 && result.stdout == "1\n", "\(name): refused with EPERM: \(result)")
            }
            let after = try [attackerSpill, attacker.root, victimSpill, victim.root].map(Self.listing)
            #expect(after == before, "nothing changed in either container's trees")
            #expect(!FileManager.default.fileExists(atPath: "/etc/spillway-escape"))
            let counted = try #require(try Self.status(env.daemon).containers.first { $0.name == "attacker" })
            #expect(counted.askRefused == UInt64(cases.count), "\(counted)")
            let events = try env.daemon.spillway("events", "--json").stdout.split(separator: "\n").filter {
                $0.contains("\"kind\":\"ask_refused\"") && $0.contains(attacker.id)
            }
            #expect(events.count == cases.count, "\(events)")
            #expect(try Self.status(env.daemon).containers.first { $0.name == "victim" }?.askRefused == 0)

            // A report is counted for the socket's container, never for the one it names.
            #expect(try inAttacker("python3 /ask_attack.py report /some/path").stdout == "none\n")
            #expect(try inAttacker("python3 /ask_attack.py report /some/path \(victim.id)").stdout == "1\n")
            let reported = try Self.status(env.daemon).containers
            let afterReports = try #require(reported.first { $0.name == "attacker" })
            let victimAfter = try #require(reported.first { $0.name == "victim" })
            #expect(afterReports.cannotHelp == 1 && afterReports.askRefused == UInt64(cases.count) + 1, "\(afterReports)")
            #expect(victimAfter.cannotHelp == 0 && victimAfter.askRefused == 0, "\(victimAfter)")

            // A racer swaps the spill area's /race for a symlink to the victim's spill area while
            // the same process asks for parents below it: whatever is served is made inside the
            // attacker's spill area; the victim's trees never change.
            let race = try inAttacker("mkdir -p /.spillway/spill/race && python3 /ask_attack.py race race \(victimSpill) 400")
            #expect(race.status == 0, "\(race)")
            #expect(try [victimSpill, victim.root].map(Self.listing) == [before[2], before[3]], "the victim's trees are as they were")
            var victimNames = try FileManager.default.contentsOfDirectory(atPath: victimSpill)
            victimNames.removeAll { $0 == "lost+found" }
            #expect(!victimNames.contains("a"), "\(victimNames)")
            #expect(race.stdout.contains("0="), "some requests were served between the swaps: \(race)")
        }
    }
}
