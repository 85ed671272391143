import Foundation

/// Runs a host program to completion and collects what it printed; for the few places that
/// drive other tools on purpose (dockerd, the docker CLI in the demo, tar, ldd, mkfs).
public enum HostCommand {
    /// What a finished program left.
    public struct Result: Sendable, CustomStringConvertible {
        public let status: Int32
        public let stdout: String
        public let stderr: String

        public var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
    }

    /// Runs `argv` (found on PATH unless it has a `/`) with `environment` added.
    ///
    /// - Throws: ``HostCommandError`` when the program is not found or cannot start.
    @discardableResult
    public static func run(_ argv: [String], environment: [String: String] = [:], input: String? = nil) throws -> Result {
        guard let program = ProcessReplacement.resolve(argv[0]) else {
            throw HostCommandError(message: "\(argv[0]) is not installed (not found on PATH); run tools/install-deps")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = Array(argv.dropFirst())
        var env = ProcessInfo.processInfo.environment
        for key in ["LD_PRELOAD", "SPILLWAY_SLOT", "SPILLWAY_SPILL", "SPILLWAY_ROOT"] { env.removeValue(forKey: key) }
        env.merge(environment) { _, new in new }
        process.environment = env
        let out = Pipe(), err = Pipe(), inp = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        do {
            try process.run()
        } catch {
            throw HostCommandError(message: "cannot start \(program): \(error)")
        }
        if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
        try? inp.fileHandleForWriting.close()
        let group = DispatchGroup()
        nonisolated(unsafe) var errData = Data()
        group.enter()
        DispatchQueue.global().async {
            errData = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Runs `argv` and throws unless it exits 0; returns its standard output.
    @discardableResult
    public static func check(_ argv: [String], environment: [String: String] = [:], input: String? = nil) throws -> String {
        let result = try run(argv, environment: environment, input: input)
        guard result.status == 0 else {
            let said = (result.stderr.isEmpty ? result.stdout : result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
            throw HostCommandError(message: "`\(argv.joined(separator: " "))` failed (exit \(result.status)): \(said.suffix(2000))")
        }
        return result.stdout
    }

    /// Processes (other than this one) whose command line contains `text`.
    public static func processes(mentioning text: String) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), pid != getpid(),
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let line = String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            return line.contains(text) ? pid : nil
        }
    }

    /// Unmounts every mount point at or under `directory`, deepest first (lazily if busy).
    public static func unmountAll(under directory: String) {
        for _ in 0..<3 {
            let points = ((try? MountTable.current())?.entries.map(\.mountPoint) ?? [])
                .filter { $0 == directory || $0.hasPrefix(directory + "/") }.sorted { $0.count > $1.count }
            if points.isEmpty { return }
            for point in points where (try? run(["umount", point]))?.status != 0 {
                _ = try? run(["umount", "-l", point])
            }
        }
    }
}

/// A host program could not be run, or failed: what, and what to do.
public struct HostCommandError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }

    public init(message: String) {
        self.message = message
    }
}
