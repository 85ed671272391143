import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SpillwayCore

/// A Docker Engine API client over the engine's unix socket (`http+unix://`), for the few calls
/// discovery needs: `/info`, `/containers/json`, `/containers/{id}/json` and the `/events`
/// stream. The docker CLI is never run.
///
/// Every failure is a ``DockerClientError`` that names the socket and says what to do.
public struct DockerClient: Sendable {
    public let socketPath: String
    private let client: HTTPClient

    public init(socketPath: String, client: HTTPClient = .shared) {
        self.socketPath = socketPath
        self.client = client
    }

    /// `GET /info`: the data root and storage driver.
    public func info() async throws -> DockerInfo {
        try decode(DockerInfo.self, from: try await get("/info"), what: "/info")
    }

    /// `GET /containers/json?all=1`: every container, running or not.
    public func containers() async throws -> [DockerContainerSummary] {
        try decode([DockerContainerSummary].self, from: try await get("/containers/json?all=1"), what: "/containers/json")
    }

    /// `GET /containers/{id}/json`, or nil when the engine has no such container.
    public func inspect(_ id: String) async throws -> DockerContainer? {
        let path = "/containers/" + Self.pathComponent(id) + "/json"
        do {
            return try decode(DockerContainer.self, from: try await get(path), what: path)
        } catch let error as DockerClientError where error.status == 404 {
            return nil
        }
    }

    /// `GET /events` for containers' `start`, `die` and `destroy`, from `since` (seconds since
    /// the epoch) on; ends when the engine closes the stream.
    public func events(since: Double? = nil) -> AsyncThrowingStream<DockerEvent, Error> {
        let filters = #"{"type":["container"],"event":["start","die","destroy"]}"#
        let path = "/events?filters=" + Self.pathComponent(filters) + (since.map { "&since=" + String(format: "%.3f", $0) } ?? "")
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let response = try await execute(path, timeout: .hours(24 * 365))
                    guard response.status == .ok else {
                        let body = try await response.body.collect(upTo: 1 << 20)
                        throw failure(path, response.status, Data(body.readableBytesView))
                    }
                    var pending = Data()
                    let decoder = JSONDecoder()
                    for try await chunk in response.body {
                        pending.append(contentsOf: chunk.readableBytesView)
                        while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                            let line = pending[pending.startIndex..<newline]
                            pending.removeSubrange(pending.startIndex...newline)
                            guard !line.isEmpty else { continue }
                            if let event = try? decoder.decode(DockerEvent.self, from: line) { continuation.yield(event) }
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

    func get(_ path: String) async throws -> Data {
        let response = try await execute(path, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 << 20)
        let data = Data(body.readableBytesView)
        guard response.status == .ok else { throw failure(path, response.status, data) }
        return data
    }

    private func execute(_ path: String, timeout: TimeAmount) async throws -> HTTPClientResponse {
        guard access(socketPath, F_OK) == 0 else {
            throw DockerClientError(message: "no Docker engine socket at \(socketPath); start dockerd, or set docker_socket (\"\" turns discovery off)")
        }
        guard let url = URL(httpURLWithSocketPath: socketPath, uri: path) else {
            throw DockerClientError(message: "the Docker socket path '\(socketPath)' cannot be used; give an absolute path")
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .GET
        // The default Host is the percent-encoded socket path, which the engine's Go HTTP
        // server refuses as malformed (400).
        request.headers.replaceOrAdd(name: "Host", value: "docker")
        do {
            return try await client.execute(request, timeout: timeout)
        } catch {
            throw DockerClientError(message: "cannot talk to the Docker engine on \(socketPath): \(error); is dockerd running?")
        }
    }

    private func failure(_ path: String, _ status: HTTPResponseStatus, _ body: Data) -> DockerClientError {
        struct Message: Decodable { var message: String }
        let detail = (try? JSONDecoder().decode(Message.self, from: body))?.message ?? status.reasonPhrase
        return DockerClientError(message: "the Docker engine on \(socketPath) answered \(status.code) to \(path): \(detail)", status: Int(status.code))
    }

    private func decode<T: Decodable>(_ type: T.Type, from data: Data, what: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch {
            throw DockerClientError(message: "the Docker engine's answer to \(what) could not be read (\(error)); is \(socketPath) a Docker Engine API socket?")
        }
    }

    static func pathComponent(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
    }
}

/// A Docker Engine API failure, as one line for the operator.
public struct DockerClientError: Error, CustomStringConvertible, Sendable {
    public let message: String
    /// The HTTP status the engine answered with, if it answered.
    public let status: Int?

    public init(message: String, status: Int? = nil) {
        self.message = message
        self.status = status
    }

    public var description: String { message }
}
