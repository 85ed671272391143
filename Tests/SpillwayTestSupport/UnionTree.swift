import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// One name in a directory tree as it lies on disk, read without any preload library.
public struct TreeEntry: Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable { case file = "f", directory = "d", symlink = "l", fifo = "p", other = "?" }

    public let kind: Kind
    /// A regular file's bytes or a symbolic link's target (empty for anything else).
    public let content: Data
    public let mode: UInt32
    public let uid: UInt32
    public let gid: UInt32

    public var description: String {
        let text = String(decoding: content.prefix(40), as: UTF8.self)
        return "\(kind.rawValue) \(String(mode, radix: 8)) \(uid):\(gid) \(content.count)B \"\(text)\""
    }
}

/// A directory tree on disk, read raw: relative path to entry, symbolic links not followed.
public struct TreeSnapshot: Sendable {
    public private(set) var entries: [String: TreeEntry] = [:]

    /// Reads the tree below `root` (the root itself is not an entry).
    public init(root: String) {
        walk(root, relative: "")
    }

    public var nonDirectories: Set<String> { Set(entries.filter { $0.value.kind != .directory }.keys) }
    public var directories: Set<String> { Set(entries.filter { $0.value.kind == .directory }.keys) }

    /// Bytes held by regular files.
    public var fileBytes: Int {
        entries.values.filter { $0.kind == .file }.reduce(0) { $0 + $1.content.count }
    }

    private mutating func walk(_ directory: String, relative: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names {
            let path = directory + "/" + name
            let rel = relative.isEmpty ? name : relative + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0 else { continue }
            let kind: TreeEntry.Kind
            var content = Data()
            switch st.st_mode & S_IFMT {
            case S_IFDIR: kind = .directory
            case S_IFREG:
                kind = .file
                content = FileManager.default.contents(atPath: path) ?? Data()
            case S_IFLNK:
                kind = .symlink
                content = Data(((try? FileManager.default.destinationOfSymbolicLink(atPath: path)) ?? "").utf8)
            case S_IFIFO: kind = .fifo
            default: kind = .other
            }
            entries[rel] = TreeEntry(kind: kind, content: content, mode: UInt32(st.st_mode & 0o7777),
                                     uid: st.st_uid, gid: st.st_gid)
            if kind == .directory { walk(path, relative: rel) }
        }
    }
}

/// A starting tree for union tests: each entry lives on the main disk, in the spill area (as if
/// spilled earlier), or, for directories, in both.
public struct UnionFixture: Sendable {
    public enum Place: Sendable { case main, spill, both }
    public enum Item: Sendable {
        case directory(mode: Int, uid: Int, gid: Int)
        case file(Data, mode: Int, uid: Int, gid: Int)
        case symlink(String)
    }

    public struct Entry: Sendable {
        public let path: String
        public let item: Item
        public let place: Place

        public init(_ path: String, _ item: Item, _ place: Place) {
            self.path = path
            self.item = item
            self.place = place
        }
    }

    public let entries: [Entry]

    public init(_ entries: [Entry]) { self.entries = entries }

    /// Writes the fixture: split between `tree` and `spill` when `split`, else all into `tree`.
    /// Every entry gets the same access and modification time, `time` (seconds since the epoch),
    /// so that archives of the tree come out the same byte for byte whenever they are made.
    /// (Plain system calls: this runs hundreds of times per test.)
    public func materialise(tree: String, spill: String, split: Bool, time: Int = 1_577_836_800) throws {
        try FileManager.default.createDirectory(atPath: tree, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: spill, withIntermediateDirectories: true)
        chmod(spill, 0o700)
        func check(_ rc: Int32, _ what: String, _ path: String) throws {
            if rc != 0 { throw FixtureError(call: what, path: path, errno: errno) }
        }
        var made: [String] = []
        // Directories first (parents before children), then the rest.
        let ordered = entries.filter { if case .directory = $0.item { return true }; return false }
            .sorted { $0.path < $1.path } + entries.filter { if case .directory = $0.item { return false }; return true }
        for entry in ordered {
            var roots: [String] = []
            switch (split, entry.place) {
            case (false, _), (true, .main): roots = [tree]
            case (true, .spill): roots = [spill]
            case (true, .both): roots = [tree, spill]
            }
            for root in roots {
                let path = root + "/" + entry.path
                made.append(path)
                switch entry.item {
                case let .directory(mode, uid, gid):
                    try check(mkdir(path, mode_t(mode)), "mkdir", path)
                    try check(chown(path, uid_t(uid), gid_t(gid)), "chown", path)
                    try check(chmod(path, mode_t(mode)), "chmod", path)
                case let .file(data, mode, uid, gid):
                    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(0o600))
                    try check(fd < 0 ? -1 : 0, "open", path)
                    let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    let ok = written == data.count && fchown(fd, uid_t(uid), gid_t(gid)) == 0 && fchmod(fd, mode_t(mode)) == 0
                    close(fd)
                    try check(ok ? 0 : -1, "write", path)
                case let .symlink(target):
                    try check(symlink(target, path), "symlink", path)
                }
            }
        }
        // Children first, so that making them does not move their directory's time again.
        let stamp = timespec(tv_sec: time, tv_nsec: 0)
        for path in made.reversed() + [tree, spill] {
            try check(utimensat(AT_FDCWD, path, [stamp, stamp], AT_SYMLINK_NOFOLLOW), "utimensat", path)
        }
    }
}

/// A fixture entry could not be made.
public struct FixtureError: Error, CustomStringConvertible {
    public let call: String
    public let path: String
    public let errno: Int32
    public var description: String { "\(call) \(path): \(String(cString: strerror(errno)))" }
}
