#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Rewrites an OCI bundle's config.json so that the container runs under Spillway: bind mounts
/// of the libraries, the launcher, the slot (read-only) and the spill area (read-write) under
/// ``ContainerLayout/base``, the launcher in front of `process.args`, and the `SPILLWAY_*`
/// environment. Every other field is kept as it was. Applying it twice gives the same result.
///
/// A container served by its FUSE union (``root`` set) gets no view of its raw spill area: the
/// union is its only way there, so it cannot swap names under the union's feet (docs/SECURITY.md).
public struct OCISpecInjection: Sendable, Equatable {
    /// Host paths of what is mounted into the container.
    public var libDir: String
    public var launcher: String
    public var slot: String
    public var spill: String
    /// A new `root.path` (the FUSE union serving the container's root), or nil to keep it.
    public var root: String?
    /// The daemon's directory holding the container's ask socket, or nil when it serves none.
    public var ask: String?

    public init(libDir: String, launcher: String, slot: String, spill: String, root: String? = nil, ask: String? = nil) {
        self.libDir = libDir
        self.launcher = launcher
        self.slot = slot
        self.spill = spill
        self.root = root
        self.ask = ask
    }

    /// The mounts added, in order.
    public var mounts: [JSONValue] {
        func bind(_ source: String, _ destination: String, _ options: [String]) -> JSONValue {
            .object([
                "destination": .string(destination), "type": .string("bind"), "source": .string(source),
                "options": .array((["rbind"] + options).map(JSONValue.string)),
            ])
        }
        return [
            bind(libDir, ContainerLayout.libDir, ["ro", "nosuid", "nodev"]),
            bind(launcher, ContainerLayout.launcher, ["ro", "nosuid", "nodev"]),
            bind(slot, ContainerLayout.slot, ["ro", "nosuid", "nodev", "noexec"]),
        ] + (servesRawSpillArea ? [bind(spill, ContainerLayout.spill, ["rw", "nosuid", "nodev"])] : [])
            + (servesAsk ? [bind(ask!, ContainerLayout.ask, ["ro", "nosuid", "nodev", "noexec"])] : [])
    }

    /// Whether the container gets its ask socket: where the preload library writes the spill
    /// area itself and the daemon serves one (in mode `fuse` the union makes parents as root).
    public var servesAsk: Bool { servesRawSpillArea && ask != nil }

    /// Whether the container sees its spill area itself (the preload library writes there); not
    /// in mode `fuse`, where only the union, outside the container, works in it.
    public var servesRawSpillArea: Bool { root == nil }

    /// The `SPILLWAY_*` variables set: without `SPILLWAY_SPILL` in mode `fuse`, so that a preload
    /// library loaded there anyway stays out of the way (it needs a spill area to act).
    public var environment: [(String, String)] {
        ContainerLayout.environment.filter { (servesRawSpillArea || $0.0 != "SPILLWAY_SPILL") && (servesAsk || $0.0 != "SPILLWAY_ASK") }
    }

    /// The rewritten config.json.
    ///
    /// - Throws: ``InputError`` when `config` is not JSON, or has no `process.args` to run.
    public func apply(to config: Data) throws(InputError) -> Data {
        var document = try Self.decode(config)
        guard var process = document["process"]?.objectValue else {
            throw InputError("config.json has no 'process' object; it is not an OCI runtime spec with a program to run")
        }
        try Self.launch(&process, environment: environment.map { .string("\($0.0)=\($0.1)") },
                        noArgs: "config.json has no 'process.args'; the container has no program to start")
        document["process"] = .object(process)
        let kept = (document["mounts"]?.arrayValue ?? []).filter { mount in
            guard let destination = mount["destination"]?.stringValue else { return true }
            return destination != ContainerLayout.base && !destination.hasPrefix(ContainerLayout.base + "/")
        }
        document["mounts"] = .array(kept + mounts)
        if let root {
            var rootObject = document["root"]?.objectValue ?? [:]
            rootObject["path"] = .string(root)
            document["root"] = .object(rootObject)
        }
        return try Self.encode(document, file: "config.json")
    }

    /// The process file of an `exec` into a container (`runc exec --process`), given what that
    /// container's first process got: the launcher in front of its `args` and the same
    /// `SPILLWAY_*` environment, so `docker exec` and `kubectl exec` run under Spillway too.
    /// Returns nil when the container's config.json shows it is not managed (no launcher in
    /// front of its program): then the process file stays as it is. Applying it twice gives
    /// the same result.
    ///
    /// - Throws: ``InputError`` when either file is not JSON, or the process has no `args`.
    public static func execProcess(_ processFile: Data, container config: Data) throws(InputError) -> Data? {
        let document = try decode(config)
        guard let first = document["process"]?.objectValue,
              first["args"]?.arrayValue?.first?.stringValue == ContainerLayout.launcher else { return nil }
        var process = try decode(processFile)
        try launch(&process, environment: (first["env"]?.arrayValue ?? []).filter(isSpillwayVariable),
                   noArgs: "the exec process file has no 'args'; there is no program to start")
        return try encode(process, file: "the exec process file")
    }

    /// Puts the launcher in front of `process.args` (once) and makes `environment` its
    /// `SPILLWAY_*` variables, replacing any it had; `noArgs` is the error without a program.
    static func launch(_ process: inout [String: JSONValue], environment: [JSONValue], noArgs: String) throws(InputError) {
        guard var args = process["args"]?.arrayValue, !args.isEmpty else { throw InputError(noArgs) }
        if args.first?.stringValue != ContainerLayout.launcher {
            args.insert(.string(ContainerLayout.launcher), at: 0)
        }
        process["args"] = .array(args)
        process["env"] = .array((process["env"]?.arrayValue ?? []).filter { !isSpillwayVariable($0) } + environment)
    }

    /// Is this `env` entry one of the variables Spillway sets (``ContainerLayout/environment``)?
    static func isSpillwayVariable(_ entry: JSONValue) -> Bool {
        guard let text = entry.stringValue, let equals = text.firstIndex(of: "=") else { return false }
        return ContainerLayout.environment.contains { $0.0 == text[..<equals] }
    }

    /// A JSON document written back: keys sorted, slashes as they are.
    static func encode(_ document: [String: JSONValue], file: String) throws(InputError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return try encoder.encode(JSONValue.object(document))
        } catch {
            throw InputError("\(file) could not be written back: \(error)")
        }
    }

    /// The container's root filesystem as the host sees it: `root.path`, made absolute against
    /// the bundle directory when relative.
    ///
    /// - Throws: ``InputError`` when `config` is not JSON or has no `root.path`.
    public static func rootPath(of config: Data, bundle: String) throws(InputError) -> String {
        let document = try decode(config)
        guard let path = document["root"]?.objectValue?["path"]?.stringValue, !path.isEmpty else {
            throw InputError("config.json has no 'root.path'; the bundle does not say where the container's root filesystem is")
        }
        if path.hasPrefix("/") { return path }
        return (bundle.hasSuffix("/") ? bundle : bundle + "/") + path
    }

    /// Annotations of the spec (`annotations`), e.g. a Kubernetes container name.
    public static func annotations(of config: Data) -> [String: String] {
        guard let document = try? decode(config), let members = document["annotations"]?.objectValue else { return [:] }
        return members.compactMapValues(\.stringValue)
    }

    static func decode(_ config: Data) throws(InputError) -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: config)
        } catch {
            throw InputError("config.json is not valid JSON (\(error)); the bundle is damaged")
        }
        guard case .object(let members) = value else {
            throw InputError("config.json is not a JSON object; the bundle is damaged")
        }
        return members
    }
}
