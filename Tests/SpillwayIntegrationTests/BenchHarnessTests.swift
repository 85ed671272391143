import Foundation
import SpillwayTestSupport
import Testing

/// The benchmarks are not part of the test suite; this only checks that `tools/bench` runs a
/// tiny configuration of every part end to end, writes its report and figures, and leaves no
/// loop device or mount behind. Its figures mean nothing at this size.
@Suite("Benchmark harness", .serialized)
struct BenchHarnessTests {
    /// Loop devices backed by the harness's own images (its work directories are named
    /// spillway-bench-*; other suites running meanwhile have loop devices of their own).
    static func benchLoopDevices() throws -> [String] {
        try Command.check(["losetup", "-n", "-O", "NAME,BACK-FILE", "-l"]).split(separator: "\n")
            .filter { $0.contains("spillway-bench") }.map(String.init)
    }

    @Test func smokeRunWritesTheReportAndLeavesNothing() throws {
        try #require(getuid() == 0, "the harness mounts loop devices and must run as root")
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-bench-\(UUID().uuidString.prefix(8))").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let bench = Paths.packageRoot.appendingPathComponent("tools/bench").path
        let run = try Command.run([bench, "--smoke", "--reps", "1", "--out", out], environment: ["SPILLWAY_BIN": Paths.spillway])
        #expect(run.status == 0, "\(run)")

        let report = try String(contentsOfFile: out + "/report.md", encoding: .utf8)
        for heading in ["## Per call (ns)", "## Instructions per call", "## Data path (fio, MB/s)", "## The FUSE union against mergerfs", "## Real workloads",
                        "## Moves", "## A writer's stall", "## The drain", "## Monitoring", "## Targets"] {
            #expect(report.contains(heading), "report.md lacks \(heading):\n\(report)")
        }
        #expect(report.contains("tools/bench --only hooks,data,union,workloads,moves,monitor --reps 1 --smoke"))

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/results.json"))) as? [String: Any]
        let hooks = json?["hooks"] as? [String: [String: Any]]
        #expect(hooks?.keys.sorted() == ["access", "create", "fprintf-line", "fwrite-1m", "fwrite-4k", "open+close", "openat+fstat",
                                         "readdir-100", "rename", "stat", "unlink", "write-1m", "write-4k"])
        for (op, entry) in hooks ?? [:] {
            #expect((entry["plain"] as? Double ?? 0) > 0, "\(op): no figure without the library")
            #expect((entry["normal"] as? Double ?? 0) > 0, "\(op): no figure in normal")
        }
        let data = json?["data"] as? [String: [String: Any]]
        #expect(Set(data?.keys.map { $0 } ?? []) == ["seq-write-1m", "seq-read-1m", "rand-write-4k"])
        #expect((data?["seq-write-1m"]?["library-spilling"] as? Double ?? 0) > 0)
        let union = json?["union"] as? [String: [String: Any]]
        #expect(Set(union?.keys.map { $0 } ?? []) == ["seq-write-1m", "seq-read-1m", "rand-write-4k", "create", "stat", "stat-uncached", "unlink"])
        #expect((union?["seq-write-1m"]?["spillway-fuse"] as? Double ?? 0) > 0, "\(String(describing: union))")
        #expect((union?["stat"]?["mergerfs"] as? Double ?? 0) > 0, "\(String(describing: union))")
        #expect((json?["workloads"] as? [String: Any])?.count == 3)
        #expect((json?["moves"] as? [String: Any])?.count == 3)
        let drain = json?["drain"] as? [String: Any]
        #expect((drain?["files"] as? Int) == 100, "\(String(describing: drain))")
        #expect((json?["monitor"] as? [String: Any])?["3"] != nil)
        let targets = json?["targets"] as? [[String: Any]] ?? []
        #expect(targets.count > 20, "only \(targets.count) targets judged")

        #expect(try Self.benchLoopDevices() == [], "the harness left loop devices behind")
        let mounts = try String(contentsOfFile: "/proc/mounts", encoding: .utf8)
        #expect(!mounts.contains("spillway-bench"), "the harness left a mount behind")
    }
}
