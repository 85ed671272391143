import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SpillwayCore

/// Talks to a running `spillway daemon` over its control socket.
///
/// Every failure is a ``ControlClientError`` whose description is one line an operator can act
/// on: no daemon listening, not root, or the daemon's own error message.
public struct ControlClient: Sendable {
    public let socketPath: String
    private let client: HTTPClient

    /// - Parameter socketPath: the daemon's socket; `nil` means `$SPILLWAY_SOCKET` or the default.
    public init(socketPath: String? = nil, client: HTTPClient = .shared) {
        self.socketPath = socketPath ?? ControlClient.defaultSocketPath()
        self.client = client
    }

    /// `$SPILLWAY_SOCKET`, or `/run/spillway/spillway.sock`.
    public static func defaultSocketPath() -> String {
        if let value = ProcessInfo.processInfo.environment[ControlAPI.socketEnvironment], !value.isEmpty {
            return value
        }
        return ControlAPI.defaultSocket
    }

    public func status() async throws -> StatusReport {
        try await decode(StatusReport.self, from: request("GET", "/v1/status"))
    }

    /// The plan as the daemon sends it (JSON).
    public func planJSON() async throws -> Data {
        try await request("GET", "/v1/plan")
    }

    public func register(_ registration: ContainerRegistration) async throws -> ContainerStatus {
        let body = try JSONEncoder().encode(registration)
        return try await decode(ContainerStatus.self, from: request("POST", "/v1/containers", body: body))
    }

    /// Registers a container, or gives a known one (same id and root) the name and mode set in
    /// `registration`; answers its status either way.
    public func upsert(_ registration: ContainerRegistration) async throws -> ContainerStatus {
        let body = try JSONEncoder().encode(registration)
        return try await decode(ContainerStatus.self, from: request("PUT", "/v1/containers/" + Self.pathComponent(registration.id), body: body))
    }

    /// Raises a container's main-disk limit (`--to` or `--by`, in bytes) and starts its drain.
    public func grow(_ id: String, _ grow: GrowRequest) async throws -> GrowResult {
        let body = try JSONEncoder().encode(grow)
        return try await decode(GrowResult.self, from: request("POST", "/v1/containers/" + Self.pathComponent(id) + "/grow", body: body))
    }

    /// Unmounts the container's FUSE union, if it has one (the runtime wrapper's `delete`).
    public func releaseFuse(_ id: String) async throws {
        _ = try await request("DELETE", "/v1/containers/" + Self.pathComponent(id) + "/fuse")
    }

    public func unregister(_ id: String) async throws {
        _ = try await request("DELETE", "/v1/containers/" + Self.pathComponent(id))
    }

    /// Events after `since`, then (with `follow`) every new one as it happens.
    public func events(since: Int64 = 0, follow: Bool) -> AsyncThrowingStream<EventRecord, Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let path = "/v1/events?since=\(since)" + (follow ? "&follow=1" : "")
                    let response = try await self.execute("GET", path, body: nil, timeout: follow ? .hours(24 * 365) : .seconds(30))
                    guard response.status == .ok else {
                        let body = try await response.body.collect(upTo: 1 << 20)
                        throw self.failure(response.status, Data(body.readableBytesView))
                    }
                    var pending = Data()
                    let decoder = JSONDecoder()
                    for try await chunk in response.body {
                        pending.append(contentsOf: chunk.readableBytesView)
                        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                            let line = pending[pending.startIndex..<newline]
                            pending.removeSubrange(pending.startIndex...newline)
                            if !line.isEmpty { continuation.yield(try decoder.decode(EventRecord.self, from: line)) }
                        }
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: - HTTP over the unix socket

    func request(_ method: String, _ path: String, body: Data? = nil) async throws -> Data {
        let response = try await execute(method, path, body: body, timeout: .seconds(60))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        let data = Data(bytes.readableBytesView)
        guard (200..<300).contains(Int(response.status.code)) else { throw failure(response.status, data) }
        return data
    }

    private func execute(_ method: String, _ path: String, body: Data?, timeout: TimeAmount) async throws -> HTTPClientResponse {
        // Fail at once when nobody listens: the HTTP client would retry until its deadline.
        if let problem = probe() { throw problem }
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else {
            throw ControlClientError(message: "the socket path '\(socketPath)' cannot be used; give an absolute path")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method)
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        do {
            return try await client.execute(request, timeout: timeout)
        } catch {
            throw connectionFailure(error)
        }
    }

    /// Connects once to the socket; a one-line error if that fails.
    private func probe() -> ControlClientError? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(socketPath.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            return ControlClientError(message: "the socket path '\(socketPath)' is too long for a unix socket (at most 107 bytes)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        if connected == 0 { return nil }
        switch errno {
        case ENOENT:
            return ControlClientError(message: "no spillway daemon is listening on \(socketPath) (no such socket); start it with `spillway daemon`, or name its socket with --socket")
        case EACCES, EPERM:
            return ControlClientError(message: "permission denied on \(socketPath): the control socket is root-only; run this as root")
        case ECONNREFUSED:
            return ControlClientError(message: "no spillway daemon is listening on \(socketPath) (connection refused: a stale socket); start it with `spillway daemon`")
        default:
            return ControlClientError(message: "cannot connect to \(socketPath): \(String(cString: strerror(errno)))")
        }
    }

    private func connectionFailure(_ error: Error) -> ControlClientError {
        let text = String(describing: error)
        if access(socketPath, F_OK) != 0 {
            return ControlClientError(message: "no spillway daemon is listening on \(socketPath) (no such socket); start it with `spillway daemon`, or name its socket with --socket")
        }
        if text.contains("Permission denied") || text.contains("EACCES") || access(socketPath, R_OK | W_OK) != 0 {
            return ControlClientError(message: "permission denied on \(socketPath): the control socket is root-only; run this as root")
        }
        if text.contains("Connection refused") || text.contains("ECONNREFUSED") || text.contains("connectionRefused") {
            return ControlClientError(message: "no spillway daemon is listening on \(socketPath) (connection refused: a stale socket); start it with `spillway daemon`")
        }
        return ControlClientError(message: "cannot talk to the spillway daemon on \(socketPath): \(text)")
    }

    private func failure(_ status: HTTPResponseStatus, _ body: Data) -> ControlClientError {
        if let api = try? JSONDecoder().decode(APIErrorBody.self, from: body) {
            return ControlClientError(message: api.error, status: Int(status.code))
        }
        return ControlClientError(message: "the daemon answered \(status.code) \(status.reasonPhrase)", status: Int(status.code))
    }

    private func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw ControlClientError(message: "the daemon's answer could not be read (\(error)); is it the same version as this command?")
        }
    }

    static func pathComponent(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}

/// A control API failure, as one line for the operator.
public struct ControlClientError: Error, CustomStringConvertible, Sendable {
    public let message: String
    /// The HTTP status the daemon answered with, if it answered.
    public let status: Int?

    public init(message: String, status: Int? = nil) {
        self.message = message
        self.status = status
    }

    public var description: String { message }
}
