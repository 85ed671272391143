import Foundation

/// What a finished process left: its exit status and what it printed.
public struct CommandResult: Sendable, CustomStringConvertible {
    public let status: Int32
    public let stdout: String
    public let stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }

    public var description: String {
        "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)"
    }
}

/// Runs real programs for tests.
public enum Command {
    /// Runs `argv` to completion with `environment` added to (or, with `clean`, instead of)
    /// this process's environment, and returns what it printed.
    @discardableResult
    public static func run(
        _ argv: [String], environment: [String: String] = [:], clean: Bool = false,
        directory: String? = nil, input: String? = nil
    ) throws -> CommandResult {
        let process = Process()
        // Started directly (not through env(1)), so a preload library in `environment`
        // reaches only the program under test.
        process.executableURL = URL(fileURLWithPath: try resolve(argv[0]))
        process.arguments = Array(argv.dropFirst())
        var env = clean ? ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
                        : ProcessInfo.processInfo.environment
        // Never inherit a preload library or slot from whoever runs the tests.
        for key in ["LD_PRELOAD", "SPILLWAY_SLOT", "SPILLWAY_SPILL", "SPILLWAY_ROOT"] where !clean {
            env.removeValue(forKey: key)
        }
        env.merge(environment) { _, new in new }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        try process.run()
        if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
        try inp.fileHandleForWriting.close()
        // Read both pipes fully before waiting, so a chatty program cannot block.
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
        return CommandResult(
            status: process.terminationStatus,
            stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    /// The path of `name`, found on PATH unless it contains a slash.
    public static func resolve(_ name: String) throws -> String {
        if name.contains("/") { return name }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw CommandNotFound(name: name)
    }

    /// Runs `argv` and throws unless it exits 0.
    @discardableResult
    public static func check(_ argv: [String], environment: [String: String] = [:], directory: String? = nil) throws -> String {
        let result = try run(argv, environment: environment, directory: directory)
        guard result.status == 0 else {
            throw CommandFailure(argv: argv, result: result)
        }
        return result.stdout
    }
}

public struct CommandFailure: Error, CustomStringConvertible {
    public let argv: [String]
    public let result: CommandResult

    public init(argv: [String], result: CommandResult) {
        self.argv = argv
        self.result = result
    }

    public var description: String { "\(argv.joined(separator: " ")) failed: \(result)" }
}

public struct CommandNotFound: Error, CustomStringConvertible {
    public let name: String
    public var description: String { "\(name): not found on PATH; run tools/install-deps" }
}
