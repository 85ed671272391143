#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Runs a helper program (mkfs.ext4) to completion with posix_spawn(2), capturing what it prints.
enum ProgramRunner {
    struct Result {
        var status: Int32
        var output: String
    }

    /// Runs `argv` (argv[0] found on a fixed system PATH) with stdin from /dev/null and a minimal
    /// environment, and waits for it.
    ///
    /// - Throws: ``SystemError`` when it cannot be started (with `hint` naming the package),
    ///   or when it does not exit 0 (with its output as the hint).
    @discardableResult
    static func run(_ argv: [String], action: String, target: String, package: String) throws -> Result {
        let searchPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        guard let program = ProcessReplacement.resolve(argv[0], path: searchPath) else {
            throw SystemError(action, path: target, syscall: "execve(\(argv[0]))", errno: .noSuchFileOrDirectory,
                              hint: "install \(package)")
        }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            throw SystemError(action, path: target, syscall: "pipe", errno: Errno(rawValue: errno))
        }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 1)
        posix_spawn_file_actions_adddup2(&actions, writeEnd, 2)
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        let environment = ["PATH=" + searchPath, "LC_ALL=C"]
        var cEnv: [UnsafeMutablePointer<CChar>?] = environment.map { strdup($0) }
        cEnv.append(nil)
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, program, &actions, nil, cArgs, cEnv)
        close(writeEnd)
        guard spawned == 0 else {
            close(readEnd)
            throw SystemError(action, path: target, syscall: "posix_spawn(\(program))", errno: Errno(rawValue: spawned))
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let got = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if got < 0, errno == EINTR { continue }
            if got <= 0 { break }
            if output.count < 65536 { output += buffer[0..<got] }
        }
        close(readEnd)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR {
                throw SystemError(action, path: target, syscall: "waitpid", errno: Errno(rawValue: errno))
            }
        }
        // WIFEXITED / WEXITSTATUS, which Swift does not import (they are macros).
        let exited = status & 0x7F == 0
        let code = exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        let text = String(decoding: output, as: UTF8.self)
        guard code == 0 else {
            let firstLines = text.split(separator: "\n").prefix(3).joined(separator: " / ")
            throw SystemError(action, path: target, syscall: program, errno: .ioError,
                              hint: "\(argv[0]) exited with status \(code)" + (firstLines.isEmpty ? "" : ": \(firstLines)"))
        }
        return Result(status: code, output: text)
    }
}
