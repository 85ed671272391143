import Foundation
import SpillwayCore
import SpillwaySystem
import SpillwayTestSupport
import Testing

/// PostgreSQL 15 from Debian's packages, run as the `postgres` user in a managed container with
/// 80 MiB of headroom, as a database host runs it: `initdb` and `pgbench -i` go past the quota,
/// then a pgbench run while `spilling` has no failed transaction, its balances agree and
/// `pg_amcheck --heapallindexed` is clean.
@Suite("PostgreSQL past its quota", .serialized)
struct PostgresContainerTests {
    static let image = "spillway-test:postgres"
    static let bin = "/usr/lib/postgresql/15/bin"
    static let data = "/var/lib/postgresql/data"

    /// One step as the `postgres` user through `docker exec`; fails the test with the step's
    /// output when it does not exit 0.
    static func step(_ env: ContainerEnvironment, _ script: String) throws -> String {
        let result = try env.dockerd.docker(["exec", "--user", "postgres", "pg", "sh", "-c", script])
        guard result.status == 0 else { throw StepFailed(script: script, result: result) }
        return result.stdout
    }

    struct StepFailed: Error, CustomStringConvertible {
        let script: String
        let result: HostCommand.Result
        var description: String { "docker exec --user postgres pg sh -c '\(script)': \(result)" }
    }

    static func psql(_ env: ContainerEnvironment, _ sql: String) throws -> String {
        try step(env, "psql -h /tmp -d postgres -At -c \"\(sql)\"").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func pgbenchPastTheQuotaKeepsItsBalances() throws {
        let tarball = try ContainerImages.bookwormPostgres()
        let imageBytes = ((try FileManager.default.attributesOfItem(atPath: tarball))[.size] as? UInt64) ?? 0
        let headroom: UInt64 = 80 << 20
        let size = (imageBytes + headroom) >> 20
        try withContainerEnvironment(mainMegabytes: 4096, subMegabytes: 2048) { env in
            try env.dockerd.importImage(tarball, tag: Self.image)
            let started = try env.dockerd.docker(["run", "-d", "--name", "pg", "--network", "none", "--runtime", "spillway",
                                                  "--storage-opt", "size=\(size)M", "--shm-size", "256m", Self.image, "sleep", "infinity"])
            #expect(started.status == 0, "\(started)")
            defer { _ = try? env.dockerd.docker(["rm", "-f", "pg"]) }

            _ = try Self.step(env, "\(Self.bin)/initdb -D \(Self.data) --auth=trust >/tmp/initdb.log 2>&1 || { cat /tmp/initdb.log; exit 1; }")
            _ = try Self.step(env, "\(Self.bin)/pg_ctl -D \(Self.data) -o '-k /tmp -c listen_addresses=' -l /tmp/pg.log -w start || { cat /tmp/pg.log; exit 1; }")
            defer { _ = try? Self.step(env, "\(Self.bin)/pg_ctl -D \(Self.data) -m fast -w stop") }
            // Scale 15 is about 230 MB of tables and indexes: nearly three times the headroom.
            _ = try Self.step(env, "pgbench -h /tmp -i -s 15 postgres >/tmp/init.log 2>&1 || { cat /tmp/init.log /tmp/pg.log; exit 1; }")

            let spilling = try waitUntil(seconds: 60, every: 0.2) {
                try ContainerTests.status(env.daemon).containers.contains { $0.name == "pg" && $0.state == .spilling }
            }
            let report = try ContainerTests.status(env.daemon)
            #expect(spilling, "\(report)")
            let managed = try #require(report.containers.first { $0.name == "pg" }, "\(report)")
            let spillArea = try #require(managed.spillPath)
            #expect(FileManager.default.fileExists(atPath: spillArea + Self.data + "/base"), "nothing of the database spilled")
            // Past the quota: the spill area holds more than the whole headroom.
            let spilled = UInt64(try Command.check(["du", "-sb", spillArea]).split(separator: "\t")[0]) ?? 0
            #expect(spilled > headroom, "only \(spilled) bytes spilled")
            print("postgres: \(spilled >> 20) MiB in the spill area after pgbench -i -s 15, headroom \(headroom >> 20) MiB")

            let run = try Self.step(env, "pgbench -h /tmp -c 4 -j 2 -T 20 postgres 2>&1")
            #expect(run.contains("number of failed transactions: 0 "), "\(run)")
            let processed = run.split(separator: "\n").first { $0.hasPrefix("number of transactions actually processed:") }
            #expect(processed != nil, "\(run)")
            print("postgres: pgbench while spilling: \(processed ?? "?"); \(run.split(separator: "\n").first { $0.hasPrefix("tps") } ?? "")")

            let balances = try Self.psql(env, """
                select (select sum(abalance) from pgbench_accounts) = (select sum(bbalance) from pgbench_branches) \
                and (select sum(bbalance) from pgbench_branches) = (select sum(tbalance) from pgbench_tellers), \
                (select count(*) from pgbench_accounts)
                """)
            #expect(balances == "t|1500000", "balances and row count: \(balances)")
            let check = try Self.step(env, "\(Self.bin)/pg_amcheck -h /tmp --install-missing --heapallindexed postgres 2>&1; echo amcheck-exit $?")
            #expect(check.hasSuffix("amcheck-exit 0\n"), "\(check)")
            #expect(!check.contains("ERROR"), "\(check)")
        }
    }
}
