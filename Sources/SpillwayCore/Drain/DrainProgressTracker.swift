/// Counts a drain's progress and derives its rate and time to go; pure, fed by the engine.
public struct DrainProgressTracker: Sendable {
    public private(set) var progress: DrainProgress

    /// A drain that starts at `time`.
    public init(startedAt time: Timestamp) {
        progress = DrainProgress(
            phase: .moving, filesTotal: 0, filesMoved: 0, filesDeferred: 0, bytesTotal: 0, bytesMoved: 0,
            startedNanoseconds: time.nanosecondsSinceEpoch, updatedNanoseconds: time.nanosecondsSinceEpoch)
    }

    /// A pass over the spill area begins with `files` and `bytes` still there.
    public mutating func passPlanned(files: Int, bytes: UInt64, at time: Timestamp) {
        progress.filesTotal = progress.filesMoved + files
        progress.bytesTotal = progress.bytesMoved &+ bytes
        progress.filesDeferred = 0
        progress.held = nil
        progress.phase = .moving
        touch(time)
    }

    /// `files` files holding `bytes` bytes are back in the tree.
    public mutating func moved(files: Int, bytes: UInt64, at time: Timestamp) {
        progress.filesMoved += files
        progress.bytesMoved &+= bytes
        touch(time)
    }

    /// A file was left for a later pass (a writer holds it, a mover is busy, ...).
    public mutating func deferred(at time: Timestamp) {
        progress.filesDeferred += 1
        touch(time)
    }

    /// `file` was left for a later pass, or refused.
    public mutating func deferred(_ file: DrainHeldFile, at time: Timestamp) {
        if (progress.held ?? []).count < Self.heldLimit { progress.held = (progress.held ?? []) + [file] }
        deferred(at: time)
    }

    /// Held files a progress names at most (the count covers them all).
    public static let heldLimit = 20

    /// The phase changes (waiting for deferred files, done, stopped, failed with `problem`).
    public mutating func phase(_ phase: DrainProgress.Phase, problem: String? = nil, at time: Timestamp) {
        progress.phase = phase
        if let problem { progress.problem = problem }
        if phase == .done {
            progress.filesDeferred = 0
            progress.held = nil
        }
        touch(time)
    }

    private mutating func touch(_ time: Timestamp) {
        progress.updatedNanoseconds = max(progress.updatedNanoseconds, time.nanosecondsSinceEpoch)
        let elapsed = Double(progress.updatedNanoseconds &- progress.startedNanoseconds) / 1e9
        guard elapsed > 0 else {
            progress.bytesPerSecond = nil
            progress.etaSeconds = nil
            return
        }
        let rate = Double(progress.bytesMoved) / elapsed
        progress.bytesPerSecond = rate
        let remaining = Double(progress.bytesTotal &- min(progress.bytesTotal, progress.bytesMoved))
        if remaining == 0 {
            progress.etaSeconds = progress.phase == .done || progress.filesTotal == progress.filesMoved ? 0 : nil
        } else if rate > 0 {
            progress.etaSeconds = remaining / rate
        } else {
            progress.etaSeconds = nil
        }
    }
}
