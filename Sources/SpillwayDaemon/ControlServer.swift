import Foundation
import Hummingbird
import Logging
import NIOCore
import SpillwayCore

/// What the control API asks of the supervisor.
public protocol ControlHandler: Sendable {
    func status() async throws -> StatusReport
    func planJSON() async throws -> Data
    func register(_ registration: ContainerRegistration) async throws -> ContainerStatus
    func unregister(_ nameOrID: String) async throws
    func upsert(_ registration: ContainerRegistration) async throws -> ContainerStatus
    func grow(_ nameOrID: String, _ request: GrowRequest) async throws -> GrowResult
    /// Unmounts the container's FUSE union, if it has one mounted (the runtime wrapper's `delete`).
    func releaseFuse(_ nameOrID: String) async throws
    var events: EventLog { get }
}

/// An error the control API answers with: an HTTP status and one line for the operator.
public struct ControlError: Error, CustomStringConvertible, Sendable {
    public let status: HTTPResponse.Status
    public let message: String

    public init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    public static func badRequest(_ message: String) -> ControlError { .init(.badRequest, message) }
    public static func notFound(_ message: String) -> ControlError { .init(.notFound, message) }
    public static func conflict(_ message: String) -> ControlError { .init(.conflict, message) }

    public var description: String { message }
}

/// The control API on a root-only unix socket (see ``ControlAPI``).
public enum ControlServer {
    /// Builds the HTTP application serving `handler` on `socketPath`.
    ///
    /// The socket is made mode 0600 as soon as it is bound; only root can connect.
    public static func application(
        socketPath: String, handler: any ControlHandler, logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]

        router.get("/v1/status") { _, _ in
            try await respond { try json(await handler.status(), encoder) }
        }
        router.get("/v1/plan") { _, _ in
            try await respond { jsonResponse(try await handler.planJSON()) }
        }
        router.post("/v1/containers") { request, _ in
            try await respond {
                let registration = try await decodeRegistration(request)
                var response = try json(await handler.register(registration), encoder)
                response.status = .created
                return response
            }
        }
        router.put("/v1/containers/:id") { request, context in
            try await respond {
                let registration = try await decodeRegistration(request)
                let id = context.parameters.get("id") ?? ""
                guard (id.removingPercentEncoding ?? id) == registration.id else {
                    throw ControlError.badRequest("the path names '\(id)' but the body registers '\(registration.id)'; they must be the same")
                }
                return try json(await handler.upsert(registration), encoder)
            }
        }
        router.delete("/v1/containers/:id") { _, context in
            try await respond {
                let id = context.parameters.get("id") ?? ""
                try await handler.unregister(id.removingPercentEncoding ?? id)
                return Response(status: .noContent)
            }
        }
        router.delete("/v1/containers/:id/fuse") { _, context in
            try await respond {
                let id = context.parameters.get("id") ?? ""
                try await handler.releaseFuse(id.removingPercentEncoding ?? id)
                return Response(status: .noContent)
            }
        }
        router.post("/v1/containers/:id/grow") { request, context in
            try await respond {
                let id = context.parameters.get("id") ?? ""
                let body = try await request.body.collect(upTo: 1 << 16)
                let grow: GrowRequest
                do {
                    grow = try JSONDecoder().decode(GrowRequest.self, from: Data(body.readableBytesView))
                } catch {
                    throw ControlError.badRequest("the grow request is not valid JSON with 'to' or 'by' in bytes: \(error)")
                }
                return try json(await handler.grow(id.removingPercentEncoding ?? id, grow), encoder)
            }
        }
        router.get("/v1/events") { request, _ in
            try await respond {
                let since = request.uri.queryParameters.get("since", as: Int64.self) ?? 0
                let follow = request.uri.queryParameters.get("follow") == "1"
                let log = handler.events
                if !follow {
                    let lines = try log.history(since: since).map { try line($0, encoder) }
                    return Response(status: .ok, headers: [.contentType: "application/x-ndjson"],
                                    body: .init(contentsOf: lines))
                }
                let live = log.subscribe()
                let backlog = try log.history(since: since)
                let lastBacklog = backlog.last?.seq ?? since
                let stream = AsyncThrowingStream<ByteBuffer, Error> { continuation in
                    let task = Task {
                        do {
                            for event in backlog { continuation.yield(try line(event, encoder)) }
                            for await event in live where event.seq > lastBacklog {
                                continuation.yield(try line(event, encoder))
                            }
                            continuation.finish()
                        } catch {
                            continuation.finish(throwing: error)
                        }
                    }
                    continuation.onTermination = { _ in task.cancel() }
                }
                return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: .init(asyncSequence: stream))
            }
        }

        return Application(
            router: router,
            configuration: .init(address: .unixDomainSocket(path: socketPath), serverName: "spillway"),
            onServerRunning: { _ in
                chmod(socketPath, 0o600)
                logger.info("control API listening", metadata: ["socket": "\(socketPath)"])
            },
            logger: logger
        )
    }

    static func decodeRegistration(_ request: Request) async throws -> ContainerRegistration {
        let body = try await request.body.collect(upTo: 1 << 20)
        do {
            return try JSONDecoder().decode(ContainerRegistration.self, from: Data(body.readableBytesView))
        } catch {
            throw ControlError.badRequest("the registration is not valid JSON with 'id' and 'root': \(error)")
        }
    }

    /// Turns thrown errors into JSON error answers.
    static func respond(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as ControlError {
            return errorResponse(error.status, error.message)
        } catch let error as InputError {
            return errorResponse(.badRequest, error.message)
        } catch {
            return errorResponse(.internalServerError, String(describing: error))
        }
    }

    static func errorResponse(_ status: HTTPResponse.Status, _ message: String) -> Response {
        let data = (try? JSONEncoder().encode(APIErrorBody(error: message))) ?? Data()
        var response = jsonResponse(data)
        response.status = status
        return response
    }

    static func json<T: Encodable>(_ value: T, _ encoder: JSONEncoder) throws -> Response {
        jsonResponse(try encoder.encode(value))
    }

    static func jsonResponse(_ data: Data) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func line(_ event: EventRecord, _ encoder: JSONEncoder) throws -> ByteBuffer {
        var data = try encoder.encode(event)
        data.append(UInt8(ascii: "\n"))
        return ByteBuffer(bytes: data)
    }
}
