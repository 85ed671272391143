#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import SpillwayCore
import SpillwaySystem
import SystemPackage

/// Runs each draining container's ``DrainEngine`` on a thread of its own, so that a drain (which
/// blocks in copies and syncs) never holds up the polls or the control API; keeps each drain's
/// progress for `spillway status` and `spillway grow --wait`.
///
/// A drain makes passes until the spill area is empty; files it defers (a writer holds them, a
/// library mover is busy, they are mapped) are retried every ``retryInterval``. It ends when the
/// area is empty (the supervisor is told and clears the flag) or when it is stopped.
// @unchecked: `jobs`, `finished` and every Job field are read and written only under `lock`.
final class DrainService: @unchecked Sendable {
    /// The result a drain thread hands back.
    enum Outcome: Sendable {
        case emptied
        case stopped
    }

    // @unchecked: `stop` and `tracker` are touched only under DrainService.lock.
    private final class Job: @unchecked Sendable {
        var stop = false
        var tracker: DrainProgressTracker
        init(tracker: DrainProgressTracker) { self.tracker = tracker }
    }

    let journal: StoreMoveJournal
    let logger: Logger
    let options: DrainEngine.Options
    let retryInterval: Double
    private let lock = NSLock()
    private var jobs: [String: Job] = [:]
    private var finished: [String: DrainProgress] = [:]

    /// - Throws: ``InputError`` for a bad test-only crash point in the environment.
    init(store: StateStore, logger: Logger, retryInterval: Double = 1) throws {
        journal = StoreMoveJournal(store: store)
        self.logger = logger
        self.retryInterval = retryInterval
        var options = DrainEngine.Options()
        options.crashPoint = try CrashPoint(environmentValue: ProcessInfo.processInfo.environment[MoveStep.crashEnvironment])
        self.options = options
    }

    /// The engine for one container's tree and spill area.
    func engine(container: String, root: String, spill: FilePath) throws -> DrainEngine {
        DrainEngine(container: container, tree: try HeldDirectory.openRoot(FilePath(root)),
                    spill: try HeldDirectory.openRoot(spill), journal: journal, options: options)
    }

    /// Finishes or rolls back the container's moves cut short (run at start, before any drain).
    func recover(container: String, root: String, spill: FilePath) throws -> DrainEngine.RecoveryReport {
        try engine(container: container, root: root, spill: spill).recover()
    }

    /// Whether a drain runs for `container`.
    func isRunning(_ container: String) -> Bool {
        lock.withLock { jobs[container] != nil }
    }

    /// The progress of the running drain, or of the last one that ended.
    func progress(_ container: String) -> DrainProgress? {
        lock.withLock { jobs[container]?.tracker.progress ?? finished[container] }
    }

    /// Starts draining `container` unless a drain runs already. `finish` is called on the drain's
    /// thread when it ends; `refused` once per drain for each file it refuses (a symlink or a
    /// different file in its way: it is skipped, and retrying alone never moves it).
    func start(container: String, root: String, spill: FilePath, refused: @escaping @Sendable (DrainHeldFile) -> Void = { _ in },
               finish: @escaping @Sendable (Outcome) -> Void) {
        let job: Job
        do {
            job = try lock.withLock { () throws -> Job in
                if let running = jobs[container] {
                    // Keep it running; a thread already past its loop restarts on seeing this.
                    running.stop = false
                    throw CancellationError()
                }
                let made = Job(tracker: DrainProgressTracker(startedAt: Supervisor.now()))
                jobs[container] = made
                return made
            }
        } catch {
            return
        }
        let thread = Thread { [self] in
            let outcome = run(container: container, root: root, spill: spill, job: job, refused: refused)
            // A start that came after the loop saw its stop request cleared the request too late
            // to keep this thread: start the drain it asked for, instead of reporting a stop.
            let revived = lock.withLock { () -> Bool in
                finished[container] = job.tracker.progress
                jobs.removeValue(forKey: container)
                return outcome == .stopped && !job.stop
            }
            if revived {
                logger.info("drain restarted after a stop", metadata: ["id": "\(container)"])
                start(container: container, root: root, spill: spill, refused: refused, finish: finish)
            } else {
                finish(outcome)
            }
        }
        thread.name = "drain \(container)"
        thread.start()
    }

    /// Asks the drain of `container` to stop after the batch in flight.
    func stop(_ container: String) {
        lock.withLock { jobs[container]?.stop = true }
    }

    /// Stops every drain and waits (a few seconds at most) for them to end.
    func stopAll() {
        lock.withLock { jobs.values.forEach { $0.stop = true } }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, lock.withLock({ !jobs.isEmpty }) { Thread.sleep(forTimeInterval: 0.02) }
    }

    private func update(_ job: Job, _ body: (inout DrainProgressTracker) -> Void) {
        lock.withLock { body(&job.tracker) }
    }

    private func shouldStop(_ job: Job) -> Bool { lock.withLock { job.stop } }

    private func run(container: String, root: String, spill: FilePath, job: Job, refused: @Sendable (DrainHeldFile) -> Void) -> Outcome {
        logger.info("drain started", metadata: ["id": "\(container)"])
        var engine: DrainEngine?
        var announced: Set<String> = []
        while !shouldStop(job) {
            do {
                if engine == nil { engine = try self.engine(container: container, root: root, spill: spill) }
                let pass = try engine!.runPass(report: { report in
                    let now = Supervisor.now()
                    self.update(job) { tracker in
                        switch report {
                        case .planned(let files, let bytes): tracker.passPlanned(files: files, bytes: bytes, at: now)
                        case .moved(let files, let bytes): tracker.moved(files: files, bytes: bytes, at: now)
                        case .deferred(let file): tracker.deferred(file, at: now)
                        }
                    }
                    if case .deferred(let file) = report, file.refused, announced.insert(file.path + "\u{0}" + file.reason).inserted {
                        self.logger.warning("drain refuses a file", metadata: ["id": "\(container)", "file": "\(file.line)"])
                        refused(file)
                    }
                }, shouldStop: { self.shouldStop(job) })
                if pass.empty {
                    update(job) { $0.phase(.done, at: Supervisor.now()) }
                    logger.info("drain done", metadata: ["id": "\(container)"])
                    return .emptied
                }
                if !pass.deferred.isEmpty {
                    let sample = pass.deferred.sorted { $0.key < $1.key }.prefix(3).map { "\($0.key): \($0.value)" }.joined(separator: "; ")
                    logger.info("drain deferred files", metadata: ["id": "\(container)", "count": "\(pass.deferred.count)", "first": "\(sample)"])
                }
                if pass.filesMoved == 0 {
                    update(job) { $0.phase(.waiting, at: Supervisor.now()) }
                    pause(job, seconds: retryInterval)
                }
            } catch {
                logger.error("drain pass failed", metadata: ["id": "\(container)", "error": "\(error)"])
                update(job) { $0.phase(.failed, problem: "\(error)", at: Supervisor.now()) }
                engine = nil
                pause(job, seconds: max(retryInterval, 5))
            }
        }
        update(job) { $0.phase(.stopped, at: Supervisor.now()) }
        logger.info("drain stopped", metadata: ["id": "\(container)"])
        return .stopped
    }

    private func pause(_ job: Job, seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, !shouldStop(job) { Thread.sleep(forTimeInterval: 0.05) }
    }
}
