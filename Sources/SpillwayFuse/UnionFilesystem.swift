#if canImport(Glibc)
import Glibc
#endif
import CFuse3
import CSpillway
import CSpillwaySyscalls
import SpillwayCore
import Synchronization

/// The FUSE union of a container's main-disk tree and its spill area (spec section 5,
/// docs/FUSE.md): what static programs, which no preload library reaches, see instead of the
/// bare tree. Each operation (in the `UnionFilesystem+…` files) follows libfuse's
/// `example/passthrough.c` shape: it acts on the branches through held directory descriptors
/// and returns 0 (or a count) or `-errno`. Where a name goes is decided by ``UnionPolicy``.
public final class UnionFilesystem: @unchecked Sendable {
    let spill: Branch
    let main: Branch
    /// The container's slot, read on each create and each open or write that may move a file.
    public let slot: SlotWatch
    let table = OpenFileTable()
    /// Names of hard-linked files the kernel holds, to invalidate on a change through another.
    let linked = LinkedNames()
    let moveCounter = Atomic<UInt64>(0)
    let writerMarks = Atomic<UInt64>(0)
    /// Where the branches are, for messages only.
    let display: (tree: String, spill: String)

    /// Holds the two branch directories open.
    ///
    /// - Parameters:
    ///   - tree: the container's tree on the main disk.
    ///   - spill: its spill area on the sub disk (on another filesystem, or the same one).
    ///   - slot: the container's slot.
    /// - Throws: ``FuseUnionError`` naming a branch that is missing or not a directory.
    public init(tree: String, spill spillPath: String, slot: SlotWatch) throws(FuseUnionError) {
        func hold(_ path: String, _ option: String) throws(FuseUnionError) -> Int32 {
            let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
            guard fd >= 0 else {
                let err = errno
                let problem = err == ENOTDIR ? "is not a directory" : err == ENOENT ? "does not exist" : "cannot be opened (\(String(cString: strerror(err))))"
                throw FuseUnionError(input: "\(option) \(path)", problem: problem, fix: "give an existing directory")
            }
            return fd
        }
        let treeFD = try hold(tree, "--tree")
        let spillFD: Int32
        do { spillFD = try hold(spillPath, "--spill") } catch {
            close(treeFD)
            throw error
        }
        main = Branch(kind: .main, fd: treeFD)
        spill = Branch(kind: .spill, fd: spillFD)
        self.slot = slot
        display = (tree, spillPath)
    }

    deinit {
        close(main.fd)
        close(spill.fd)
    }

    @inline(__always)
    func branch(_ kind: BranchKind) -> Branch { kind == .spill ? spill : main }

    // MARK: - Lookups

    /// Where `relative` lives (spill area first) and its status there, or `-errno`: the spill
    /// area's error unless it is only `ENOENT`.
    @inline(__always)
    func locate(_ relative: UnsafePointer<CChar>, _ st: inout stat) -> (BranchKind?, Int32) {
        let inSpill = spill.status(relative, &st)
        if inSpill == 0 { return (.spill, 0) }
        let onMain = main.status(relative, &st)
        if onMain == 0 { return (.main, 0) }
        return (nil, onMain == -ENOENT ? inSpill : onMain)
    }

    func locate(_ path: UnionPath) -> (kind: BranchKind, status: stat)? {
        var st = stat()
        let (kind, _) = path.relative.withCString { locate($0, &st) }
        return kind.map { ($0, st) }
    }

    /// Both halves of `path`: a directory may have one in each branch; a non-directory found
    /// in the spill area hides any main-disk leftover.
    func halves(_ path: UnionPath) -> [BranchKind: stat] {
        var out: [BranchKind: stat] = [:]
        if let st = spill.lookup(path.relative) {
            out[.spill] = st
            if (st.st_mode & S_IFMT) != S_IFDIR { return out }
        }
        if let st = main.lookup(path.relative) {
            if let inSpill = out[.spill], (inSpill.st_mode & S_IFMT) == S_IFDIR, (st.st_mode & S_IFMT) != S_IFDIR { return out }
            out[.main] = st
        }
        return out
    }

    /// Makes `st` describe the union's view: inode numbers of the spill area are kept apart from
    /// the main disk's (both count from small numbers), so `-ef`, tar and cp see distinct files.
    @inline(__always)
    static func present(_ st: inout stat, from kind: BranchKind) {
        if kind == .spill { st.st_ino ^= ino_t(1) << 62 }
    }

    // MARK: - Directories for new names

    /// Makes sure the parent directories of `path` exist in `kind`, making the missing ones with
    /// the mode and owner their other half has. Returns 0 or `-errno`.
    func ensureParents(in kind: BranchKind, for path: UnionPath) -> Int32 {
        let target = branch(kind)
        var st = stat()
        if target.status(path.parent, &st) == 0 { return (st.st_mode & S_IFMT) == S_IFDIR ? 0 : -ENOTDIR }
        for ancestor in path.ancestors {
            if target.status(ancestor, &st) == 0 {
                if (st.st_mode & S_IFMT) != S_IFDIR { return -ENOTDIR }
                continue
            }
            var model = stat()
            let found = branch(kind.other).status(ancestor, &model)
            if found != 0 { return found }
            if (model.st_mode & S_IFMT) != S_IFDIR { return -ENOTDIR }
            let dir = UnionPath(ancestor)
            let parent = target.parent(of: dir)
            if parent < 0 { return parent }
            defer { close(parent) }
            let made = makeDirectory(in: parent, dir.name, like: model)
            if made < 0 && made != -EEXIST { return made }
        }
        return 0
    }

    /// Makes the directory `name` in `parent` (a directory of a branch) with the mode and owner
    /// of `model`, set through a descriptor of the directory made, opened with openat2(2) and
    /// checked with fstat: if the container swaps the name meanwhile (for a symlink to a host
    /// path), nothing but what was made can change. Returns 0, `-EEXIST` when a directory is
    /// there already (left as it is), or `-errno`: `-ENOTDIR` or `-ELOOP` when anything else
    /// is there.
    func makeDirectory(in parent: Int32, _ name: String, like model: stat) -> Int32 {
        // The one rule for it, shared with the daemon's ask server (spillway_syscalls.h).
        let fd = spillway_mkdir_like(parent, name, model.st_uid, model.st_gid, UInt32(model.st_mode & 0o7777))
        if fd == -EEXIST {
            let existing = Branch.open(at: parent, name, SPILLWAY_O_PATH | O_DIRECTORY)
            if existing < 0 { return existing == -ENOENT ? -EEXIST : existing }
            close(existing)
            return -EEXIST
        }
        if fd < 0 { return fd == -EAGAIN ? -ENOTDIR : fd }
        close(fd)
        return 0
    }

    /// Gives a name just made by this (root) daemon to the caller, as the kernel would have:
    /// the caller's uid, and its gid unless the directory is set-group-ID. The name is opened
    /// `O_PATH` beneath `parent` and changed through that descriptor (a symlink itself).
    func giveToCaller(parent: Int32, name: String) {
        let uid = spw_context_uid(), gid = spw_context_gid()
        if uid == geteuid() && gid == getegid() { return }
        var dir = stat()
        let inherit = fstat(parent, &dir) == 0 && (dir.st_mode & S_ISGID) != 0
        _ = HeldNode.with(parent, name) { $0.chown(uid, inherit ? gid_t.max : gid) }
    }

    /// Runs `make` (a create of one name in the directory it is given, returning 0 or `-errno`)
    /// where a new name belongs; a main-disk create that fails for want of space is made in the
    /// spill area instead (and the union behaves as `spilling` until the slot changes). Returns
    /// `-EEXIST` when the name is in either place.
    ///
    /// The parent is opened once in each place (whether it is there, and the directory the name
    /// is made in); the name is checked with one lookup in each parent.
    func create(_ path: UnionPath, _ make: (Int32, BranchKind) -> Int32) -> Int32 {
        let state = slot.state
        var parents: [BranchKind: Int32] = [:]
        defer { for fd in parents.values { close(fd) } }
        for kind in BranchKind.allCases {
            let fd = branch(kind).parent(of: path)
            if fd >= 0 { parents[kind] = fd }
        }
        if parents.isEmpty { return locate(path.parentPath) == nil ? -ENOENT : -ENOTDIR }
        var st = stat()
        for fd in parents.values where fstatat(fd, path.name, &st, AT_SYMLINK_NOFOLLOW) == 0 { return -EEXIST }
        let kind = UnionPolicy.branchForNewName(state: state, parentOnMain: parents[.main] != nil, parentInSpill: parents[.spill] != nil)
        /// The directory for the name in `kind`, made (with its missing ancestors) if needed.
        func parent(in kind: BranchKind) -> Int32 {
            if let fd = parents[kind] { return fd }
            let made = ensureParents(in: kind, for: path)
            if made < 0 { return made }
            let fd = branch(kind).parent(of: path)
            if fd >= 0 { parents[kind] = fd }
            return fd
        }
        var rc = parent(in: kind)
        if rc < 0 && !(kind == .main && UnionPolicy.isOutOfSpace(-rc)) { return rc }
        if rc >= 0 {
            let dir = rc
            rc = make(dir, kind)
            if rc >= 0 { giveToCaller(parent: dir, name: path.name) }
            if rc >= 0 || kind == .spill || !UnionPolicy.isOutOfSpace(-rc) { return rc }
        }
        // The main disk is full: the spill area takes the new name.
        slot.noteRescue()
        let dir = parent(in: .spill)
        if dir < 0 { return dir }
        rc = make(dir, .spill)
        if rc >= 0 { giveToCaller(parent: dir, name: path.name) }
        return rc
    }
}
