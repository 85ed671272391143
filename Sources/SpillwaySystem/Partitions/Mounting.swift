#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SystemPackage

/// mount(2) and umount2(2) for partition backends.
enum Mounting {
    /// Mounts `device` (a filesystem of `type`) on the directory `target` refers to, with
    /// `MS_NOSUID | MS_NODEV` always added to `flags`.
    ///
    /// The target is named through /proc/self/fd, so the mount lands on the directory Spillway
    /// created and holds, whatever happens to its path meanwhile.
    /// The corresponding C function is `mount`.
    /// - Throws: ``SystemError`` naming `display`.
    static func mount(device: String, on target: FileDescriptor, type: String, flags: UInt = 0, display: String) throws {
        let flags = flags | UInt(MS_NOSUID) | UInt(MS_NODEV)
        guard Glibc.mount(device, "/proc/self/fd/\(target.rawValue)", type, flags, nil) == 0 else {
            throw SystemError("mount \(device) on", path: display, syscall: "mount", errno: Errno(rawValue: errno))
        }
    }

    /// Unmounts the filesystem mounted at `mountPoint` (an absolute path from mountinfo).
    ///
    /// `EBUSY` is tried again for up to `busyFor` seconds: a child that another thread of this
    /// process forks holds copies of every descriptor (the mount's too, close-on-exec or not)
    /// until it runs its program, so a mount nobody uses can be busy for a moment.
    /// The corresponding C function is `umount2` (with `UMOUNT_NOFOLLOW`).
    /// - Throws: ``SystemError``; `EBUSY` gets a hint that a process still uses it.
    static func unmount(_ mountPoint: String, busyFor: Double = 2) throws {
        let deadline = Date().addingTimeInterval(busyFor)
        while umount2(mountPoint, Int32(UMOUNT_NOFOLLOW)) != 0 {
            let err = Errno(rawValue: errno)
            if err == .resourceBusy, Date() < deadline {
                usleep(20_000)
                continue
            }
            throw SystemError("unmount", path: mountPoint, syscall: "umount2", errno: err,
                              hint: err == .resourceBusy ? "a process still has files open there (stop the container first; see `fuser -vm \(mountPoint)`)" : nil)
        }
    }
}
