import Foundation
import SpillwayTestSupport
import Testing

/// The preload library never crashes, hangs or changes an errno: threads, fork, vfork+exec,
/// posix_spawn, exec with a rebuilt environment and open() from a signal handler, in every
/// slot state and with the flag flipping every millisecond; and while `normal` it adds no
/// system call.
@Suite("Preload library: robustness", .serialized)
struct RobustnessTests {
    /// LD_PRELOAD for glibc and musl programs at once (see CShim/Makefile, preload-tree).
    static var preload: String { Paths.shimBuild.path + "/preload/$LIB/libspillway.so" }

    struct Run {
        let result: CommandResult
        let timedOut: Bool
    }

    /// Runs `argv` with a watchdog: a hang past `seconds` is killed and reported.
    static func run(_ argv: [String], environment: [String: String], seconds: Double = 90) throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        var env = ProcessInfo.processInfo.environment
        for key in ["LD_PRELOAD", "SPILLWAY_SLOT", "SPILLWAY_SPILL", "SPILLWAY_ROOT"] { env.removeValue(forKey: key) }
        env.merge(environment) { _, new in new }
        process.environment = env
        // Files, not pipes: a stuck grandchild holding a pipe could not block the test then.
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: base + ".out", contents: nil)
        FileManager.default.createFile(atPath: base + ".err", contents: nil)
        defer {
            try? FileManager.default.removeItem(atPath: base + ".out")
            try? FileManager.default.removeItem(atPath: base + ".err")
        }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".out"))
        let err = try FileHandle(forWritingTo: URL(fileURLWithPath: base + ".err"))
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let deadline = Date().addingTimeInterval(seconds)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                kill(process.processIdentifier, SIGKILL)
                timedOut = true
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        process.waitUntilExit()
        try? out.close()
        try? err.close()
        let stdout = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
        return Run(result: CommandResult(status: process.terminationStatus, stdout: stdout, stderr: stderr), timedOut: timedOut)
    }

    /// A tree with DIR/exists, a spill area and a slot in `state`.
    static func layout(state: String) throws -> (dir: String, env: [String: String], slot: String, base: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("robust-\(UUID().uuidString)").path
        let dir = base + "/root/d"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: base + "/spill", withIntermediateDirectories: true)
        try "exists".write(toFile: dir + "/exists", atomically: true, encoding: .utf8)
        let slot = base + "/slot"
        try Command.check([Paths.spillway, "slot", "create", slot, "--state", state])
        let env = ["LD_PRELOAD": preload, "SPILLWAY_SLOT": slot, "SPILLWAY_SPILL": base + "/spill", "SPILLWAY_ROOT": base + "/root"]
        return (dir, env, slot, base)
    }

    static let matrix: [(state: String, threads: Int, flip: Bool, program: String)] = [
        ("normal", 1, false, "robust"), ("normal", 64, false, "robust"),
        ("spilling", 1, false, "robust"), ("spilling", 64, false, "robust"),
        ("draining", 1, false, "robust"), ("draining", 64, false, "robust"),
        ("spilling", 1, true, "robust"), ("spilling", 64, true, "robust"),
        ("spilling", 4, true, "robust-musl"), ("normal", 4, false, "robust-musl"),
    ]

    @Test(arguments: 0..<matrix.count)
    func noCrashNoHangSameErrno(index: Int) throws {
        let (state, threads, flip, program) = Self.matrix[index]
        let plainTree = try Self.layout(state: state)
        defer { try? FileManager.default.removeItem(atPath: plainTree.base) }
        let plain = try Self.run([Paths.testProgram(program), plainTree.dir, "\(threads)", "1.5"], environment: [:])
        #expect(plain.result.status == 0, "without the library: \(plain.result)")

        let tree = try Self.layout(state: state)
        defer { try? FileManager.default.removeItem(atPath: tree.base) }
        var flipper: Process?
        if flip {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: Paths.testProgram("flipper"))
            process.arguments = [tree.slot, "2.5"]
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            flipper = process
        }
        let shimmed = try Self.run([Paths.testProgram(program), tree.dir, "\(threads)", "1.5"], environment: tree.env)
        flipper?.waitUntilExit()
        #expect(!shimmed.timedOut, "\(state) × \(threads) threads\(flip ? " × flipping" : ""): hung")
        #expect(shimmed.result.status == 0, "\(state) × \(threads) threads\(flip ? " × flipping" : ""): \(shimmed.result)")
        #expect(shimmed.result.stdout.hasPrefix("mismatches=0 "), "\(shimmed.result.stdout)")
    }

    /// Every hook with arguments the kernel refuses (CShim/tests/badargs.c): unreadable paths,
    /// buffers, times, argv/envp and attribute names, unknown O_/AT_/RENAME_ bits, bad
    /// descriptors; each call in a child of its own, its line "call: result errno" or "signal N".
    /// Through the library, in every state and for glibc and musl, each line is the one the same
    /// call prints without it: no crash, the kernel's errno. The spilled states start with a file
    /// in the spill area (`spilled`) beside one on the main disk (`mainfile`).
    @Test(arguments: ["normal", "spilling", "draining"], ["badargs", "badargs-musl"])
    func badArgumentsGiveTheKernelsErrno(state: String, program: String) throws {
        func prepared(split: Bool) throws -> (dir: String, env: [String: String], slot: String, base: String) {
            let tree = try Self.layout(state: state)
            try "main".write(toFile: tree.dir + "/mainfile", atomically: false, encoding: .utf8)
            let spilled = split ? tree.base + "/spill/d" : tree.dir
            try FileManager.default.createDirectory(atPath: spilled, withIntermediateDirectories: true)
            try "spill".write(toFile: spilled + "/spilled", atomically: false, encoding: .utf8)
            return tree
        }
        let argv = [Paths.testProgram(program)]
        let plainTree = try prepared(split: false)
        defer { try? FileManager.default.removeItem(atPath: plainTree.base) }
        let plain = try Self.run(argv + [plainTree.dir, "mainfile", "spilled"], environment: [:])
        #expect(plain.result.status == 0 && plain.result.stdout.hasSuffix("done\n"), "without the library: \(plain.result)")
        let tree = try prepared(split: state != "normal")
        defer { try? FileManager.default.removeItem(atPath: tree.base) }
        let shimmed = try Self.run(argv + [tree.dir, "mainfile", "spilled"], environment: tree.env)
        #expect(!shimmed.timedOut, "\(program) \(state): hung")
        let mine = shimmed.result.stdout.split(separator: "\n"), theirs = plain.result.stdout.split(separator: "\n")
        #expect(mine.count == theirs.count, "\(program) \(state): \(mine.count) lines, plain \(theirs.count)")
        let differing = zip(mine, theirs).filter { $0 != $1 }.map { "\($0.0)   (plain: \($0.1))" }
        #expect(differing.isEmpty, "\(program) \(state):\n\(differing.joined(separator: "\n"))")
    }

    /// `strace -c` of a loop of open/fstat/stat/access/close: with the library in `normal`, each
    /// system call is made exactly as often as without it (the library's own start-up, counted
    /// by a run of 0 rounds, aside).
    @Test func normalCostsNoSystemCall() throws {
        let tree = try Self.layout(state: "normal")
        defer { try? FileManager.default.removeItem(atPath: tree.base) }
        func counts(_ rounds: Int, _ env: [String: String]) throws -> [String: Int] {
            let log = tree.base + "/strace-\(rounds)-\(env.isEmpty ? "plain" : "shim")"
            let result = try Self.run(["/usr/bin/strace", "-f", "-c", "-o", log, Paths.testProgram("callloop"), tree.dir + "/exists", "\(rounds)"],
                                      environment: env)
            #expect(result.result.status == 0, "\(result.result)")
            var table: [String: Int] = [:]
            for line in try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard fields.count >= 5, let calls = Int(fields[3]), let name = fields.last, !name.hasPrefix("-") else { continue }
                table[String(name)] = calls
            }
            return table
        }
        func loopCost(_ env: [String: String]) throws -> [String: Int] {
            let base = try counts(0, env), loop = try counts(1000, env)
            return loop.reduce(into: [:]) { cost, entry in
                let extra = entry.value - (base[entry.key] ?? 0)
                if extra != 0, entry.key != "total" { cost[entry.key] = extra }
            }
        }
        let plain = try loopCost([:])
        let shimmed = try loopCost(tree.env)
        #expect(plain["openat"] == 1000 && plain["newfstatat"] == 2000, "\(plain)")
        #expect(shimmed == plain)
    }

    /// A slot truncated while mapped: the library turns itself off; no SIGBUS reaches the program.
    @Test func truncatedSlotNeverCrashes() throws {
        let tree = try Self.layout(state: "spilling")
        defer { try? FileManager.default.removeItem(atPath: tree.base) }
        let script = """
            import os, time
            for i in range(400):
                os.path.exists('\(tree.dir)/exists')
                time.sleep(0.002)
            open('\(tree.dir)/after', 'w').write('ok')
            print('survived')
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Command.resolve("python3"))
        process.arguments = ["-c", script]
        process.environment = ProcessInfo.processInfo.environment.merging(tree.env) { _, new in new }
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        Thread.sleep(forTimeInterval: 0.3)
        try Command.check(["truncate", "-s", "0", tree.slot])
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "terminated by signal \(process.terminationReason == .uncaughtSignal)")
        #expect(String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self) == "survived\n")
        // Inactive from then on: plain libc, so the file is on the main tree.
        #expect(FileManager.default.fileExists(atPath: tree.dir + "/after"))
    }
}
