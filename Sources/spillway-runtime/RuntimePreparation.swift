#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SpillwayClient
import SpillwayCore
import SpillwaySystem
import SystemPackage

/// What `create` does before runc runs: register the container with the daemon and rewrite its
/// bundle's config.json. Either both happen, or the bundle is left as it was (and the daemon
/// is told the container runs unmanaged).
struct RuntimePreparation {
    enum Outcome {
        case managed
        case unmanaged(String)
    }

    let invocation: RuntimeInvocation
    let settings: RuntimeSettings

    func run() async -> Outcome {
        let bundle = absoluteBundle()
        let configPath = bundle + "/config.json"
        let config: Data
        do {
            config = try Data(contentsOf: URL(fileURLWithPath: configPath))
        } catch {
            return .unmanaged("cannot read \(configPath): \(error)")
        }
        let root: String
        let id: String
        do {
            root = try OCISpecInjection.rootPath(of: config, bundle: bundle)
            id = try EngineContainerID.spillwayID(for: invocation.containerID ?? "")
        } catch {
            return .unmanaged("\(configPath): \(error)")
        }
        let launcher = settings.libDir + "/spillway-entry"
        for needed in [launcher, settings.libDir + "/libspillway.so"] where access(needed, R_OK) != 0 {
            return .unmanaged("\(needed) is missing; install Spillway (tools/install) or give --spillway-lib-dir")
        }
        let mode: ServingMode
        do {
            mode = try Self.servingMode(config: config, root: root).mode
        } catch {
            return .unmanaged("\(configPath): \(error)")
        }
        let client = ControlClient(socketPath: settings.socket)
        let status: ContainerStatus
        do {
            status = try await client.upsert(ContainerRegistration(id: id, root: root, mode: mode.rawValue))
        } catch {
            return .unmanaged("the spillway daemon did not register it: \(error)")
        }
        guard let slot = status.slotPath, let spill = status.spillPath else {
            await demote(client, id: id, root: root)
            return .unmanaged("the spillway daemon did not say where its slot and spill area are; is it the same version as spillway-runtime?")
        }
        // In mode fuse the container's root filesystem is its union, which the daemon mounted.
        if mode == .fuse && status.fuseMount == nil {
            await demote(client, id: id, root: root)
            return .unmanaged("the spillway daemon did not mount its FUSE union")
        }
        do {
            let rewritten = try OCISpecInjection(libDir: settings.libDir, launcher: launcher, slot: slot, spill: spill,
                                                 root: mode == .fuse ? status.fuseMount : nil, ask: status.askDirectory).apply(to: config)
            try Self.replaceAtomically(configPath, with: rewritten)
        } catch {
            await demote(client, id: id, root: root)
            return .unmanaged("cannot rewrite \(configPath): \(error)")
        }
        return .managed
    }

    /// The container will run without the preload library after all: say so to the daemon.
    private func demote(_ client: ControlClient, id: String, root: String) async {
        _ = try? await client.releaseFuse(id)
        _ = try? await client.upsert(ContainerRegistration(id: id, root: root, mode: "monitor"))
    }

    /// Preload library or FUSE union: by the `spillway.mode` annotation or `SPILLWAY_MODE`
    /// variable if given, else by the program the container starts (`process.args[0]`, found
    /// in its root filesystem along the process's PATH) and the programs it may start (a Go
    /// program named on its command line or in its entrypoint script, or on that PATH, makes it
    /// FUSE: ``ServingMode/choose``).
    static func servingMode(config: Data, root: String) throws -> (mode: ServingMode, reason: String) {
        let process = (try? JSONDecoder().decode(JSONValue.self, from: config))?["process"]
        let args = process?["args"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let environment = process?["env"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let path = environment.last(where: { $0.hasPrefix("PATH=") }).map { String($0.dropFirst(5)) }
            ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        let cwd = process?["cwd"]?.stringValue ?? "/"
        let program = args.first.flatMap { ContainerProgram.kind(of: $0, root: root, searchPath: path, workingDirectory: cwd) }
        // The programs it may start: those its command line or entrypoint script name, then
        // those on its PATH.
        let imageProgram: ((ProgramKind) -> Bool) -> (path: String, kind: ProgramKind)? = { wanted in
            let script = args.first.flatMap { ContainerProgram.scriptText(of: $0, root: root, searchPath: path, workingDirectory: cwd) }
            return ContainerProgram.firstNamed(in: args + (script.map { [$0] } ?? []), root: root, where: wanted)
                ?? ContainerProgram.firstOnPath(root: root, searchPath: path, workingDirectory: cwd, where: wanted)
        }
        return try ServingMode.choose(program: program, annotations: OCISpecInjection.annotations(of: config), environment: environment,
                                      imageProgram: imageProgram)
    }

    /// The wrapper's `delete`: the daemon unmounts the container's FUSE union, if it has one.
    /// A daemon that cannot be reached leaves it to the daemon's next look (no error: the
    /// container is going away either way).
    static func release(containerID: String, settings: RuntimeSettings) async -> String? {
        guard let id = try? EngineContainerID.spillwayID(for: containerID) else { return nil }
        do {
            try await ControlClient(socketPath: settings.socket).releaseFuse(id)
            return nil
        } catch {
            return "cannot ask the spillway daemon to unmount the FUSE union of \(id): \(error)"
        }
    }

    private func absoluteBundle() -> String {
        let bundle = invocation.bundle ?? "."
        if bundle.hasPrefix("/") { return bundle }
        return FileManager.default.currentDirectoryPath + (bundle == "." ? "" : "/" + bundle)
    }

    /// Writes `data` to a new file beside `path`, syncs it, renames it over `path` and syncs the
    /// directory; the old file's mode is kept. On error `path` is untouched.
    static func replaceAtomically(_ path: String, with data: Data) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = directory + "/.config.json.spillway-\(getpid())"
        var st = stat()
        let mode = stat(path, &st) == 0 ? st.st_mode & 0o7777 : 0o644
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        guard fd >= 0 else {
            throw SystemError("create", path: temporary, syscall: "open", errno: Errno(rawValue: errno))
        }
        do {
            let written = data.withUnsafeBytes { raw -> Int in
                var offset = 0
                while offset < raw.count {
                    let n = write(fd, raw.baseAddress! + offset, raw.count - offset)
                    if n < 0 { if errno == EINTR { continue }; return -1 }
                    offset += n
                }
                return offset
            }
            guard written == data.count else {
                throw SystemError("write", path: temporary, syscall: "write", errno: Errno(rawValue: errno))
            }
            guard fsync(fd) == 0 else {
                throw SystemError("sync", path: temporary, syscall: "fsync", errno: Errno(rawValue: errno))
            }
            close(fd)
            guard rename(temporary, path) == 0 else {
                throw SystemError("rename", path: temporary, syscall: "rename", errno: Errno(rawValue: errno))
            }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        try? fsyncDirectory(FilePath(directory))
    }
}

/// The wrapper's one log line: to standard error, and to runc's `--log` file in runc's own
/// format, where containerd and CRI-O look for a runtime's messages.
enum RuntimeLog {
    static func write(_ message: String, level: String, invocation: RuntimeInvocation) {
        StandardError.print(message)
        guard let path = invocation.logPath else { return }
        let line: String
        if invocation.logFormat == "json" {
            let escaped = message.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            let time = ISO8601DateFormatter().string(from: Date())
            line = "{\"level\":\"\(level)\",\"msg\":\"\(escaped)\",\"time\":\"\(time)\"}\n"
        } else {
            line = "level=\(level) msg=\"\(message)\"\n"
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return }
        _ = line.utf8CString.withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
    }
}

/// What `exec --process` does before runc runs: the new process gets what the container's
/// first process got (the launcher, the `SPILLWAY_*` environment), read from the container's
/// own config.json, which `create` rewrote. A container that is not managed, or anything that
/// cannot be read, leaves the process file as it is (the process runs as it would with runc).
struct ExecPreparation {
    let invocation: RuntimeInvocation
    let runc: String

    /// nil when the process file was prepared or needs nothing; else why it was left alone.
    func run() -> String? {
        guard let id = invocation.containerID, let processPath = invocation.processPath else { return nil }
        let state: HostCommand.Result
        do {
            state = try HostCommand.run([runc] + (invocation.stateRoot.map { ["--root", $0] } ?? []) + ["state", id])
        } catch {
            return "cannot ask runc where container \(id)'s bundle is: \(error)"
        }
        guard state.status == 0,
              let object = try? JSONSerialization.jsonObject(with: Data(state.stdout.utf8)) as? [String: Any],
              let bundle = object["bundle"] as? String else {
            return "runc state \(id) gave no bundle: \(state.stderr.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
        do {
            let config = try Data(contentsOf: URL(fileURLWithPath: bundle + "/config.json"))
            let process = try Data(contentsOf: URL(fileURLWithPath: processPath))
            guard let rewritten = try OCISpecInjection.execProcess(process, container: config) else { return nil }
            try RuntimePreparation.replaceAtomically(processPath, with: rewritten)
            return nil
        } catch {
            return "cannot prepare the exec process file \(processPath) of container \(id): \(error)"
        }
    }
}
