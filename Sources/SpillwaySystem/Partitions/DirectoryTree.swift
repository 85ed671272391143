#if canImport(Glibc)
import Glibc
#endif
import SystemPackage

/// Walks a container-controlled directory tree through descriptors only: each directory is
/// opened with openat2(2) beneath its parent's descriptor (no symlinks, no magic links, no mount
/// crossings, `O_NOFOLLOW`) and checked with fstat(2) to be the directory that was listed, so a
/// container racing renames or symlinks cannot make the walk leave the tree.
///
/// The walk holds one descriptor per level, so its depth is capped (``maxDepth``).
enum DirectoryTree {
    /// The deepest level walked; a deeper tree is an error rather than a descriptor exhaustion.
    static let maxDepth = 1024

    private struct Frame {
        let fd: FileDescriptor
        let display: String
        let nameInParent: String?
        var names: [String]
        var next = 0
    }

    /// Bytes allocated to everything under `directory`, itself included: the sum of
    /// `st_blocks * 512`, counting a hard-linked file once.
    ///
    /// The cost is one fstatat(2) per entry and one openat2/getdents per directory.
    /// - Throws: ``SystemError`` when a directory cannot be opened or read (not for entries that
    ///   vanish while it walks); ``InvalidFileError`` past ``maxDepth``.
    static func allocatedBytes(in directory: FileDescriptor, display: String) throws -> UInt64 {
        var total: UInt64 = 0
        var seen = Set<UInt64>()
        let top = try Descriptors.status(directory, path: display)
        total &+= UInt64(max(top.st_blocks, 0)) * 512
        try walk(directory, display: display) { _, _, st in
            if !Descriptors.isDirectory(st), st.st_nlink > 1, !seen.insert(UInt64(st.st_ino)).inserted { return }
            total &+= UInt64(max(st.st_blocks, 0)) * 512
        } leaving: { _, _ in }
        return total
    }

    /// Removes everything inside `directory` (not `directory` itself), depth first.
    ///
    /// - Throws: ``SystemError`` when an entry cannot be removed (immutable files, a mount
    ///   inside the tree); what was removed stays removed.
    static func removeContents(of directory: FileDescriptor, display: String) throws {
        try walk(directory, display: display) { parent, name, st in
            guard !Descriptors.isDirectory(st) else { return }
            if unlinkat(parent.fd.rawValue, name, 0) != 0, errno != ENOENT {
                let err = Errno(rawValue: errno)
                throw SystemError("remove", path: "\(parent.display)/\(name)", syscall: "unlinkat", errno: err,
                                  hint: err == .notPermitted ? "it may be immutable or append-only (chattr -ia)" : nil)
            }
        } leaving: { parent, name in
            if unlinkat(parent.fd.rawValue, name, AT_REMOVEDIR) != 0, errno != ENOENT {
                let err = Errno(rawValue: errno)
                throw SystemError("remove directory", path: "\(parent.display)/\(name)", syscall: "unlinkat", errno: err,
                                  hint: err == .resourceBusy ? "something is mounted on it" : nil)
            }
        }
    }

    /// Calls `visit` for every entry under `directory` with its parent, name and lstat, and
    /// `leaving` for every subdirectory after its contents, with its parent and name.
    private static func walk(
        _ directory: FileDescriptor, display: String,
        visit: (_ parent: (fd: FileDescriptor, display: String), _ name: String, _ st: stat) throws -> Void,
        leaving: (_ parent: (fd: FileDescriptor, display: String), _ name: String) throws -> Void
    ) throws {
        var stack = [Frame(fd: directory, display: display, nameInParent: nil,
                           names: try SubDisk.entryNames(directory, display: display))]
        defer {
            // Close every descriptor the walk opened (the first is the caller's).
            for frame in stack.dropFirst() { try? frame.fd.close() }
        }
        while !stack.isEmpty {
            let depth = stack.count - 1
            if stack[depth].next == stack[depth].names.count {
                let done = stack.removeLast()
                if let name = done.nameInParent, let parent = stack.last {
                    try? done.fd.close()
                    try leaving((parent.fd, parent.display), name)
                }
                continue
            }
            let name = stack[depth].names[stack[depth].next]
            stack[depth].next += 1
            let parent = (fd: stack[depth].fd, display: stack[depth].display)
            var st = stat()
            if fstatat(parent.fd.rawValue, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
                if errno == ENOENT { continue }
                throw SystemError("inspect", path: "\(parent.display)/\(name)", syscall: "fstatat", errno: Errno(rawValue: errno))
            }
            try visit(parent, name, st)
            guard Descriptors.isDirectory(st) else { continue }
            guard stack.count < maxDepth else {
                throw InvalidFileError(path: "\(parent.display)/\(name)", problem: "lies deeper than \(maxDepth) directories; Spillway does not walk further")
            }
            let childDisplay = "\(parent.display)/\(name)"
            let child: FileDescriptor
            do {
                child = try Descriptors.openBeneath(parent.fd, name, flags: O_RDONLY | O_DIRECTORY, action: "open directory", display: childDisplay)
            } catch let error as SystemError where error.errno == .noSuchFileOrDirectory {
                continue
            }
            // The directory opened must be the one just listed, not one swapped in since.
            let opened: stat
            do {
                opened = try Descriptors.status(child, path: childDisplay)
            } catch {
                try? child.close()
                throw error
            }
            guard opened.st_ino == st.st_ino, opened.st_dev == st.st_dev else {
                try? child.close()
                continue
            }
            let names: [String]
            do {
                names = try SubDisk.entryNames(child, display: childDisplay)
            } catch {
                try? child.close()
                throw error
            }
            stack.append(Frame(fd: child, display: childDisplay, nameInParent: name, names: names))
        }
    }
}
