#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import Foundation
import SpillwayCore
import SystemPackage

extension DrainEngine {
    /// What recovery did.
    public struct RecoveryReport: Sendable, Equatable {
        /// Moves of the supervisor finished or rolled back.
        public var supervisorMoves = 0
        /// Moves of the preload library finished or rolled back.
        public var libraryMoves = 0
        /// Moves of the library left alone because a mover still holds the source.
        public var libraryMovesLive = 0
        /// Leftover temporary and intent files removed.
        public var leftoversRemoved = 0
        /// Relative path and outcome of each move recovered, for logs.
        public var outcomes: [String] = []
    }

    /// Finishes or rolls back every move cut short: the supervisor's (from its journal) and the
    /// preload library's (from its intent files in the spill area), and removes the movers'
    /// leftover temporary files. Safe to run at any time: moves still under way (their source
    /// locked) are left alone.
    ///
    /// - Throws: ``SystemError`` when the roots cannot be read or the journal written.
    @discardableResult
    public func recover() throws -> RecoveryReport {
        var report = RecoveryReport()
        let pending = try journal.pending(container: container)
        // The names of one inode moved together (their temporary files are one inode) end together.
        var byTemp: [UInt64: [MoveIntent]] = [:]
        for (_, intent) in pending where intent.phase == .ready {
            if let inode = intent.tempInode { byTemp[inode, default: []].append(intent) }
        }
        var linked: Set<UInt64> = []
        for (id, intent) in pending {
            let outcome: String
            if let inode = intent.tempInode, intent.phase == .ready, let group = byTemp[inode], group.count > 1 {
                if linked.insert(inode).inserted {
                    outcome = recoverLinkedMoves(group)
                } else {
                    outcome = "ended with its other names"
                }
            } else {
                outcome = recoverSupervisorMove(intent)
            }
            try journal.finish([id])
            report.supervisorMoves += 1
            report.outcomes.append("\(intent.relativePath): \(outcome)")
        }
        try recoverLibraryMoves(in: spill, prefix: "", report: &report, depth: 0)
        if report.supervisorMoves + report.libraryMoves + report.leftoversRemoved > 0 {
            try? tree.syncFilesystem()
            try? spill.syncFilesystem()
        }
        return report
    }

    /// One of the supervisor's own moves (tree ← spill area).
    func recoverSupervisorMove(_ intent: MoveIntent) -> String {
        let (parent, name) = Self.split(intent.relativePath)
        guard ShimMoveIntent.isSafeRelativePath(intent.relativePath), ShimMoveIntent.isProtocolName(intent.tempName),
              !intent.tempName.contains("/") else { return "ignored (a record that names no plain path)" }
        let treeDirectory = try? tree.directory(parent)
        let spillDirectory = try? spill.directory(parent)
        guard intent.phase == .ready, let tempInode = intent.tempInode else {
            // Nothing was renamed yet: the temporary file (if made) goes.
            if let treeDirectory, let st = try? treeDirectory.status(intent.tempName), st.st_mode & S_IFMT != S_IFDIR {
                _ = try? treeDirectory.remove(intent.tempName)
            }
            return MoveRecovery.Outcome.rolledBack.rawValue
        }
        let expected = FileIdentity(inode: tempInode, size: intent.source.size, mtimeNanoseconds: intent.source.mtimeNanoseconds)
        let destination = Self.found(treeDirectory, name, expected: expected)
        let source = Self.found(spillDirectory, name, expected: intent.source)
        let tempPresent = (try? treeDirectory?.status(intent.tempName)).flatMap { $0 }.map { UInt64($0.st_ino) == tempInode } ?? false
        let decision = MoveRecovery.decide(destination: destination, source: source, tempPresent: tempPresent)
        for step in decision.steps {
            switch step {
            case .removeTemp: _ = try? treeDirectory?.remove(intent.tempName, ifInode: tempInode)
            case .removeDestination: _ = try? treeDirectory?.remove(name, ifInode: tempInode)
            case .removeSource: _ = try? spillDirectory?.remove(name, ifInode: intent.source.inode)
            case .forgetIntent: break
            }
        }
        return decision.outcome.rawValue
    }

    /// The supervisor's moves of the names of one inode (hard links), cut short: their temporary
    /// files are one inode in the tree, their sources one inode in the spill area. They end
    /// together, as ``MoveRecovery/decideLinked(_:)`` decides.
    func recoverLinkedMoves(_ group: [MoveIntent]) -> String {
        struct Name {
            let intent: MoveIntent
            let tempInode: UInt64
            let name: String
            let tree: HeldDirectory?
            let spill: HeldDirectory?
            var state: MoveRecovery.LinkedName
        }
        var names: [Name] = []
        for intent in group {
            let (parent, name) = Self.split(intent.relativePath)
            guard ShimMoveIntent.isSafeRelativePath(intent.relativePath), ShimMoveIntent.isProtocolName(intent.tempName),
                  !intent.tempName.contains("/"), let tempInode = intent.tempInode else { continue }
            let tree = try? tree.directory(parent)
            let spill = try? spill.directory(parent)
            let placed = (try? tree?.status(name)).flatMap { $0 }.map { UInt64($0.st_ino) == tempInode } ?? false
            let tempPresent = (try? tree?.status(intent.tempName)).flatMap { $0 }.map { UInt64($0.st_ino) == tempInode } ?? false
            var expected = intent.source
            expected.ctimeNanoseconds = 0
            names.append(Name(intent: intent, tempInode: tempInode, name: name, tree: tree, spill: spill,
                              state: MoveRecovery.LinkedName(placed: placed, tempPresent: tempPresent,
                                                             source: Self.found(spill, name, expected: expected))))
        }
        if MoveRecovery.decideLinked(names.map(\.state)) == .finished {
            for index in names.indices where !names[index].state.placed {
                guard let tree = names[index].tree else { continue }
                names[index].state.placed = (try? tree.renameNoReplace(names[index].intent.tempName, to: tree, names[index].name)) != nil
            }
            // Every name in place and on disk before any source goes; a name that could not go
            // into place (the container made one meanwhile) rolls the group back below.
            if names.allSatisfy(\.state.placed) {
                try? tree.syncFilesystem()
                for name in names { _ = try? name.spill?.remove(name.name, ifInode: name.intent.source.inode) }
                return "\(MoveRecovery.Outcome.finished.rawValue) with \(names.count) names"
            }
        }
        for name in names {
            _ = try? name.tree?.remove(name.intent.tempName, ifInode: name.tempInode)
            if MoveRecovery.rollBackRemovesDestination(name.state) { _ = try? name.tree?.remove(name.name, ifInode: name.tempInode) }
        }
        return "\(MoveRecovery.Outcome.rolledBack.rawValue) with \(names.count) names"
    }

    /// What is at `name` in `directory`, against the version `expected` (ctime compared only when
    /// the record has one).
    static func found(_ directory: HeldDirectory?, _ name: String, expected: FileIdentity) -> MoveRecovery.Found {
        guard let directory else { return .absent }
        guard let st = try? directory.status(name) else { return .absent }
        guard UInt64(st.st_ino) == expected.inode, st.st_mode & S_IFMT != S_IFDIR else { return .other }
        var now = identity(st)
        if expected.ctimeNanoseconds == 0 { now.ctimeNanoseconds = 0 }
        return .ours(changed: !expected.isUnchanged(now), mtimeNanoseconds: now.mtimeNanoseconds)
    }

    /// The preload library's moves (tree → spill area) found in `directory` and below.
    private func recoverLibraryMoves(in directory: HeldDirectory, prefix: String, report: inout RecoveryReport, depth: Int) throws {
        guard depth < 4096 else { return }
        let entries = try directory.entries()
        let names = Set(entries.map(\.name))
        var handledTemps: Set<String> = []
        for (name, _) in entries where name.hasPrefix(ShimMoveIntent.intentPrefix) {
            let suffix = String(name.dropFirst(ShimMoveIntent.intentPrefix.count))
            let temp = ShimMoveIntent.tempPrefix + suffix
            handledTemps.insert(temp)
            switch recoverLibraryMove(intentName: name, temp: names.contains(temp) ? temp : nil, in: directory, prefix: prefix) {
            case .live: report.libraryMovesLive += 1
            case .recovered(let text):
                report.libraryMoves += 1
                report.outcomes.append(text)
            case .leftover: report.leftoversRemoved += 1
            case .young: break
            }
        }
        for (name, _) in entries where name.hasPrefix(ShimMoveIntent.tempPrefix) && !handledTemps.contains(name) {
            // A temporary file of the library without its record: the mover died before writing
            // it (nothing renamed yet). The supervisor's own temporary files are in the tree,
            // named in its journal, and recovered above.
            if isStale(name, in: directory) {
                if (try? directory.remove(name)) == true { report.leftoversRemoved += 1 }
            }
        }
        for (name, type) in entries where type == UInt8(DT_DIR) || type == UInt8(DT_UNKNOWN) {
            guard !ShimMoveIntent.isProtocolName(name), let st = try? directory.status(name), st.st_mode & S_IFMT == S_IFDIR,
                  let child = try? directory.directory(name) else { continue }
            try recoverLibraryMoves(in: child, prefix: prefix + name + "/", report: &report, depth: depth + 1)
        }
    }

    enum LibraryRecovery {
        case live
        case recovered(String)
        case leftover
        case young
    }

    /// Whether nothing has touched `name` for ``Options/staleAfterSeconds`` (its ctime).
    private func isStale(_ name: String, in directory: HeldDirectory) -> Bool {
        guard let st = try? directory.status(name) else { return false }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let age = Double(now.tv_sec - st.st_ctim.tv_sec) + Double(now.tv_nsec - st.st_ctim.tv_nsec) / 1e9
        return age >= options.staleAfterSeconds
    }

    private func recoverLibraryMove(intentName: String, temp: String?, in spillDirectory: HeldDirectory, prefix: String) -> LibraryRecovery {
        // The record: a torn one (the library died while writing it) means nothing was renamed.
        let record: ShimMoveIntent?
        if let fd = try? spillDirectory.openat2(intentName, flags: O_RDONLY | O_NONBLOCK) {
            defer { try? fd.close() }
            let st = try? Descriptors.status(fd, path: spillDirectory.path(intentName))
            if let st, st.st_mode & S_IFMT == S_IFREG, st.st_size < 8192,
               let bytes = try? Descriptors.readSmallFile(fd, path: spillDirectory.path(intentName), limit: 8192) {
                record = try? ShimMoveIntent(parsing: String(decoding: bytes, as: UTF8.self), file: spillDirectory.path(intentName))
            } else {
                record = nil
            }
        } else {
            record = nil
        }
        guard let record, Self.split(record.relativePath).0 + (Self.split(record.relativePath).0.isEmpty ? "" : "/") == prefix else {
            guard isStale(intentName, in: spillDirectory) else { return .young }
            if let temp { _ = try? spillDirectory.remove(temp) }
            _ = try? spillDirectory.remove(intentName)
            return .leftover
        }
        let name = Self.split(record.relativePath).1
        let treeDirectory = try? tree.directory(Self.split(record.relativePath).0)
        // A mover still at work holds flock(LOCK_EX) on the source: leave it be.
        var sourceLock: FileDescriptor?
        defer { try? sourceLock?.close() }
        if let treeDirectory, let handle = try? treeDirectory.pathDescriptor(name) {
            defer { try? handle.close() }
            if let st = try? Descriptors.status(handle, path: treeDirectory.path(name)), st.st_mode & S_IFMT == S_IFREG {
                let fd = open("/proc/self/fd/\(handle.rawValue)", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
                if fd >= 0 {
                    sourceLock = FileDescriptor(rawValue: fd)
                    if flock(fd, LOCK_EX | LOCK_NB) != 0 { return .live }
                }
            }
        }
        let device = (try? treeDirectory?.status()).flatMap { $0 }.map { UInt64($0.st_dev) }
        let source = Self.found(treeDirectory, name, expected: record.source)
        var destination = MoveRecovery.Found.absent
        var destinationInode: UInt64 = 0
        if let st = try? spillDirectory.status(name) {
            destinationInode = UInt64(st.st_ino)
            destination = .other
            if st.st_mode & S_IFMT == S_IFREG, let device, let handle = try? spillDirectory.pathDescriptor(name) {
                defer { try? handle.close() }
                let fd = open("/proc/self/fd/\(handle.rawValue)", O_RDONLY | O_NONBLOCK | O_CLOEXEC)
                if fd >= 0 {
                    defer { close(fd) }
                    var value = [UInt8](repeating: 0, count: 64)
                    let length = spillway_fgetxattr(fd, ShimMoveIntent.originAttribute, &value, UInt(value.count))
                    if length > 0, String(decoding: value.prefix(length), as: UTF8.self) == "\(device):\(record.source.inode)" {
                        var now = Self.identity(st)
                        now.ctimeNanoseconds = 0
                        now.inode = record.source.inode
                        destination = .ours(changed: !record.source.isUnchanged(now), mtimeNanoseconds: now.mtimeNanoseconds)
                    }
                }
            }
        }
        let decision = MoveRecovery.decide(destination: destination, source: source, tempPresent: temp != nil)
        for step in decision.steps {
            switch step {
            case .removeTemp: if let temp { _ = try? spillDirectory.remove(temp) }
            case .removeDestination: _ = try? spillDirectory.remove(name, ifInode: destinationInode)
            case .removeSource: _ = try? treeDirectory?.remove(name, ifInode: record.source.inode)
            case .forgetIntent: _ = try? spillDirectory.remove(intentName)
            }
        }
        return .recovered("\(record.relativePath): library move \(decision.outcome.rawValue)")
    }
}
