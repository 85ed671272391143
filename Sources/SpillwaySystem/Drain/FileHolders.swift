#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SpillwayCore

/// The processes that hold given files open, found by a look at every process's descriptors
/// (/proc/PID/fd, each stat'ed through its link: the device and inode of what it opens). The
/// drain asks only for the files a writer keeps it from moving, once per batch, so that
/// `spillway grow --wait` and `spillway status` can say who holds them.
///
/// Every process of the host is looked at (a container's processes are the host's, in its
/// namespaces); a process that goes meanwhile is skipped. Nothing is opened but /proc entries.
enum FileHolders {
    struct Key: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    static func key(_ st: stat) -> Key { Key(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)) }

    /// Holders of each file of `files`, by ``key(_:)``; each process once per file.
    static func scan(_ files: [stat], limit: Int = 8) -> [Key: [DrainHolder]] {
        let wanted = Set(files.map(key))
        var found: [Key: [DrainHolder]] = [:]
        guard !wanted.isEmpty, let pids = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return found }
        let own = getpid()
        for name in pids {
            guard let pid = Int32(name), pid != own,
                  let fds = try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd") else { continue }
            var seen: Set<Key> = []
            for fd in fds {
                var st = stat()
                guard stat("/proc/\(pid)/fd/\(fd)", &st) == 0 else { continue }
                let k = key(st)
                guard wanted.contains(k), seen.insert(k).inserted, (found[k]?.count ?? 0) < limit else { continue }
                found[k, default: []].append(DrainHolder(pid: pid, command: command(pid)))
            }
        }
        return found
    }

    /// /proc/PID/comm without its newline; `?` when it is gone.
    static func command(_ pid: Int32) -> String {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8) else { return "?" }
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
