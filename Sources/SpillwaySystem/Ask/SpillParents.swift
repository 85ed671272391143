#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import SpillwayCore
import SystemPackage

/// Makes the spill area's missing directories above a name, each with the owner and mode of the
/// same directory in the container's main-disk tree: what the preload library asks for when its
/// caller may not do it itself (a non-root process, a user-namespaced container).
///
/// Both trees are the container's and hostile. Each is entered from its top, a host path the
/// daemon chose, held as a descriptor; every component below is opened with openat2(2)
/// `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV` beneath the
/// descriptor of the one before it (``HeldDirectory``), so no symlink, `..` or mount is ever
/// followed. A directory is made `0700` with mkdirat(2) in its held parent, opened again with
/// openat2, checked with fstat (a directory, root's, mode 0700: the one just made), and only
/// then given the model's owner and mode with fchown(2)/fchmod(2) on that descriptor. A name
/// that exists already is left as it is and must be a directory. After the walk both paths are
/// resolved again from the tops: if either no longer leads to the directories walked (a rename
/// raced the request), the directories made are removed again (each only if still empty and
/// still the inode made) and the request is refused.
public enum SpillParents {
    /// What a request made.
    public struct Outcome: Equatable, Sendable {
        /// The directories made, relative to the spill area's top.
        public var made: [String]
    }

    /// A request that could not be served for a reason the caller's own call would meet too
    /// (the main disk has no such directory): answered with that errno, not counted as a refusal.
    public struct Unserved: Error, Equatable, Sendable {
        public let errno: Int32
        public let message: String
    }

    /// Makes the spill area's missing parents of `components` (the name's components relative
    /// to the managed root; the last one is the name itself, not made).
    ///
    /// - Parameters:
    ///   - mainRoot: the container's main-disk tree as the host sees it.
    ///   - spillRoot: its spill area's top.
    /// - Throws: ``AskRefusal`` (refused, with an event), ``Unserved`` (`ENOENT`/`ENOTDIR`:
    ///   the main disk lacks a parent), ``SystemError`` (the host's own trouble).
    public static func make(_ components: [String], mainRoot: String, spillRoot: String) throws -> Outcome {
        let parents = Array(components.dropLast())
        if parents.isEmpty { return Outcome(made: []) }
        let mainTop = try HeldDirectory.openRoot(FilePath(mainRoot))
        let spillTop = try HeldDirectory.openRoot(FilePath(spillRoot))
        var main = mainTop, spill = spillTop
        var made: [Made] = []
        var relative = ""
        do {
            for name in parents {
                relative = relative.isEmpty ? name : relative + "/" + name
                let mainNext = try enter(main, name, tree: "main-disk tree", relative: relative)
                let model = try mainNext.status()
                let spillNext: HeldDirectory
                if try spill.status(name) != nil {
                    spillNext = try enter(spill, name, tree: "spill area", relative: relative)
                } else {
                    let (dir, inode) = try makeLike(model, in: spill, name, relative: relative)
                    if let inode { made.append(Made(parent: spill, name: name, inode: inode, relative: relative)) }
                    spillNext = dir
                }
                main = mainNext
                spill = spillNext
            }
            // Re-check: both names still lead where the walk went.
            let path = parents.joined(separator: "/")
            try same(mainTop, path, as: main, tree: "main-disk tree")
            try same(spillTop, path, as: spill, tree: "spill area")
        } catch {
            for entry in made.reversed() {
                _ = try? entry.parent.remove(entry.name, ifInode: entry.inode, directory: true)
            }
            throw error
        }
        var names: [String] = []
        for entry in made { names.append(entry.relative) }
        return Outcome(made: names)
    }

    /// A directory this request made.
    struct Made {
        let parent: HeldDirectory
        let name: String
        let inode: UInt64
        let relative: String
    }

    /// The directory `name` beneath `parent`; a symlink, a mount or a non-directory there is a
    /// refusal (or, for a name that is not there at all, ``Unserved``).
    static func enter(_ parent: HeldDirectory, _ name: String, tree: String, relative: String) throws -> HeldDirectory {
        let shown = AskRequest.shown(relative)
        let failure: SystemError
        do {
            return try parent.directory(name)
        } catch {
            failure = error
        }
        switch failure.errno {
        case .noSuchFileOrDirectory:
            throw Unserved(errno: ENOENT, message: "'\(shown)' is not in the \(tree)")
        case .notDirectory:
            // A symlink opened O_NOFOLLOW|O_DIRECTORY also says ENOTDIR: look at what is there.
            if let st = try? parent.status(name), (st.st_mode & S_IFMT) == S_IFLNK {
                throw AskRefusal(.outsideTree, "'\(shown)' in the \(tree) is a symbolic link, which Spillway never follows")
            }
            throw Unserved(errno: ENOTDIR, message: "'\(shown)' in the \(tree) is not a directory")
        case .tooManySymbolicLinkLevels:
            throw AskRefusal(.outsideTree, "'\(shown)' in the \(tree) is a symbolic link, which Spillway never follows")
        case .improperLink:
            throw AskRefusal(.outsideTree, "'\(shown)' in the \(tree) is on another mount, which Spillway never crosses")
        default:
            throw failure
        }
    }

    /// Makes `name` in `parent` like `model` (`spillway_mkdir_like`: made 0700, checked through
    /// a fresh descriptor to be the directory made, then given the model's owner and mode
    /// through it). Returns the directory and, when this call made it, its inode.
    static func makeLike(_ model: stat, in parent: HeldDirectory, _ name: String, relative: String) throws -> (HeldDirectory, UInt64?) {
        let fd = spillway_mkdir_like(parent.fd.rawValue, name, model.st_uid, model.st_gid, UInt32(model.st_mode & 0o7777))
        if fd == -EEXIST {
            // Made meanwhile by someone else: take it as it is, if it is a directory.
            return (try enter(parent, name, tree: "spill area", relative: relative), nil)
        }
        if fd == -EAGAIN || fd == -ENOTDIR || fd == -ELOOP {
            throw AskRefusal(.raced, "'\(AskRequest.shown(relative))' in the spill area was replaced while it was being made")
        }
        guard fd >= 0 else {
            throw SystemError("create directory", path: parent.path(name), syscall: "spillway_mkdir_like", errno: Errno(rawValue: -fd))
        }
        let dir = HeldDirectory(fd: FileDescriptor(rawValue: fd), display: parent.path(name))
        return (dir, UInt64(try dir.status().st_ino))
    }

    /// `path` beneath `top` is still the directory `walked`.
    static func same(_ top: HeldDirectory, _ path: String, as walked: HeldDirectory, tree: String) throws {
        let b = try walked.status()
        var a: stat?
        if let again = try? top.directory(path) { a = try? again.status() }
        guard let a, a.st_dev == b.st_dev, a.st_ino == b.st_ino else {
            throw AskRefusal(.raced, "'\(AskRequest.shown(path))' in the \(tree) was renamed while the request was served")
        }
    }
}
