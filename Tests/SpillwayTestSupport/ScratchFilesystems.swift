import Foundation

/// Loop filesystems for the usage and partition tests: btrfs with quotas enabled, mounts with
/// options, and a cleanup that also removes what the code under test mounted or attached inside
/// them (nested mounts first, then loop devices backed by files in them), so a failing test
/// leaves no mount or loop device behind.
extension LoopFilesystem {
    /// Makes a loop filesystem of `type` mounted with `options`; for btrfs with `quota`, runs
    /// `btrfs quota enable` on it.
    public static func make(type: String, megabytes: Int = 256, options: String? = nil, quota: Bool = false) throws -> LoopFilesystem {
        let fs = try LoopFilesystem(type: type, megabytes: megabytes, options: options)
        if quota {
            do {
                try Command.check(["btrfs", "quota", "enable", fs.mountPoint])
            } catch {
                fs.destroy()
                throw error
            }
        }
        return fs
    }

    /// Unmounts everything mounted beneath the mount point, deepest first, and detaches every loop
    /// device whose backing file lies under it.
    public func removeNestedMountsAndLoops() {
        for _ in 0..<3 {
            let nested = Self.mountPoints().filter { $0.hasPrefix(mountPoint + "/") }.sorted { $0.count > $1.count }
            if nested.isEmpty { break }
            for point in nested where (try? Command.run(["umount", point]))?.status != 0 {
                _ = try? Command.run(["umount", "-l", point])
            }
        }
        for (device, backing) in Self.loopDevices() where backing.hasPrefix(mountPoint + "/") {
            _ = try? Command.run(["losetup", "-d", device])
        }
    }

    /// Mount points in /proc/self/mountinfo (octal escapes undone).
    public static func mountPoints() -> [String] {
        guard let text = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            return unescape(String(fields[4]))
        }
    }

    /// Attached loop devices and their backing files, from /sys/block/loop*/loop/backing_file.
    public static func loopDevices() -> [(device: String, backing: String)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/sys/block") else { return [] }
        return names.filter { $0.hasPrefix("loop") }.compactMap { name in
            guard let backing = try? String(contentsOfFile: "/sys/block/\(name)/loop/backing_file", encoding: .utf8) else { return nil }
            return ("/dev/\(name)", backing.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    private static func unescape(_ text: String) -> String {
        var out = ""
        var chars = Array(text)
        var i = 0
        while i < chars.count {
            if chars[i] == "\\", i + 3 < chars.count,
               let value = Int(String(chars[(i + 1)...(i + 3)]), radix: 8) {
                out.append(Character(Unicode.Scalar(UInt8(value))))
                i += 4
            } else {
                out.append(chars[i])
                i += 1
            }
        }
        chars.removeAll()
        return out
    }
}

/// Runs `body` with one loop filesystem and always cleans up, nested mounts and loops included.
public func withLoopFilesystem<T>(
    _ type: String, megabytes: Int = 256, options: String? = nil, quota: Bool = false, _ body: (LoopFilesystem) throws -> T
) throws -> T {
    let fs = try LoopFilesystem.make(type: type, megabytes: megabytes, options: options, quota: quota)
    defer {
        fs.removeNestedMountsAndLoops()
        fs.destroy()
    }
    return try body(fs)
}

/// Whether this kernel can mount XFS with project quotas, found once by trying it on a loop
/// device: mkfs.xfs, then `mount -o prjquota`. Kernels built without CONFIG_XFS_QUOTA refuse.
public enum XfsProjectQuotaProbe {
    /// `nil` when XFS with prjquota mounts here; else why not, in one line.
    public static let unavailableReason: String? = probe()

    /// Whether XFS project quotas work on this kernel.
    public static var isAvailable: Bool { unavailableReason == nil }

    /// Whether mkfs.xfs is installed and the kernel knows XFS (without quotas, perhaps).
    public static var canMakeXfs: Bool {
        (try? Command.resolve("mkfs.xfs")) != nil
            && ((try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8))?.contains("\txfs") ?? false)
    }

    private static func probe() -> String? {
        guard (try? Command.resolve("mkfs.xfs")) != nil else {
            return "mkfs.xfs is not installed (xfsprogs), so XFS project quotas cannot be tried"
        }
        do {
            let fs = try LoopFilesystem(type: "xfs", megabytes: 320, options: "prjquota")
            fs.destroy()
            return nil
        } catch let failure as LoopFilesystem.MountRefused {
            return "this kernel lacks XFS quota support: `mount -o prjquota` of a fresh XFS fails (\(failure.reason))"
        } catch {
            return "XFS could not be set up: \(error)"
        }
    }
}
