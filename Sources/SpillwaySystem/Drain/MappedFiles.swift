#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Inodes that some process maps shared and writable, read once per drain pass from
/// /proc/PID/maps. Stores through such a mapping would go on landing in the spill-area copy, so
/// the drain leaves those files until they are unmapped.
///
/// A mapping names the device of its filesystem's superblock, which on btrfs is not the
/// subvolume's own device that stat reports; so an entry matches a file when its inode matches
/// and its device is either the file's or the superblock device of the spill area's mount
/// (``scan(superblock:)``, from mountinfo). A false match only defers a file to the next pass.
struct MappedFiles {
    private var entries: Set<MappedKey> = []

    struct MappedKey: Hashable {
        let major: UInt32
        let minor: UInt32
        let inode: UInt64
    }

    private var superblock: (UInt32, UInt32)?

    static func scan(superblock: (major: UInt32, minor: UInt32)?) -> MappedFiles {
        var result = MappedFiles()
        result.superblock = superblock
        guard let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return result }
        for pid in pids where pid.first?.isNumber == true {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                let fields = line.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: true)
                guard fields.count >= 5 else { continue }
                let perms = Array(fields[1].utf8)
                guard perms.count == 4, perms[1] == UInt8(ascii: "w"), perms[3] == UInt8(ascii: "s") else { continue }
                let dev = fields[3].split(separator: ":")
                guard dev.count == 2, let major = UInt32(dev[0], radix: 16), let minor = UInt32(dev[1], radix: 16),
                      let inode = UInt64(fields[4]), inode != 0 else { continue }
                result.entries.insert(MappedKey(major: major, minor: minor, inode: inode))
            }
        }
        return result
    }

    /// Whether the file with `st` is among them.
    func contains(_ st: stat) -> Bool {
        guard !entries.isEmpty else { return false }
        let dev = UInt64(st.st_dev)
        let major = UInt32((dev >> 8) & 0xfff) | UInt32(truncatingIfNeeded: (dev >> 32) & ~0xfff)
        let minor = UInt32(dev & 0xff) | UInt32(truncatingIfNeeded: (dev >> 12) & ~0xff)
        let inode = UInt64(st.st_ino)
        return entries.contains { entry in
            entry.inode == inode && ((entry.major == major && entry.minor == minor)
                || (superblock.map { entry.major == $0.0 && entry.minor == $0.1 } ?? false))
        }
    }
}
