#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging
import SpillwayCore
import SpillwaySystem
import Synchronization
import SystemPackage

/// Serves every container's ask socket (`run_dir/ask/<id>/sock`, SOCK_SEQPACKET, mode 0666 in a
/// directory that is bind-mounted read-only at `/.spillway/ask` in the container) on one thread
/// of its own, never on the supervisor actor: a poll loop over the listening sockets and the
/// connections they accepted.
///
/// The container is the socket a request came on: its trees are the ones registered for that
/// socket, and a message naming another container is refused. Every request is checked
/// (``AskMessage``, ``AskRequest``) and served by ``SpillParents``; every refusal and every
/// `cannot help` report is counted for the container and emitted as an event (at most
/// ``eventBudget`` of them per container per ``eventWindow`` seconds, so a container cannot fill
/// the event log; the counts always go up).
final class AskServer: @unchecked Sendable {
    /// One container's socket and trees.
    struct Entry {
        var id: String
        var root: String
        var spill: String
        var listener: Int32
        var directory: Int32
        var cannotHelp: UInt64 = 0
        var refused: UInt64 = 0
        var windowStart: UInt64 = 0
        var windowEvents = 0
    }

    /// What `status` shows of a container's socket.
    struct Counts: Sendable, Equatable {
        var cannotHelp: UInt64
        var refused: UInt64
    }

    static let eventBudget = 50
    static let eventWindow: UInt64 = 10
    /// Connections kept waiting for their message at most this long.
    static let connectionTimeout: Double = 2
    static let maxConnections = 256

    let directory: String
    let events: EventLog
    let logger: Logger
    private let entries = Mutex<[String: Entry]>([:])
    /// A pipe that wakes the loop: [read end, write end].
    private let wake: [Int32]
    private let stopping = Atomic<Bool>(false)
    private var thread: Thread?

    init(directory: String, events: EventLog, logger: Logger) throws {
        self.directory = directory
        self.events = events
        self.logger = logger
        try Supervisor.makePrivateDirectory(directory)
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw SystemError("create", path: "wake pipe", syscall: "pipe", errno: Errno(rawValue: errno)) }
        for fd in ends {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        wake = ends
        let thread = Thread { [self] in serve() }
        thread.name = "spillway-ask"
        self.thread = thread
        thread.start()
    }

    /// The host directory holding `id`'s socket (what the runtime wrapper mounts).
    func directory(of id: String) -> String { directory + "/" + id }

    /// Opens (or, for a known id, re-points to new trees) `id`'s socket.
    ///
    /// - Throws: ``SystemError`` when the directory or socket cannot be made.
    func open(id: String, root: String, spill: String) throws {
        let known = entries.withLock { entries -> Bool in
            guard entries[id] != nil else { return false }
            entries[id]!.root = root
            entries[id]!.spill = spill
            return true
        }
        if known { return }
        let path = directory(of: id)
        if mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw SystemError("create ask directory", path: path, syscall: "mkdir", errno: Errno(rawValue: errno))
        }
        let dir = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard dir >= 0 else { throw SystemError("open ask directory", path: path, syscall: "open", errno: Errno(rawValue: errno)) }
        var ok = false
        defer { if !ok { Glibc.close(dir) } }
        guard fchown(dir, 0, 0) == 0, fchmod(dir, 0o755) == 0 else {
            throw SystemError("secure ask directory", path: path, syscall: "fchmod", errno: Errno(rawValue: errno))
        }
        _ = unlinkat(dir, AskMessage.socketName, 0)
        let fd = socket(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { throw SystemError("create ask socket", path: path, syscall: "socket", errno: Errno(rawValue: errno)) }
        defer { if !ok { Glibc.close(fd) } }
        // Bound through the held directory, so a long run_dir still fits sun_path.
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let name = Array("/proc/self/fd/\(dir)/\(AskMessage.socketName)".utf8)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: name) }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0 else { throw SystemError("bind ask socket", path: path + "/" + AskMessage.socketName, syscall: "bind", errno: Errno(rawValue: errno)) }
        // Any user of the container may ask (connecting needs write permission on the socket).
        guard fchmodat(dir, AskMessage.socketName, 0o666, 0) == 0 else {
            throw SystemError("set the mode of ask socket", path: path, syscall: "fchmodat", errno: Errno(rawValue: errno))
        }
        guard listen(fd, 64) == 0 else { throw SystemError("listen on ask socket", path: path, syscall: "listen", errno: Errno(rawValue: errno)) }
        ok = true
        entries.withLock { $0[id] = Entry(id: id, root: root, spill: spill, listener: fd, directory: dir) }
        poke()
    }

    /// Closes `id`'s socket and removes its directory.
    func close(id: String) {
        guard let entry = entries.withLock({ $0.removeValue(forKey: id) }) else { return }
        poke()
        _ = unlinkat(entry.directory, AskMessage.socketName, 0)
        Glibc.close(entry.directory)
        _ = rmdir(directory(of: id))
        // The listener is closed by the loop once it sees the entry gone.
        closing.withLock { $0.append(entry.listener) }
    }

    private let closing = Mutex<[Int32]>([])

    func counts(_ id: String) -> Counts? {
        entries.withLock { $0[id].map { Counts(cannotHelp: $0.cannotHelp, refused: $0.refused) } }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        poke()
    }

    private func poke() {
        var one: UInt8 = 1
        _ = write(wake[1], &one, 1)
    }

    // MARK: - The loop

    private struct Connection {
        var fd: Int32
        var id: String
        var deadline: Double
    }

    private func serve() {
        var connections: [Connection] = []
        var buffer = [UInt8](repeating: 0, count: AskMessage.requestSize + 1)
        while !stopping.load(ordering: .acquiring) {
            for fd in closing.withLock({ list -> [Int32] in defer { list.removeAll() }; return list }) { Glibc.close(fd) }
            let listeners = entries.withLock { $0.values.map { ($0.listener, $0.id) } }
            var fds = [pollfd(fd: wake[0], events: Int16(POLLIN), revents: 0)]
            fds += listeners.map { pollfd(fd: $0.0, events: Int16(POLLIN), revents: 0) }
            fds += connections.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), 500)
            if ready < 0 && errno != EINTR { Thread.sleep(forTimeInterval: 0.05) }
            if fds[0].revents != 0 { var drained = [UInt8](repeating: 0, count: 64); _ = read(wake[0], &drained, 64) }
            let now = Date().timeIntervalSince1970
            let polled = connections
            var accepted: [Connection] = []
            for (index, (listener, id)) in listeners.enumerated() where fds[1 + index].revents != 0 {
                while true {
                    let fd = accept(listener, nil, nil)
                    if fd < 0 { break }
                    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
                    _ = fcntl(fd, F_SETFL, O_NONBLOCK)
                    if polled.count + accepted.count >= Self.maxConnections {
                        Glibc.close(fd)
                        refuse(id, AskRefusal(.badMessage, "more than \(Self.maxConnections) requests at once"))
                        continue
                    }
                    accepted.append(Connection(fd: fd, id: id, deadline: now + Self.connectionTimeout))
                }
            }
            var kept: [Connection] = []
            for (index, connection) in polled.enumerated() {
                let revents = fds[1 + listeners.count + index].revents
                if revents == 0 {
                    if now > connection.deadline { Glibc.close(connection.fd) } else { kept.append(connection) }
                    continue
                }
                let length = buffer.withUnsafeMutableBytes { recv(connection.fd, $0.baseAddress, $0.count, Int32(MSG_TRUNC) | Int32(MSG_DONTWAIT)) }
                if length < 0 && (errno == EAGAIN || errno == EINTR) {
                    kept.append(connection)
                    continue
                }
                if length > 0 {
                    let reply = buffer.withUnsafeBytes { handle(UnsafeRawBufferPointer(rebasing: $0[0..<min(length, $0.count)]), length: length, id: connection.id) }
                    if let reply { _ = reply.withUnsafeBytes { send(connection.fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL) | Int32(MSG_DONTWAIT)) } }
                }
                Glibc.close(connection.fd)
            }
            connections = kept + accepted
        }
        for connection in connections { Glibc.close(connection.fd) }
        for fd in closing.withLock({ $0 }) { Glibc.close(fd) }
    }

    /// Serves one message from container `id`'s socket; the reply to send, if any.
    func handle(_ bytes: UnsafeRawBufferPointer, length: Int, id: String) -> [UInt8]? {
        guard let entry = entries.withLock({ $0[id] }) else { return AskMessage.reply(error: EPERM) }
        let request: AskRequest
        do {
            let fields = try AskMessage.decode(bytes, length: length)
            request = try AskRequest.parse(kind: fields.kind, containerID: fields.containerID, path: fields.path,
                                           reason: fields.reason, container: id)
        } catch {
            refuse(id, error)
            return AskMessage.reply(error: EPERM)
        }
        switch request {
        case .cannotHelp(let path, let reason):
            count(id) { $0.cannotHelp += 1 }
            record(id, kind: "cannot_help", reason: nil, detail: "\(AskRequest.shown(path)): \(AskRequest.shown(reason))")
            return nil
        case .parents(let components):
            do {
                let outcome = try SpillParents.make(components, mainRoot: entry.root, spillRoot: entry.spill)
                if !outcome.made.isEmpty {
                    logger.debug("made spill-area parents", metadata: ["id": "\(id)", "made": "\(outcome.made)"])
                }
                return AskMessage.reply(error: 0)
            } catch let refusal as AskRefusal {
                refuse(id, refusal)
                return AskMessage.reply(error: EPERM)
            } catch let unserved as SpillParents.Unserved {
                return AskMessage.reply(error: unserved.errno)
            } catch let error as SystemError {
                logger.warning("cannot make spill-area parents", metadata: ["id": "\(id)", "error": "\(error)"])
                return AskMessage.reply(error: error.errno.rawValue)
            } catch {
                logger.warning("cannot make spill-area parents", metadata: ["id": "\(id)", "error": "\(error)"])
                return AskMessage.reply(error: EIO)
            }
        }
    }

    private func refuse(_ id: String, _ refusal: AskRefusal) {
        count(id) { $0.refused += 1 }
        logger.warning("ask refused", metadata: ["id": "\(id)", "why": "\(refusal)"])
        record(id, kind: "ask_refused", reason: refusal.reason.rawValue, detail: refusal.message)
    }

    private func count(_ id: String, _ change: (inout Entry) -> Void) {
        entries.withLock { if $0[id] != nil { change(&$0[id]!) } }
    }

    /// Emits an event unless the container used up its budget in this window.
    private func record(_ id: String, kind: String, reason: String?, detail: String) {
        let now = Supervisor.now().nanosecondsSinceEpoch
        let allowed = entries.withLock { entries -> Bool in
            guard var entry = entries[id] else { return false }
            if now / 1_000_000_000 >= entry.windowStart + Self.eventWindow {
                entry.windowStart = now / 1_000_000_000
                entry.windowEvents = 0
            }
            entry.windowEvents += 1
            entries[id] = entry
            return entry.windowEvents <= Self.eventBudget
        }
        guard allowed else { return }
        do {
            try events.emit(EventRecord(timeNanoseconds: now, container: id, kind: kind, reason: reason, detail: detail))
        } catch {
            logger.error("cannot record event", metadata: ["error": "\(error)"])
        }
    }
}
