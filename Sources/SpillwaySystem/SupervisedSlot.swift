#if canImport(Glibc)
import Glibc
#endif
import SpillwayCore
import SystemPackage

/// A slot the supervisor keeps for one container, treated as untrusted: the supervisor holds
/// the file open and checks it at every poll, and puts right in place what it finds wrong.
///
/// The file every reader has mapped (containers bind-mount it, so they keep its inode) is the
/// one held. A truncated, grown or corrupt file is rewritten in place (``SlotFile/rewrite(_:after:)``);
/// a path replaced by a symlink, another file or nothing gets the held inode back atomically
/// (a link of it under a temporary name renamed over the impostor, which is never followed).
/// Since an inode whose last name is gone cannot be linked again, a second link of each slot is
/// kept in a private directory (`spares`, 0700, on the same filesystem).
public final class SupervisedSlot {
    /// The slot's path, as containers' runtimes mount it.
    public let path: FilePath
    /// The held file.
    public let file: SlotFile
    /// What the supervisor last wrote: the slot is repaired back to this.
    public private(set) var expected: SlotSnapshot
    private let name: String
    private let directory: FileDescriptor
    private let spares: FileDescriptor

    private init(path: FilePath, file: SlotFile, expected: SlotSnapshot, name: String, directory: FileDescriptor, spares: FileDescriptor) {
        self.path = path
        self.file = file
        self.expected = expected
        self.name = name
        self.directory = directory
        self.spares = spares
    }

    deinit {
        try? directory.close()
        try? spares.close()
    }

    /// Opens the slot `name` in `directory`, or makes it, holding `snapshot`'s id and state.
    ///
    /// An existing valid slot of the same id keeps its other fields and its inode (containers
    /// may have it mounted); a damaged one is rewritten in place; a path replaced while the
    /// supervisor was down gets the spare link's inode back.
    ///
    /// - Returns: the slot and what was found wrong (and put right).
    /// - Throws: ``SystemError`` or ``InvalidFileError`` naming the path when the slot can be
    ///   neither opened nor made; nothing new is left behind then.
    public static func keep(in directory: FilePath, spares: FilePath, name: String, snapshot: SlotSnapshot) throws -> (SupervisedSlot, [SlotFault]) {
        let path = directory.appending(name)
        let dirFD = try openDirectory(directory)
        let spareFD: FileDescriptor
        do {
            spareFD = try openDirectory(spares)
        } catch {
            try? dirFD.close()
            throw error
        }
        var faults: [SlotFault] = []
        let file: SlotFile
        var made = false
        if let atPath = try? SlotFile.openFile(at: path, in: dirFD, name: name) {
            file = atPath
        } else if let spare = try? SlotFile.openFile(at: path, in: spareFD, name: name) {
            file = spare
        } else {
            do {
                file = try SlotFile.create(in: dirFD, name: name, display: path, initial: snapshot)
                made = true
            } catch {
                try? dirFD.close()
                try? spareFD.close()
                throw error
            }
        }
        let slot = SupervisedSlot(path: path, file: file, expected: snapshot, name: name, directory: dirFD, spares: spareFD)
        do {
            if !made {
                switch try file.inspect() {
                case .valid(let found) where found.containerID == snapshot.containerID:
                    var next = found
                    next.state = snapshot.state
                    slot.expected = next
                    if found.state != snapshot.state { try slot.write(next) }
                case .valid(let found):
                    faults.append(.foreign("container id '\(found.containerID)'"))
                    slot.expected = try file.rewrite(snapshot, after: found.generation)
                case .invalid(let damage):
                    faults.append(.damaged(damage))
                    slot.expected = try file.rewrite(snapshot, after: 0)
                }
                let finding = slot.pathFinding()
                if finding != .heldFile {
                    faults.append(.replaced(finding))
                    try slot.restorePath()
                }
            }
            try slot.keepSpare()
        } catch {
            if made { slot.remove() }
            throw error
        }
        return (slot, faults)
    }

    /// Writes `body`'s changes to the slot, after putting right anything found wrong with it.
    ///
    /// - Returns: what was found wrong (and put right) first.
    @discardableResult
    public func update(_ body: (inout SlotSnapshot) -> Void) throws -> [SlotFault] {
        let faults = try verify()
        var next = expected
        body(&next)
        try write(next)
        return faults
    }

    private func write(_ next: SlotSnapshot) throws {
        expected = try file.update { current in
            let generation = current.generation
            current = next
            current.generation = generation
        }
    }

    /// Checks the held file and the path, and puts right what is wrong: the page is rewritten
    /// in place with what the supervisor last wrote; the path gets the held inode back.
    ///
    /// - Returns: what was wrong; empty when all is well (the usual case: an `fstatat`, an
    ///   `fstat` and two `pread`s).
    /// - Throws: ``SystemError`` when a repair fails; the next call tries again.
    public func verify() throws -> [SlotFault] {
        let finding = pathFinding()
        let faults = SlotFault.faults(content: try file.inspect(), path: finding, expected: expected)
        guard !faults.isEmpty else { return [] }
        if faults.contains(where: { if case .replaced = $0 { false } else { true } }) {
            expected = try file.rewrite(expected, after: expected.generation)
        }
        if finding != .heldFile { try restorePath() }
        try keepSpare()
        return faults
    }

    /// Removes the slot's path (when it names the held file or a symlink) and its spare link.
    public func remove() {
        var st = stat()
        if fstatat(directory.rawValue, name, &st, AT_SYMLINK_NOFOLLOW) == 0,
           file.isSameFile(st) || (st.st_mode & S_IFMT) == S_IFLNK {
            _ = unlinkat(directory.rawValue, name, 0)
        }
        if fstatat(spares.rawValue, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
            _ = unlinkat(spares.rawValue, name, 0)
        }
    }

    /// What the path names now, never following a symlink.
    func pathFinding() -> SlotPathFinding {
        var st = stat()
        guard fstatat(directory.rawValue, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { return .missing }
        if file.isSameFile(st) { return .heldFile }
        switch st.st_mode & S_IFMT {
        case S_IFLNK: return .symlink
        case S_IFREG: return .other(kind: "another regular file")
        case S_IFDIR: return .other(kind: "a directory")
        default: return .other(kind: "a special file")
        }
    }

    /// Puts the held inode back at the path: linked under a temporary name, renamed over
    /// whatever is there (a symlink is replaced, not followed).
    private func restorePath() throws {
        let temp = ".\(name).restore-\(getpid())"
        _ = unlinkat(directory.rawValue, temp, 0)
        try link(to: directory, name: temp)
        if renameat(directory.rawValue, temp, directory.rawValue, name) != 0 {
            let err = Errno(rawValue: errno)
            _ = unlinkat(directory.rawValue, temp, 0)
            throw SystemError("put slot file back at", path: path.string, syscall: "renameat", errno: err,
                              hint: err == .isDirectory ? "a directory was put there; remove it" : nil)
        }
        _ = fsync(directory.rawValue)
    }

    /// Makes the spare link name the held file.
    private func keepSpare() throws {
        var st = stat()
        if fstatat(spares.rawValue, name, &st, AT_SYMLINK_NOFOLLOW) == 0 {
            if file.isSameFile(st) { return }
            _ = unlinkat(spares.rawValue, name, 0)
        }
        try link(to: spares, name: name)
    }

    /// Links the held file as `name` in `target`: from the path or the spare when either still
    /// names it, else from the descriptor (possible while the file has a name somewhere).
    private func link(to target: FileDescriptor, name newName: String) throws {
        var st = stat()
        for source in [spares, directory] where source.rawValue != target.rawValue || newName != name {
            if fstatat(source.rawValue, name, &st, AT_SYMLINK_NOFOLLOW) == 0, file.isSameFile(st),
               linkat(source.rawValue, name, target.rawValue, newName, 0) == 0 {
                return
            }
        }
        if linkat(file.fd.rawValue, "", target.rawValue, newName, Self.atEmptyPath) == 0 { return }
        throw SystemError("link slot file", path: path.string, syscall: "linkat", errno: Errno(rawValue: errno),
                          hint: "the slot's directory and its spare links must be on one filesystem")
    }

    /// `AT_EMPTY_PATH` (linux/fcntl.h), which Glibc's module leaves out without _GNU_SOURCE.
    static let atEmptyPath: Int32 = 0x1000

    private static func openDirectory(_ path: FilePath) throws -> FileDescriptor {
        do {
            return try FileDescriptor.open(path, .readOnly, options: [.directory, .noFollow, .closeOnExec])
        } catch let errno as Errno {
            throw SystemError("open slot directory", path: path.string, syscall: "openat", errno: errno)
        }
    }
}
