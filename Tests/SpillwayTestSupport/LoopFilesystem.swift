import Foundation

/// A real filesystem on a loop device, mounted in a temporary directory, for tests that need
/// separate devices (a main disk and a sub disk). Unmounted, detached and deleted by
/// ``destroy()``, which ``withLoopFilesystems(_:_:)`` calls whatever the test does.
public final class LoopFilesystem: @unchecked Sendable {
    /// mkfs worked but the kernel refused the mount; `reason` carries mount's message and the
    /// kernel's last line about the filesystem (e.g. an XFS without quota support).
    public struct MountRefused: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { reason }
    }

    public let type: String
    public let image: String
    public let mountPoint: String
    public private(set) var device: String?
    private var mounted = false

    /// Makes an image of `megabytes`, formats it as `type` (`btrfs`, `ext4` or `xfs`, which
    /// needs at least 300 MB) and mounts it.
    ///
    /// - Throws: ``MountRefused`` when the kernel refuses the mount; anything is cleaned up.
    public init(type: String, megabytes: Int, options: String? = nil) throws {
        self.type = type
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("spillway-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        image = base.appendingPathComponent("\(type).img").path
        mountPoint = base.appendingPathComponent("mnt").path
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        do {
            try Command.check(["truncate", "-s", "\(megabytes)M", image])
            let attached = try Command.check(["losetup", "--find", "--show", image])
            device = attached.trimmingCharacters(in: .whitespacesAndNewlines)
            let force = type == "ext4" ? "-F" : "-f"
            try Command.check(["mkfs.\(type)", "-q", force, device!])
            var mount = ["mount", "-t", type]
            if let options { mount += ["-o", options] }
            let result = try Command.run(mount + [device!, mountPoint])
            guard result.status == 0 else {
                let kernel = (try? Command.run(["dmesg"]))?.stdout.split(separator: "\n")
                    .last(where: { $0.localizedCaseInsensitiveContains(type) }) ?? ""
                throw MountRefused(reason: [result.stderr.trimmingCharacters(in: .whitespacesAndNewlines), String(kernel)]
                    .filter { !$0.isEmpty }.joined(separator: "; kernel: "))
            }
            mounted = true
        } catch {
            destroy()
            throw error
        }
    }

    /// Unmounts, detaches the loop device and removes the image; safe to call twice.
    public func destroy() {
        if mounted {
            if (try? Command.run(["umount", mountPoint]))?.status != 0 {
                _ = try? Command.run(["umount", "-l", mountPoint])
            }
            mounted = false
        }
        if let device {
            _ = try? Command.run(["losetup", "-d", device])
            self.device = nil
        }
        try? FileManager.default.removeItem(atPath: URL(fileURLWithPath: image).deletingLastPathComponent().path)
    }

    deinit { destroy() }
}

/// Runs `body` with one mounted loop filesystem per requested type, and always cleans up.
public func withLoopFilesystems<T>(
    _ types: [String], megabytes: Int = 256, _ body: ([LoopFilesystem]) throws -> T
) throws -> T {
    var made: [LoopFilesystem] = []
    defer { made.forEach { $0.destroy() } }
    for type in types {
        made.append(try LoopFilesystem(type: type, megabytes: megabytes))
    }
    return try body(made)
}
