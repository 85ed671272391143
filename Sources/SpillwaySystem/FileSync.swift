#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Flushes a file's data and metadata to disk.
///
/// The corresponding C function is `fsync`.
func fsyncOrThrow(_ fd: FileDescriptor) throws {
    while fsync(fd.rawValue) != 0 {
        if errno == EINTR { continue }
        throw Errno(rawValue: errno)
    }
}

/// Flushes a directory, so that a rename or unlink in it is on disk.
///
/// - Throws: ``SystemError`` naming the directory.
public func fsyncDirectory(_ directory: FilePath) throws {
    let fd: FileDescriptor
    do {
        fd = try FileDescriptor.open(directory, .readOnly, options: [.directory, .closeOnExec])
    } catch let errno as Errno {
        throw SystemError("open directory", path: directory.string, syscall: "openat", errno: errno)
    }
    defer { try? fd.close() }
    do {
        try fsyncOrThrow(fd)
    } catch let errno as Errno {
        throw SystemError("sync directory", path: directory.string, syscall: "fsync", errno: errno)
    }
}
