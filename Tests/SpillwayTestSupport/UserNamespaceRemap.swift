import Foundation
import SpillwaySystem

/// dockerd `--userns-remap=default`: it maps containers' uids to the subordinate ranges of the
/// user `dockremap`, which must exist with entries in /etc/subuid and /etc/subgid. The test
/// support makes them when missing (idempotent; an existing user or range is left as it is).
public enum UserNamespaceRemap {
    /// The dockerd options, with the user and ranges in place.
    public static func dockerdArguments() throws -> [String] {
        try prepare()
        return ["--userns-remap=default"]
    }

    /// The first host uid a remapped container's root gets: the start of `dockremap`'s range in
    /// /etc/subuid (the range made here, or the one the host had).
    public static func hostRootUID() throws -> UInt32 {
        try prepare()
        return try range(in: "/etc/subuid")
    }

    private static let prepared: Result<Void, Error> = Result {
        if (try? Command.run(["getent", "passwd", "dockremap"]))?.status != 0 {
            try Command.check(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", "dockremap"])
        }
        for file in ["/etc/subuid", "/etc/subgid"] {
            let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            if text.split(separator: "\n").contains(where: { $0.hasPrefix("dockremap:") }) { continue }
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: file))
            defer { try? handle.close() }
            handle.seekToEndOfFile()
            let separator = text.isEmpty || text.hasSuffix("\n") ? "" : "\n"
            handle.write(Data((separator + "dockremap:231072:65536\n").utf8))
        }
    }

    private static func prepare() throws { try prepared.get() }

    private static func range(in file: String) throws -> UInt32 {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("dockremap:") }),
              let start = line.split(separator: ":").dropFirst().first.flatMap({ UInt32($0) }) else {
            throw CommandFailure(argv: ["read", file], result: CommandResult(status: 1, stdout: "", stderr: "no dockremap range in \(file)"))
        }
        return start
    }
}
