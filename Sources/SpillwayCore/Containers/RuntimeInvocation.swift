/// A command line given to `spillway-runtime` as if it were runc, taken apart: runc's global
/// flags, the command, and for `create` and `run` the bundle and container id. Flags meant for
/// Spillway itself (`--spillway-...`, e.g. from dockerd's `runtimeArgs`) are taken out, so runc
/// never sees them.
///
/// Parsing follows runc 1.x (urfave/cli): flags as `--name value`, `--name=value`, `-name value`;
/// the first argument that is not a flag is the command; after the command's flags, the first
/// argument that is not a flag is the container id.
public struct RuntimeInvocation: Sendable, Equatable {
    /// The arguments to hand to runc: everything but Spillway's own flags, in order.
    public var runcArguments: [String]
    /// `create`, `start`, `delete`, ...; nil when none was found (e.g. `--version`).
    public var command: String?
    /// For `create` and `run`: the bundle directory (`--bundle`, `-b`), nil for the working directory.
    public var bundle: String?
    /// For `create`, `run` and `delete`: the container id.
    public var containerID: String?
    /// runc's `--log` file and `--log-format` (`text` or `json`), where runc's own messages go.
    public var logPath: String?
    public var logFormat: String?
    /// runc's `--root`, where it keeps its containers' state (nil: runc's default).
    public var stateRoot: String?
    /// For `exec`: the process description file (`--process`, `-p`), the JSON of the process to start.
    public var processPath: String?
    /// Spillway's own options, as given by `--spillway-NAME[=VALUE]`.
    public var options: RuntimeOptions

    /// Whether this invocation starts a container's process (`create` or `run`), so the
    /// wrapper injects the launcher.
    public var createsContainer: Bool { (command == "create" || command == "run") && containerID != nil }

    /// Whether this invocation removes a container (`delete`), so the wrapper lets go of what it
    /// set up for it (its FUSE union).
    public var deletesContainer: Bool { command == "delete" && containerID != nil }

    /// Whether this invocation starts another process in a running container from a process
    /// file (`exec --process`, what `docker exec` and containerd's exec send), so the wrapper
    /// gives it what the container's first process got.
    public var execsProcess: Bool { command == "exec" && containerID != nil && processPath != nil }

    /// runc's global flags that take a value.
    static let globalValueFlags: Set<String> = ["log", "log-format", "root", "criu", "rootless"]
    /// runc's global flags that take none.
    static let globalBoolFlags: Set<String> = ["debug", "systemd-cgroup", "help", "h", "version", "v"]
    /// `create`/`run` flags that take a value.
    static let createValueFlags: Set<String> = ["bundle", "b", "console-socket", "pid-file", "preserve-fds"]
    /// `exec` flags that take a value (runc 1.1); every other exec flag takes none.
    static let execValueFlags: Set<String> = ["process", "p", "console-socket", "pid-file", "preserve-fds", "cwd", "env", "e",
                                              "user", "u", "additional-gids", "g", "process-label", "apparmor", "cap", "c", "cgroup"]

    /// Parses `arguments` (without argv[0]).
    ///
    /// - Throws: ``InputError`` for a bad `--spillway-...` option (its name or value).
    public static func parse(_ arguments: [String]) throws(InputError) -> RuntimeInvocation {
        var result = RuntimeInvocation(runcArguments: [], command: nil, bundle: nil, containerID: nil,
                                       logPath: nil, logFormat: nil, options: RuntimeOptions())
        var index = 0
        // Global flags, up to the command.
        while index < arguments.count {
            let argument = arguments[index]
            guard let flag = Flag(argument) else { break }
            if flag.name.hasPrefix("spillway-") {
                var value = flag.value
                if value == nil, !RuntimeOptions.isBoolean(flag.name), index + 1 < arguments.count {
                    index += 1
                    value = arguments[index]
                }
                try result.options.set(flag.name, value: value)
                index += 1
                continue
            }
            result.runcArguments.append(argument)
            index += 1
            if globalValueFlags.contains(flag.name) {
                var value = flag.value
                if value == nil, index < arguments.count {
                    value = arguments[index]
                    result.runcArguments.append(arguments[index])
                    index += 1
                }
                if flag.name == "log" { result.logPath = value }
                if flag.name == "log-format" { result.logFormat = value }
                if flag.name == "root" { result.stateRoot = value }
            } else if !globalBoolFlags.contains(flag.name) {
                // A flag this parser does not know: its arity is unknown, so leave the rest alone.
                result.runcArguments.append(contentsOf: arguments[index...])
                return result
            }
        }
        guard index < arguments.count else { return result }
        let command = arguments[index]
        result.command = command
        result.runcArguments.append(contentsOf: arguments[index...])
        index += 1
        guard command == "create" || command == "run" || command == "delete" || command == "exec" else { return result }
        let valueFlags = command == "exec" ? execValueFlags : createValueFlags
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--" {
                if index < arguments.count { result.containerID = arguments[index] }
                break
            }
            guard let flag = Flag(argument) else {
                if result.containerID == nil { result.containerID = argument }
                // What follows exec's container id is the command to run, not flags.
                if command == "exec" { break }
                continue
            }
            if valueFlags.contains(flag.name) {
                var value = flag.value
                if value == nil, index < arguments.count {
                    value = arguments[index]
                    index += 1
                }
                if command != "exec", flag.name == "bundle" || flag.name == "b" { result.bundle = value }
                if command == "exec", flag.name == "process" || flag.name == "p" { result.processPath = value }
            }
        }
        return result
    }

    /// One `-name`, `--name` or `--name=value` argument.
    struct Flag {
        let name: String
        let value: String?

        init?(_ argument: String) {
            guard argument.hasPrefix("-"), argument != "-", argument != "--" else { return nil }
            let body = argument.drop(while: { $0 == "-" })
            guard !body.isEmpty else { return nil }
            if let equals = body.firstIndex(of: "=") {
                name = String(body[..<equals])
                value = String(body[body.index(after: equals)...])
            } else {
                name = String(body)
                value = nil
            }
        }
    }
}

/// What `spillway-runtime` does when the spillway daemon cannot be reached (or cannot manage
/// the container) on `create`.
public enum UnreachablePolicy: String, Sendable, Equatable, CaseIterable {
    /// Start the container unmanaged, with one log line (the default).
    case start
    /// Refuse to create the container.
    case refuse
}

/// `spillway-runtime`'s own options: given as global flags `--spillway-NAME=VALUE` (dockerd's
/// `runtimeArgs`, containerd's and CRI-O's runtime options), or by environment variables.
public struct RuntimeOptions: Sendable, Equatable {
    /// `--spillway-socket`: the daemon's control socket.
    public var socket: String?
    /// `--spillway-runc`: the runc binary.
    public var runc: String?
    /// `--spillway-lib-dir`: where the preload libraries and the launcher are installed.
    public var libDir: String?
    /// `--spillway-if-unreachable`: start (default) or refuse.
    public var ifUnreachable: UnreachablePolicy?

    public init(socket: String? = nil, runc: String? = nil, libDir: String? = nil, ifUnreachable: UnreachablePolicy? = nil) {
        self.socket = socket
        self.runc = runc
        self.libDir = libDir
        self.ifUnreachable = ifUnreachable
    }

    /// The names of the options, without `--spillway-`.
    public static let names = ["socket", "runc", "lib-dir", "if-unreachable"]

    static func isBoolean(_ name: String) -> Bool { false }

    /// Sets `--NAME` (`spillway-...`) to `value`.
    ///
    /// - Throws: ``InputError`` naming the option and what is allowed.
    mutating func set(_ name: String, value: String?) throws(InputError) {
        let short = String(name.dropFirst("spillway-".count))
        guard let value, !value.isEmpty else {
            throw InputError("--\(name) needs a value; e.g. --\(name)=\(short == "if-unreachable" ? "refuse" : "/path")")
        }
        switch short {
        case "socket", "runc", "lib-dir":
            guard value.hasPrefix("/") else {
                throw InputError("--\(name)=\(value) is not an absolute path; give the full path")
            }
            if short == "socket" { socket = value } else if short == "runc" { runc = value } else { libDir = value }
        case "if-unreachable":
            guard let policy = UnreachablePolicy(rawValue: value) else {
                throw InputError("--\(name)=\(value) is not allowed; use start (run the container unmanaged) or refuse")
            }
            ifUnreachable = policy
        default:
            throw InputError("unknown option --\(name); spillway-runtime knows " + Self.names.map { "--spillway-\($0)" }.joined(separator: ", "))
        }
    }
}
