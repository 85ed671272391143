#if canImport(Glibc)
import Glibc
#endif
import CSpillway
import CSpillwaySyscalls
import Foundation
import SpillwayCore
import SystemPackage

/// Moves a container's spilled files back from its spill area into its tree (claim 5), one pass
/// at a time, with the crash-safe move protocol (``MoveStep``) and without leaving the two trees
/// whatever the container does to them meanwhile (see ``HeldDirectory``).
///
/// A pass walks the spill area with descriptors, plans the order (``DrainPlan``: directories
/// first) and moves every entry it can: regular files as data (holes kept, copy_file_range),
/// symlinks as symlinks, FIFOs and device nodes recreated with mknodat, never opened. A file a
/// writer holds (the writer mark of spillway_slot.h), a file the preload library is moving
/// (its flock), or a file mapped shared-writable is deferred to a later pass.
///
/// Moves are batched: up to ``Options/batchFiles`` files share each durability barrier (one
/// syncfs of each filesystem and one database transaction per step instead of one per file),
/// which keeps a drain of many small files near the speed of `cp -a`. Each file still goes
/// through every step in order, so the invariant holds per file.
///
/// Batches overlap: while one batch's copies reach the disk, are renamed into place and their
/// sources removed (its *tail*, on a thread of its own), the next batch is opened and copied.
/// Only one tail runs at a time, in batch order; a pass waits for the last one before it ends.
// @unchecked: a pass runs on one thread at a time (DrainService starts one per container); the
// worker threads it starts share only what `concurrently` hands each of them and the journal.
public final class DrainEngine: @unchecked Sendable {
    public struct Options: Sendable {
        /// Files per batch (per durability barrier).
        public var batchFiles = 1024
        /// Bytes of data per batch.
        public var batchBytes: UInt64 = 256 << 20
        /// Threads that copy, rename and remove a batch's files at once: one per core, at least
        /// two (one file's wait for the disk overlaps another's work), at most four.
        public var copyWorkers = Options.defaultWorkers
        public static let defaultWorkers = min(4, max(2, ProcessInfo.processInfo.activeProcessorCount))
        /// Test-only fault injection: die with SIGKILL at this step (``MoveStep/crashEnvironment``).
        public var crashPoint: CrashPoint?
        /// A temporary or intent file of the preload library no process has touched for this long
        /// is a leftover of a mover that died.
        public var staleAfterSeconds: Double = 60

        public init(batchFiles: Int = 1024, batchBytes: UInt64 = 256 << 20, copyWorkers: Int = Options.defaultWorkers, crashPoint: CrashPoint? = nil,
                    staleAfterSeconds: Double = 60) {
            self.batchFiles = max(1, batchFiles)
            self.batchBytes = batchBytes
            self.copyWorkers = max(1, copyWorkers)
            self.crashPoint = crashPoint
            self.staleAfterSeconds = staleAfterSeconds
        }
    }

    /// What a pass reports as it goes.
    public enum Report: Sendable {
        case planned(files: Int, bytes: UInt64)
        case moved(files: Int, bytes: UInt64)
        /// `file` (its path, why, and whether it is refused) was left in the spill area.
        case deferred(DrainHeldFile)
    }

    /// What a pass did.
    public struct PassResult: Sendable {
        public var filesMoved = 0
        public var bytesMoved: UInt64 = 0
        /// Relative path → why it was left for a later pass.
        public var deferred: [String: String] = [:]
        /// Whether the spill area holds nothing at the end (not even a mover's leftovers).
        public var empty = false
    }

    public let container: String
    public let tree: HeldDirectory
    public let spill: HeldDirectory
    let journal: any MoveJournal
    public var options: Options
    static let origin = SPILLWAY_ORIGIN_XATTR
    /// The spill area's regular files with more than one name, found by the last listing.
    var hardLinks = HardLinks()
    private let tempStem = String(UInt64.random(in: 0...UInt64.max), radix: 36)
    private let pid = getpid()
    /// Runs the batches' tails, one at a time.
    private let tails = DispatchQueue(label: "spillway.drain.tail")
    private var tempCounter = 0
    static let writerMark = Int64(SPILLWAY_WRITER_MARK_OFFSET)
    static let writerMarkSpan = Int64(SPILLWAY_WRITER_MARK_SPAN)

    /// - Parameters:
    ///   - tree: the container's root view (its registered root; never an overlay's upper
    ///     directory while it is mounted).
    ///   - spill: its spill area.
    public init(container: String, tree: HeldDirectory, spill: HeldDirectory, journal: any MoveJournal, options: Options = Options()) {
        self.container = container
        self.tree = tree
        self.spill = spill
        self.journal = journal
        self.options = options
    }

    /// The device of the spill area's filesystem as mappings name it (mountinfo's major:minor).
    lazy var spillSuperblock: (major: UInt32, minor: UInt32)? = {
        guard let id = Descriptors.mountID(spill.fd), let entry = try? MountTable.current().entry(mountID: id) else { return nil }
        return (entry.major, entry.minor)
    }()

    // MARK: - Walking

    /// The spill area's entries, read through descriptors (a directory that turns into anything
    /// else while it is read is skipped this pass). Movers' own files are listed too; the plan
    /// leaves them out.
    public func listing() throws -> [SpillEntry] {
        try list(spill, prefix: "", depth: 0)
    }

    /// The entries of `directory`; the subdirectories of the spill area's top are read on
    /// ``Options/copyWorkers`` threads at once (a deeper one on the thread that found it).
    private func list(_ directory: HeldDirectory, prefix: String, depth: Int) throws -> [SpillEntry] {
        guard depth < 4096 else { return [] }
        var entries: [SpillEntry] = []
        var subdirectories: [(index: Int, directory: HeldDirectory)] = []
        for (name, _) in try directory.entries() {
            guard let st = try directory.status(name) else { continue }
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                guard let child = try? directory.directory(name) else { continue }
                subdirectories.append((entries.count, child))
                entries.append(SpillEntry(name: name, kind: .directory, children: []))
            case S_IFREG:
                entries.append(SpillEntry(name: name, kind: .regular, size: UInt64(st.st_size)))
                if st.st_nlink > 1 { hardLinks.found(prefix + name, st) }
            case S_IFLNK:
                entries.append(SpillEntry(name: name, kind: .symlink))
            default:
                entries.append(SpillEntry(name: name, kind: .special))
            }
        }
        if depth > 0 || subdirectories.count < 2 {
            for (index, child) in subdirectories {
                entries[index].children = try list(child, prefix: prefix + entries[index].name + "/", depth: depth + 1)
            }
            return entries
        }
        let names = entries.map(\.name)
        let listed = Self.concurrently(&subdirectories, workers: options.copyWorkers) { subdirectory, _ -> Result<[SpillEntry], any Error>? in
            Result { try self.list(subdirectory.directory, prefix: prefix + names[subdirectory.index] + "/", depth: depth + 1) }
        }
        for (subdirectory, children) in zip(subdirectories, listed) {
            entries[subdirectory.index].children = try children!.get()
        }
        return entries
    }

    // MARK: - A pass

    /// One pass over the spill area: recovery of leftovers, then every entry that can move.
    ///
    /// - Parameters:
    ///   - report: called as the pass plans, moves and defers.
    ///   - shouldStop: asked between files; a pass that stops finishes the batch in flight.
    /// - Throws: ``SystemError`` when the spill area or tree root cannot be read or the journal
    ///   cannot be written; single files that fail are deferred instead.
    public func runPass(report: (Report) -> Void = { _ in }, shouldStop: () -> Bool = { false }) throws -> PassResult {
        _ = try recover()
        hardLinks = HardLinks()
        let plan = DrainPlan(entries: try listing())
        var groups = hardLinks.groups()
        report(.planned(files: plan.filesTotal, bytes: plan.bytesTotal))
        var result = PassResult()
        let mapped = MappedFiles.scan(superblock: spillSuperblock)
        var batch = Batch()
        var tail: Tail?  // the previous batch's second half, still running
        var directories = DirectoryCache(tree: tree, spill: spill)
        var blocked: [String] = []  // directories that could not be entered: skip below them
        var entered: [String: stat] = [:]  // each spill directory as it was before anything left it
        func isBlocked(_ path: String) -> Bool { blocked.contains { path.hasPrefix($0 + "/") } }
        // Nothing of the pass may go on after it returns, also when it throws.
        defer { tail?.done.wait() }

        for step in plan.steps {
            if shouldStop() { break }
            switch step {
            case .enterDirectory(let path):
                if isBlocked(path) { continue }
                do {
                    entered[path] = try enter(path, directories: &directories)
                } catch {
                    blocked.append(path)
                    result.deferred[path] = "\(error)"
                    report(Self.deferral(path, error))
                }
            case .move(let path, _, let size):
                if isBlocked(path) { continue }
                do {
                    let (parent, name) = Self.split(path)
                    let candidate = Candidate(path: path, name: name, pair: try directories.pair(parent), linkGroup: groups.group(of: path))
                    // The names of one inode go in one batch, together, once all are listed.
                    let ready = groups.add(candidate)
                    batch.candidates += ready
                    if !ready.isEmpty, groups.isIdle { batch.leaves += groups.takeHeldLeaves() }
                    batch.bytes &+= ready.isEmpty ? 0 : size
                } catch {
                    result.deferred[path] = "\(error)"
                    report(Self.deferral(path, error))
                }
                if batch.candidates.count >= options.batchFiles || batch.bytes >= options.batchBytes {
                    try flush(&batch, after: &tail, mapped: mapped, result: &result, report: report)
                    directories.clear()
                }
            case .leaveDirectory(let path):
                if isBlocked(path) || blocked.contains(path) { continue }
                // While names of an inode wait for their siblings, the directories they are in
                // are left only after them.
                guard groups.isIdle else {
                    groups.holdLeave((path, entered.removeValue(forKey: path)))
                    continue
                }
                batch.leaves.append((path, entered.removeValue(forKey: path)))
                if batch.candidates.isEmpty { try flush(&batch, after: &tail, mapped: mapped, result: &result, report: report) }
            }
        }
        // Names whose siblings the pass did not list (outside what it could enter, or made
        // meanwhile) still go together.
        batch.candidates += groups.takeIncomplete()
        batch.leaves += groups.takeHeldLeaves()
        try flush(&batch, after: &tail, mapped: mapped, result: &result, report: report)
        try join(&tail, into: &result, report: report)
        result.empty = try spill.entries().isEmpty
        return result
    }

    /// Makes (or finds) the tree's directory for spill directory `path` and gives it the spill
    /// directory's owner, mode and extended attributes (what the container saw through the union).
    private func enter(_ path: String, directories: inout DirectoryCache) throws -> stat {
        let (parent, name) = Self.split(path)
        let pair = try directories.pair(parent)
        let source = try pair.spill.directory(name)
        let st = try source.status()
        _ = try pair.tree.makeDirectory(name, mode: 0o700)
        let made = try pair.tree.directory(name)
        guard Descriptors.isDirectory(try made.status()) else {
            throw SystemError("enter", path: made.display, syscall: "fstat", errno: .notDirectory)
        }
        try Self.applyOwnerAndMode(st, to: made.fd, display: made.display)
        if spillway_copy_xattrs(source.fd.rawValue, made.fd.rawValue, Self.origin) != 0 {
            throw SystemError("copy the extended attributes of \(source.display) to", path: made.display, syscall: "fsetxattr", errno: Errno(rawValue: errno))
        }
        directories.add(path, DirectoryPair(tree: made, spill: source))
        return st
    }

    /// Why a file is left for a later pass.
    struct Deferral: Error, CustomStringConvertible {
        let reason: String
        /// Refused for safety rather than waiting: see ``DrainHeldFile/refused``.
        var refused = false
        /// Who holds it open, when a writer is why it waits.
        var holders: [DrainHolder] = []
        /// The inode a writer holds (its holders are looked up once per batch).
        var held: stat?
        var description: String { reason }

        init(reason: String, refused: Bool = false, held: stat? = nil) {
            self.reason = reason
            self.refused = refused
            self.held = held
        }

        /// Why `error` leaves a file: a symbolic link or another mount on the way (openat2's
        /// RESOLVE_NO_SYMLINKS / RESOLVE_NO_XDEV answers) is a refusal, anything else a wait.
        init(_ error: any Error) {
            if let deferral = error as? Deferral {
                self = deferral
            } else if let system = error as? SystemError {
                self.init(reason: "\(system)", refused: system.syscall == "openat2"
                    && (system.errno == .tooManySymbolicLinkLevels || system.errno == .improperLink))
            } else {
                self.init(reason: "\(error)")
            }
        }
    }

    /// The report of `path` left for `error`.
    static func deferral(_ path: String, _ error: any Error) -> Report {
        let deferral = Deferral(error)
        return .deferred(DrainHeldFile(path: path, reason: deferral.reason, refused: deferral.refused, holders: deferral.holders))
    }

    /// The indices of `items` that share an inode (a hard-link group) with one at `failed`:
    /// the names of an inode move together or not at all.
    static func groupMates(of failed: [Int], in items: [PendingMove]) -> [Int] {
        let groups = Set(failed.map { items[$0].linkOf ?? items[$0].path })
        let failedSet = Set(failed)
        return items.indices.filter { !failedSet.contains($0) && groups.contains(items[$0].linkOf ?? items[$0].path) }
    }

    /// Opens, locks and checks the batch's entries, several at once; those that are gone are
    /// dropped, those that must wait are reported.
    private func prepareAll(_ candidates: [Candidate], mapped: MappedFiles, result: inout PassResult,
                            report: (Report) -> Void) -> [PendingMove] {
        // The first name of each hard-link group is opened, locked and checked like any file; the
        // others after it, as links to its copy.
        var firstOfGroup: [Int: String] = [:]
        var followers: [Candidate] = []
        var leading: [Candidate] = []
        for candidate in candidates {
            if let group = candidate.linkGroup, firstOfGroup[group] != nil {
                followers.append(candidate)
            } else {
                if let group = candidate.linkGroup { firstOfGroup[group] = candidate.path }
                leading.append(candidate)
            }
        }
        var slots = leading.map { Prepared(candidate: $0) }
        _ = Self.concurrently(&slots, workers: options.copyWorkers) { slot, _ -> Void? in
            do {
                slot.item = try self.prepare(slot.candidate, mapped: mapped)
            } catch {
                slot.problem = Deferral(error)
            }
            return nil
        }
        // Who holds the files writers keep: one look at every process for the batch.
        let held = slots.compactMap { $0.problem?.held }
        if !held.isEmpty {
            let holders = FileHolders.scan(held)
            for index in slots.indices {
                if let st = slots[index].problem?.held { slots[index].problem?.holders = holders[FileHolders.key(st)] ?? [] }
            }
        }
        let leaders = Dictionary(slots.map { ($0.candidate.path, $0) }) { first, _ in first }
        for candidate in followers {
            var slot = Prepared(candidate: candidate)
            do {
                slot.item = try prepareLink(candidate, of: leaders[firstOfGroup[candidate.linkGroup!]!]!)
            } catch {
                slot.problem = Deferral(error)
            }
            slots.append(slot)
        }
        var items: [PendingMove] = []
        items.reserveCapacity(slots.count)
        for slot in slots {
            if let problem = slot.problem {
                result.deferred[slot.candidate.path] = problem.reason
                report(.deferred(DrainHeldFile(path: slot.candidate.path, reason: problem.reason, refused: problem.refused,
                                               holders: problem.holders)))
            } else if let item = slot.item {
                items.append(item)
            }
        }
        return items
    }

    /// Opens, locks and checks one entry; `nil` when it is gone.
    private func prepare(_ candidate: Candidate, mapped: MappedFiles) throws -> PendingMove? {
        let (path, name, pair) = (candidate.path, candidate.name, candidate.pair)
        // No separate look at the tree for a file of the same name: the rename into place never
        // replaces one (RENAME_NOREPLACE) and defers the file then.
        let opened = Result { () throws(SystemError) in try pair.spill.pathDescriptor(name) }
        if case .failure(let error) = opened, error.errno == .noSuchFileOrDirectory { return nil }  // gone since the listing
        let handle = try opened.get()
        var item = PendingMove(path: path, name: name, pair: pair, handle: handle)
        let st = try Descriptors.status(handle, path: pair.spill.path(name))
        item.status = st
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            item.kind = .regular
            // A descriptor for reading, of exactly this inode (no second lookup of the name).
            // O_NOATIME: the drain leaves the source's access time as it was (root may).
            var data = open("/proc/self/fd/\(handle.rawValue)", O_RDONLY | O_NONBLOCK | O_CLOEXEC | SPILLWAY_O_NOATIME)
            if data < 0 && errno == EPERM { data = open("/proc/self/fd/\(handle.rawValue)", O_RDONLY | O_NONBLOCK | O_CLOEXEC) }
            guard data >= 0 else {
                throw SystemError("open", path: pair.spill.path(name), syscall: "open(/proc/self/fd)", errno: Errno(rawValue: errno))
            }
            item.data = FileDescriptor(rawValue: data)
            item.hold(item.data!)
            if flock(data, LOCK_EX | LOCK_NB) != 0 {
                throw Deferral(reason: "the preload library is moving it")
            }
            switch spillway_ofd_lock_present(data, Self.writerMark, Self.writerMarkSpan) {
            case 0: break
            case 1: throw Deferral(reason: "a process holds it open for writing", held: st)
            default:
                throw SystemError("check the writers of", path: pair.spill.path(name), syscall: "fcntl(F_OFD_GETLK)", errno: Errno(rawValue: errno))
            }
            if mapped.contains(st) { throw Deferral(reason: "a process maps it shared and writable") }
            // Re-read after the lock: a writer may have finished just before.
            item.status = try Descriptors.status(FileDescriptor(rawValue: data), path: pair.spill.path(name))
            item.bytes = UInt64(item.status.st_size)
            // Start reading it now: by the time the batch copies it, its data is on its way
            // (the copies would otherwise wait for the disk one file at a time).
            _ = posix_fadvise(data, 0, 0, POSIX_FADV_WILLNEED)
        case S_IFLNK:
            item.kind = .symlink
        case S_IFDIR:
            return nil  // became a directory: the next pass sees it as one
        default:
            item.kind = .special
        }
        crash(.locked, path)
        return item
    }

    /// Opens and checks a second name of the inode `leader` moves: it will be a hard link to the
    /// leader's copy. It waits when the leader waits or when the name is no longer that inode.
    private func prepareLink(_ candidate: Candidate, of leader: Prepared) throws -> PendingMove? {
        let (path, name, pair) = (candidate.path, candidate.name, candidate.pair)
        if let problem = leader.problem { throw Deferral(reason: "another name of it, \(leader.candidate.path), waits: \(problem)") }
        guard let first = leader.item else { throw Deferral(reason: "another name of it, \(leader.candidate.path), changed") }
        let opened = Result { () throws(SystemError) in try pair.spill.pathDescriptor(name) }
        if case .failure(let error) = opened, error.errno == .noSuchFileOrDirectory { return nil }
        let handle = try opened.get()
        var item = PendingMove(path: path, name: name, pair: pair, handle: handle)
        let st = try Descriptors.status(handle, path: pair.spill.path(name))
        guard st.st_mode & S_IFMT == S_IFREG, st.st_ino == first.status.st_ino, st.st_dev == first.status.st_dev else {
            throw Deferral(reason: "it is no longer another name of \(leader.candidate.path)")
        }
        item.status = first.status
        item.kind = .regular
        item.linkOf = first.path
        crash(.locked, path)
        return item
    }

    // MARK: - The protocol, for one batch

    /// Opens and copies `batch` (steps 1 and 2) while `previous` — the last batch's tail —
    /// runs, then waits for that tail and starts this batch's own (steps 3 to 6 and the
    /// directories the batch completes) in the background.
    private func flush(_ batch: inout Batch, after previous: inout Tail?, mapped: MappedFiles, result: inout PassResult,
                       report: (Report) -> Void) throws {
        defer { batch = Batch() }
        var items = prepareAll(batch.candidates, mapped: mapped, result: &result, report: report)
        if !items.isEmpty {
            try startMoves(&items, result: &result, report: report)
        }
        try join(&previous, into: &result, report: report)
        guard !items.isEmpty || !batch.leaves.isEmpty else { return }
        let tail = Tail(items: items, leaves: batch.leaves)
        previous = tail
        tails.async {
            do {
                try self.finishMoves(&tail.items, result: &tail.result, report: { tail.reports.append($0) })
                for (path, original) in tail.leaves { self.leave(path, original: original) }
            } catch {
                tail.error = error
            }
            tail.items.removeAll()  // closes the sources: the flocks go
            tail.done.signal()
        }
    }

    /// Waits for `tail`, hands on what it did and rethrows what stopped it.
    private func join(_ tail: inout Tail?, into result: inout PassResult, report: (Report) -> Void) throws {
        guard let finished = tail else { return }
        tail = nil
        finished.done.wait()
        finished.reports.forEach(report)
        result.filesMoved += finished.result.filesMoved
        result.bytesMoved &+= finished.result.bytesMoved
        result.deferred.merge(finished.result.deferred) { _, new in new }
        if let error = finished.error { throw error }
    }

    /// Steps 1 and 2 of the protocol for a batch: intent records, then the temporary copies.
    private func startMoves(_ items: inout [PendingMove], result: inout PassResult, report: (Report) -> Void) throws {
        // 1. Intent records naming the temporary files, before they exist.
        for index in items.indices {
            items[index].tempName = ShimMoveIntent.tempPrefix + "drain." + uniqueSuffix()
        }
        let ids = try journal.begin(items.map { $0.intent(container: container) })
        for index in items.indices {
            items[index].journalID = ids[index]
            crash(.intentBegun, items[index].path)
        }
        // 2. Temporary files: created, filled, given their metadata; several at once, so that
        //    one file's wait for the disk overlaps another's work.
        var failed: [Int] = []
        for (index, error) in makeCopies(&items) {
            failed.append(index)
            result.deferred[items[index].path] = "\(error)"
            report(Self.deferral(items[index].path, error))
        }
        for index in Self.groupMates(of: failed, in: items) {
            failed.append(index)
            result.deferred[items[index].path] = "another name of it could not be copied"
            report(.deferred(DrainHeldFile(path: items[index].path, reason: "another name of it could not be copied")))
        }
        try abandon(&items, failed.sorted())
    }

    /// Steps 3 to 6 for a batch whose copies are made: barrier, rename, barrier, re-check,
    /// source removal, barrier, end of the intents.
    private func finishMoves(_ items: inout [PendingMove], result: inout PassResult, report: (Report) -> Void) throws {
        guard !items.isEmpty else { return }
        // 3. On disk before anything names them.
        try tree.syncFilesystem()
        for item in items { crash(.tempSynced, item.path) }
        try journal.markReady(items.map { ($0.journalID, $0.tempInode) })
        for item in items { crash(.intentRecorded, item.path) }
        // 4. Into place, never over anything.
        var failed: [Int] = []
        let renameErrors = Self.concurrently(&items, workers: options.copyWorkers) { item, _ -> SystemError? in
            do throws(SystemError) {
                try item.pair.tree.renameNoReplace(item.tempName, to: item.pair.tree, item.name)
                item.renamed = true
                self.crash(.renamed, item.path)
                return nil
            } catch {
                return error
            }
        }
        for (index, error) in renameErrors.enumerated() {
            guard let error else { continue }
            failed.append(index)
            let reason = error.errno == .fileExists
                ? "\(items[index].pair.tree.path(items[index].name)) exists on the main disk too; remove one of the two copies" : "\(error)"
            result.deferred[items[index].path] = reason
            // A different file under its name on the main disk: never merged by guessing, so retrying
            // alone never moves it.
            report(.deferred(DrainHeldFile(path: items[index].path, reason: reason, refused: error.errno == .fileExists || Deferral(error).refused)))
        }
        // A hard link that could not go into place keeps its other names where they were too.
        for index in Self.groupMates(of: failed, in: items) {
            if items[index].renamed { _ = try? items[index].pair.tree.remove(items[index].name, ifInode: items[index].tempInode) }
            items[index].renamed = false
            failed.append(index)
            result.deferred[items[index].path] = "another name of it could not be moved back"
            report(.deferred(DrainHeldFile(path: items[index].path, reason: "another name of it could not be moved back")))
        }
        try tree.syncFilesystem()
        for item in items where item.renamed { crash(.destinationSynced, item.path) }
        // 5. The source must be the version copied; else the copy goes and the file waits.
        for index in items.indices where items[index].renamed {
            let now = (try? Descriptors.status(items[index].data ?? items[index].handle, path: items[index].path)) ?? stat()
            if Self.identity(now) == items[index].source || (items[index].kind != .regular && Self.sameVersion(now, items[index].status)) {
                crash(.sourceRechecked, items[index].path)
                continue
            }
            _ = try? items[index].pair.tree.remove(items[index].name, ifInode: items[index].tempInode)
            items[index].renamed = false
            failed.append(index)
            result.deferred[items[index].path] = "it changed while it was copied; it is copied again later"
            report(.deferred(DrainHeldFile(path: items[index].path, reason: "it changed while it was copied")))
        }
        try abandon(&items, Array(Set(failed)).sorted())
        guard !items.isEmpty else { return }
        // 6. The source goes, if its name still names it.
        _ = Self.concurrently(&items, workers: options.copyWorkers) { item, _ -> Void? in
            _ = try? item.pair.spill.remove(item.name, ifInode: item.source.inode)
            self.crash(.sourceRemoved, item.path)
            return nil
        }
        try spill.syncFilesystem()
        for item in items { crash(.sourceSynced, item.path) }
        try journal.finish(items.map(\.journalID))
        var bytes: UInt64 = 0
        for item in items {
            crash(.intentCleared, item.path)
            bytes &+= item.bytes
        }
        result.filesMoved += items.count
        result.bytesMoved &+= bytes
        report(.moved(files: items.count, bytes: bytes))
    }

    /// Undoes the items at `indices` (their temporary files and intents) and drops them.
    private func abandon(_ items: inout [PendingMove], _ indices: [Int]) throws {
        guard !indices.isEmpty else { return }
        for index in indices {
            let item = items[index]
            if item.tempInode != 0 {
                _ = try? item.pair.tree.remove(item.tempName, ifInode: item.tempInode)
            } else {
                _ = try? item.pair.tree.remove(item.tempName)
            }
        }
        try journal.finish(indices.map { items[$0].journalID })
        for index in indices.sorted(by: >) { items.remove(at: index) }
    }

    /// Makes the temporary copies of `items` on ``Options/copyWorkers`` threads (each item is
    /// independent: its own descriptors and temporary name).
    ///
    /// - Returns: the index and error of every item that could not be copied, in order.
    private func makeCopies(_ items: inout [PendingMove]) -> [(Int, any Error)] {
        // Which copy call works between the two filesystems, remembered per worker.
        nonisolated(unsafe) let methods = UnsafeMutablePointer<Int32>.allocate(capacity: options.copyWorkers)
        methods.initialize(repeating: 0, count: options.copyWorkers)
        defer { methods.deallocate() }
        let errors = Self.concurrently(&items, workers: options.copyWorkers) { item, worker -> (any Error)? in
            guard item.linkOf == nil else { return nil }  // linked below, once its copy is made
            do {
                try self.makeCopy(&item, method: &methods[worker])
                return nil
            } catch {
                return error
            }
        }
        var failed = errors.enumerated().compactMap { index, error in error.map { (index, $0) } }
        // The other names of a copied inode: hard links to its temporary file, under temporary
        // names of their own in their own directories.
        let copies = Dictionary(items.enumerated().filter { $0.element.linkOf == nil }.map { ($0.element.path, $0.offset) }) { first, _ in first }
        let failedIndices = Set(failed.map(\.0))
        for index in items.indices {
            guard let of = items[index].linkOf else { continue }
            guard let leader = copies[of], !failedIndices.contains(leader), items[leader].tempInode != 0 else {
                failed.append((index, Deferral(reason: "another name of it, \(of), could not be copied")))
                continue
            }
            do {
                try items[leader].pair.tree.link(items[leader].tempName, to: items[index].pair.tree, items[index].tempName)
                items[index].tempInode = items[leader].tempInode
                crash(.tempCreated, items[index].path)
                crash(.dataCopied, items[index].path)
                crash(.metadataSet, items[index].path)
            } catch {
                failed.append((index, error))
            }
        }
        return failed.sorted { $0.0 < $1.0 }
    }

    /// Runs `body` on every element of `items` on up to `workers` threads and returns its
    /// results in order. The threads take runs of ``chunk`` neighbouring elements in turn: each
    /// element belongs to exactly one thread, which alone may change it, and neighbours (files of
    /// one directory) mostly go to the same thread, so two threads seldom wait for one
    /// directory's lock. `body` is also told its worker number.
    static func concurrently<Element, Result>(_ items: inout [Element], workers: Int,
                                              _ body: @Sendable (inout Element, Int) -> Result?) -> [Result?] {
        let count = items.count
        let workers = max(1, min(workers, count))
        var results = [Result?](repeating: nil, count: count)
        items.withUnsafeMutableBufferPointer { itemBuffer in
            results.withUnsafeMutableBufferPointer { resultBuffer in
                nonisolated(unsafe) let itemBuffer = itemBuffer
                nonisolated(unsafe) let resultBuffer = resultBuffer
                if workers == 1 {
                    for index in 0..<count { resultBuffer[index] = body(&itemBuffer[index], 0) }
                    return
                }
                // A short list (the few large files of a batch) is still shared out evenly.
                let run = max(1, min(chunk, count / (workers * 2)))
                let next = ChunkCounter()
                DispatchQueue.concurrentPerform(iterations: workers) { worker in
                    while let range = next.take(run, of: count) {
                        for index in range { resultBuffer[index] = body(&itemBuffer[index], worker) }
                    }
                }
            }
        }
        return results
    }

    /// Elements a thread of ``concurrently(_:workers:_:)`` takes at once (fewer when there are
    /// not twice that many per thread).
    static let chunk = 16

    /// Creates the temporary file of `item` and fills it: data, owner, mode, xattrs, times.
    private func makeCopy(_ item: inout PendingMove, method: inout Int32) throws {
        let directory = item.pair.tree
        let st = item.status
        switch item.kind {
        case .regular:
            let temp = try directory.createExclusive(item.tempName)
            defer { try? temp.close() }
            item.tempInode = UInt64(try Descriptors.status(temp, path: directory.path(item.tempName)).st_ino)
            crash(.tempCreated, item.path)
            guard spillway_copy_data(item.data!.rawValue, temp.rawValue, UInt64(st.st_size), UInt64(max(0, st.st_blocks)) * 512, &method) == 0 else {
                throw SystemError("copy \(item.pair.spill.path(item.name)) to", path: directory.path(item.tempName), syscall: "copy_file_range", errno: Errno(rawValue: errno))
            }
            crash(.dataCopied, item.path)
            try Self.applyOwnerAndMode(st, to: temp, display: directory.path(item.tempName))
            if spillway_copy_xattrs(item.data!.rawValue, temp.rawValue, Self.origin) != 0 {
                throw SystemError("copy the extended attributes to", path: directory.path(item.tempName), syscall: "fsetxattr", errno: Errno(rawValue: errno))
            }
            var times = [st.st_atim, st.st_mtim]
            guard futimens(temp.rawValue, &times) == 0 else {
                throw SystemError("set the times of", path: directory.path(item.tempName), syscall: "futimens", errno: Errno(rawValue: errno))
            }
            crash(.metadataSet, item.path)
        case .symlink:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let length = spillway_readlink_opath(item.handle.rawValue, &buffer, UInt(buffer.count))
            guard length >= 0, length < buffer.count else {
                throw SystemError("read the symbolic link", path: item.pair.spill.path(item.name), syscall: "readlinkat", errno: Errno(rawValue: errno))
            }
            buffer[length] = 0
            guard symlinkat(buffer, directory.fd.rawValue, item.tempName) == 0 else {
                throw SystemError("create the symbolic link", path: directory.path(item.tempName), syscall: "symlinkat", errno: Errno(rawValue: errno))
            }
            try finishNode(&item, expecting: S_IFLNK)
        case .special:
            guard mknodat(directory.fd.rawValue, item.tempName, (st.st_mode & S_IFMT) | 0o600, st.st_rdev) == 0 else {
                throw SystemError("create the node", path: directory.path(item.tempName), syscall: "mknodat", errno: Errno(rawValue: errno))
            }
            try finishNode(&item, expecting: st.st_mode & S_IFMT)
        case .directory:
            break
        }
    }

    /// Owner, mode and times of a new symlink or node, through an O_PATH descriptor of it.
    private func finishNode(_ item: inout PendingMove, expecting type: mode_t) throws {
        let directory = item.pair.tree
        let display = directory.path(item.tempName)
        let node = try directory.pathDescriptor(item.tempName)
        defer { try? node.close() }
        let made = try Descriptors.status(node, path: display)
        guard made.st_mode & S_IFMT == type else {
            throw SystemError("set up", path: display, syscall: "fstat", errno: .fileExists, hint: "it was replaced while it was made")
        }
        item.tempInode = UInt64(made.st_ino)
        crash(.tempCreated, item.path)
        crash(.dataCopied, item.path)
        let st = item.status
        guard spillway_fchown_opath(node.rawValue, st.st_uid, st.st_gid) == 0 else {
            throw SystemError("set the owner of", path: display, syscall: "fchownat", errno: Errno(rawValue: errno))
        }
        if type != S_IFLNK, spillway_fchmod_opath(node.rawValue, UInt32(st.st_mode & 0o7777)) != 0 {
            throw SystemError("set the mode of", path: display, syscall: "fchmodat2", errno: Errno(rawValue: errno))
        }
        guard spillway_futimens_opath(node.rawValue, Int64(st.st_atim.tv_sec), Int64(st.st_atim.tv_nsec),
                                      Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec)) == 0 else {
            throw SystemError("set the times of", path: display, syscall: "utimensat", errno: Errno(rawValue: errno))
        }
        crash(.metadataSet, item.path)
    }

    /// Removes spill directory `path` if it is empty, and gives the tree's directory the times the
    /// spill directory had when the pass entered it (`original`).
    private func leave(_ path: String, original: stat?) {
        let (parent, name) = Self.split(path)
        guard let spillParent = try? spill.directory(parent), let source = try? spillParent.directory(name),
              let st = try? source.status(), let made = try? tree.directory(path) else { return }
        let timesFrom = original ?? st
        var times = [timesFrom.st_atim, timesFrom.st_mtim]
        _ = futimens(made.fd.rawValue, &times)
        if (try? source.entries().isEmpty) == true {
            _ = try? spillParent.remove(name, ifInode: UInt64(st.st_ino), directory: true)
        }
    }

    // MARK: - Helpers

    static func applyOwnerAndMode(_ st: stat, to fd: FileDescriptor, display: String) throws {
        guard fchown(fd.rawValue, st.st_uid, st.st_gid) == 0 else {
            throw SystemError("set the owner of", path: display, syscall: "fchown", errno: Errno(rawValue: errno))
        }
        guard fchmod(fd.rawValue, st.st_mode & 0o7777) == 0 else {
            throw SystemError("set the mode of", path: display, syscall: "fchmod", errno: Errno(rawValue: errno))
        }
    }

    static func identity(_ st: stat) -> FileIdentity {
        FileIdentity(inode: UInt64(st.st_ino), size: UInt64(max(0, st.st_size)),
                     mtimeNanoseconds: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                     ctimeNanoseconds: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
    }

    static func sameVersion(_ a: stat, _ b: stat) -> Bool {
        identity(a) == identity(b)
    }

    /// "dir/sub", "name" from "dir/sub/name"; "" for the top.
    static func split(_ path: String) -> (String, String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        return (String(path[..<slash]), String(path[path.index(after: slash)...]))
    }

    /// `<pid>.<random stem of this engine>.<counter>`: unique without a random draw per file.
    func uniqueSuffix() -> String {
        tempCounter += 1
        return "\(pid).\(tempStem).\(tempCounter)"
    }

    /// Test-only fault injection: SIGKILL at `step` of the move of `path`.
    func crash(_ step: MoveStep, _ path: String) {
        guard let point = options.crashPoint, point.matches(step, relativePath: path) else { return }
        kill(getpid(), SIGKILL)
        while true { pause() }
    }
}

/// A directory of the spill area and the same directory in the tree.
final class DirectoryPair: Sendable {
    let tree: HeldDirectory
    let spill: HeldDirectory
    init(tree: HeldDirectory, spill: HeldDirectory) {
        self.tree = tree
        self.spill = spill
    }
}

/// Directory pairs opened during a batch, by relative path.
struct DirectoryCache {
    let tree: HeldDirectory
    let spill: HeldDirectory
    private var pairs: [String: DirectoryPair] = [:]

    init(tree: HeldDirectory, spill: HeldDirectory) {
        self.tree = tree
        self.spill = spill
    }

    /// The pair for `path`, opened beneath the two roots if not held yet.
    mutating func pair(_ path: String) throws -> DirectoryPair {
        if let held = pairs[path] { return held }
        let pair = path.isEmpty ? DirectoryPair(tree: tree, spill: spill)
            : DirectoryPair(tree: try tree.directory(path), spill: try spill.directory(path))
        pairs[path] = pair
        return pair
    }

    mutating func add(_ path: String, _ pair: DirectoryPair) { pairs[path] = pair }

    /// Drops every held pair (the batch's items keep what they still need).
    mutating func clear() { pairs.removeAll(keepingCapacity: true) }
}

/// One entry on its way back.
struct PendingMove {
    let path: String
    let name: String
    let pair: DirectoryPair
    /// O_PATH descriptor of the source.
    let handle: FileDescriptor
    var kind: SpillEntry.Kind = .regular
    var status = stat()
    /// For a regular file: open for reading, flock(LOCK_EX) held.
    var data: FileDescriptor?
    var bytes: UInt64 = 0
    var tempName = ""
    var tempInode: UInt64 = 0
    var journalID: Int64 = 0
    var renamed = false
    /// For a second name of an inode: the path of the item that copies it; this one is linked to
    /// that copy.
    var linkOf: String?
    private let closer: Closer

    init(path: String, name: String, pair: DirectoryPair, handle: FileDescriptor) {
        self.path = path
        self.name = name
        self.pair = pair
        self.handle = handle
        self.closer = Closer()
        closer.fds.append(handle)
    }

    var source: FileIdentity { DrainEngine.identity(status) }

    func intent(container: String) -> MoveIntent {
        MoveIntent(container: container, relativePath: path, tempName: tempName, phase: tempInode == 0 ? .copying : .ready,
                   source: source, tempInode: tempInode == 0 ? nil : tempInode)
    }

    /// Closes the descriptors when the last copy of the item goes.
    // @unchecked: descriptors are appended by the item's one owner before it is shared; closed
    // once, in deinit.
    final class Closer: @unchecked Sendable {
        var fds: [FileDescriptor] = []
        deinit { fds.forEach { try? $0.close() } }
    }
}

extension PendingMove {
    /// Keeps `fd` open as long as the item lives.
    mutating func hold(_ fd: FileDescriptor) { closer.fds.append(fd) }
}

/// An entry of the plan on its way into a batch: where it is, not yet opened.
struct Candidate {
    let path: String
    let name: String
    let pair: DirectoryPair
    /// Its hard-link group (``LinkGroups``): another name of the same inode is in the batch.
    var linkGroup: Int?
}

/// A candidate after ``DrainEngine/prepare(_:mapped:)``: ready to move, gone, or waiting.
struct Prepared {
    let candidate: Candidate
    var item: PendingMove?
    var problem: DrainEngine.Deferral?
}

/// Hands out runs of indices to threads, in order.
// @unchecked: `next` is read and written only under `lock`.
final class ChunkCounter: @unchecked Sendable {
    private var next = 0
    private let lock = NSLock()

    /// The next `size` indices below `count`; `nil` when all are taken.
    func take(_ size: Int, of count: Int) -> Range<Int>? {
        lock.withLock {
            guard next < count else { return nil }
            defer { next = min(count, next + size) }
            return next..<min(count, next + size)
        }
    }
}

/// The second half of a batch, on its way in the background: what it moves, what it reports,
/// and whether it is over.
// @unchecked: the tail's thread writes `items`, `result`, `reports` and `error`, then signals
// `done`; the pass reads them only after waiting on `done`.
final class Tail: @unchecked Sendable {
    var items: [PendingMove]
    let leaves: [(String, stat?)]
    var result = DrainEngine.PassResult()
    var reports: [DrainEngine.Report] = []
    var error: (any Error)?
    let done = DispatchSemaphore(value: 0)

    init(items: [PendingMove], leaves: [(String, stat?)]) {
        self.items = items
        self.leaves = leaves
    }
}

/// The entries and directory completions waiting for one durability barrier.
struct Batch {
    var candidates: [Candidate] = []
    var leaves: [(String, stat?)] = []
    /// Bytes of the candidates, as the plan listed them.
    var bytes: UInt64 = 0
}
