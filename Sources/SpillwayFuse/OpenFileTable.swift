import SpillwayCore
import Synchronization

/// The union's open files by identity, so that a move finds every handle of the file it moves,
/// whichever name and process opened it (spec section 5: the descriptor follows the file "in
/// every process that holds it"). Touched on open, release and move only, never on read or write.
final class OpenFileTable: Sendable {
    private let files = Mutex<[FileKey: OpenFile]>([:])

    /// Adds `handle` to the record of the file `key` (made if new) and links them.
    func register(_ handle: UnionHandle, key: FileKey, branch: BranchKind) {
        files.withLock { files in
            let file = files[key] ?? {
                let made = OpenFile(key: key, branch: branch)
                files[key] = made
                return made
            }()
            file.handles[ObjectIdentifier(handle)] = handle
            handle.file = file
        }
    }

    /// Removes `handle`; the record goes with its last user. Returns whether it was the file's
    /// last handle.
    @discardableResult
    func unregister(_ handle: UnionHandle) -> Bool {
        files.withLock { files in
            guard let file = handle.file else { return false }
            file.handles[ObjectIdentifier(handle)] = nil
            if file.handles.isEmpty && file.pins == 0 && files[file.key] === file { files[file.key] = nil }
            return file.handles.isEmpty
        }
    }

    /// The record of `key` for a mover, made if there is none, held until ``unpin(_:)``.
    func pin(_ key: FileKey, branch: BranchKind) -> OpenFile {
        files.withLock { files in
            let file = files[key] ?? {
                let made = OpenFile(key: key, branch: branch)
                files[key] = made
                return made
            }()
            file.pins += 1
            return file
        }
    }

    func unpin(_ file: OpenFile) {
        files.withLock { files in
            file.pins -= 1
            if file.handles.isEmpty && file.pins == 0 && files[file.key] === file { files[file.key] = nil }
        }
    }

    /// The handles of `file` now.
    func handles(of file: OpenFile) -> [UnionHandle] {
        files.withLock { _ in Array(file.handles.values) }
    }

    /// Records that `file` now is `key` (it moved).
    func rekey(_ file: OpenFile, to key: FileKey) {
        files.withLock { files in
            if files[file.key] === file { files[file.key] = nil }
            file.key = key
            files[key] = file
        }
    }
}
