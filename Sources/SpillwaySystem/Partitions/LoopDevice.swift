#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import SystemPackage

/// A loop block device, held open.
///
/// Devices are attached with `LO_FLAGS_AUTOCLEAR`: once nothing holds them (no mount, no open
/// descriptor) the kernel detaches them by itself, so a crash between attaching and mounting
/// leaks no device.
final class LoopDevice {
    /// /dev/loopN.
    let path: String
    let fd: FileDescriptor
    /// The device number (st_rdev).
    let device: UInt64

    private init(path: String, fd: FileDescriptor, device: UInt64) {
        self.path = path
        self.fd = fd
        self.device = device
    }

    deinit {
        try? fd.close()
    }

    /// Binds `backing` to a free loop device (LOOP_CTL_GET_FREE, then LOOP_CONFIGURE), retrying
    /// when another process takes the device first.
    ///
    /// - Parameter name: the backing file's path, shown by `losetup`.
    /// - Throws: ``SystemError``.
    static func attach(_ backing: FileDescriptor, name: String) throws -> LoopDevice {
        let control = Glibc.open("/dev/loop-control", O_RDWR | O_CLOEXEC)
        guard control >= 0 else {
            throw SystemError("attach a loop device to", path: name, syscall: "open(/dev/loop-control)", errno: Errno(rawValue: errno),
                              hint: "load the loop module (modprobe loop)")
        }
        defer { close(control) }
        var lastError = Errno.resourceBusy
        for _ in 0..<20 {
            let index = spillway_loop_get_free(control)
            guard index >= 0 else {
                throw SystemError("attach a loop device to", path: name, syscall: "ioctl(LOOP_CTL_GET_FREE)", errno: Errno(rawValue: errno))
            }
            let path = "/dev/loop\(index)"
            let device = try open(path: path)
            if spillway_loop_configure(device.fd.rawValue, backing.rawValue, SPILLWAY_LO_FLAGS_AUTOCLEAR, name) == 0 {
                return device
            }
            lastError = Errno(rawValue: errno)
            // EBUSY: someone bound it between GET_FREE and CONFIGURE; take another.
            guard lastError == .resourceBusy else { break }
        }
        throw SystemError("attach a loop device to", path: name, syscall: "ioctl(LOOP_CONFIGURE)", errno: lastError)
    }

    /// Opens the loop device at `path` and checks that it is one.
    static func open(path: String) throws -> LoopDevice {
        var fd: Int32
        repeat {
            fd = Glibc.open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)
        } while fd < 0 && errno == EINTR
        guard fd >= 0 else {
            throw SystemError("open loop device", path: path, syscall: "open", errno: Errno(rawValue: errno))
        }
        let descriptor = FileDescriptor(rawValue: fd)
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFBLK,
              spillway_dev_major(UInt64(st.st_rdev)) == SPILLWAY_LOOP_MAJOR
        else {
            try? descriptor.close()
            throw InvalidFileError(path: path, problem: "is not a loop block device")
        }
        return LoopDevice(path: path, fd: descriptor, device: UInt64(st.st_rdev))
    }

    /// Whether the device is bound to the file `st` describes.
    func isBacked(by st: stat) -> Bool {
        var dev: UInt64 = 0, ino: UInt64 = 0, flags: UInt32 = 0
        guard spillway_loop_backing(fd.rawValue, &dev, &ino, &flags) == 0 else { return false }
        return dev == UInt64(st.st_dev) && ino == UInt64(st.st_ino)
    }

    /// Makes the device take its backing file's new size (LOOP_SET_CAPACITY).
    func refreshCapacity() throws {
        guard spillway_loop_set_capacity(fd.rawValue) == 0 else {
            throw SystemError("grow loop device", path: path, syscall: "ioctl(LOOP_SET_CAPACITY)", errno: Errno(rawValue: errno))
        }
    }

    /// Detaches the backing file (LOOP_CLR_FD); the kernel defers it while others hold the device.
    func detach() throws {
        guard spillway_loop_clear(fd.rawValue) == 0 else {
            let err = Errno(rawValue: errno)
            if err == .noSuchAddressOrDevice { return }  // already detached
            throw SystemError("detach loop device", path: path, syscall: "ioctl(LOOP_CLR_FD)", errno: err)
        }
    }
}
