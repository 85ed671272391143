import Foundation
import Logging
import ServiceLifecycle
import SpillwayCore
import SpillwayDocker

/// Docker discovery (the patent's first module): follows the engine on `docker_socket`,
/// registers every running container with the supervisor (mode `monitor` unless
/// `spillway-runtime` registered it first, mode `preload`), gives containers their Docker
/// names, and forgets containers the engine destroys. Containers labelled
/// `spillway.enable=false` are left alone.
///
/// On every (re)connection it resynchronises: the event stream is opened first, then every
/// container is listed, so nothing falls in between. An engine that is down is retried every
/// few seconds, with one log line per outage.
struct DockerDiscoveryService: Service {
    let supervisor: Supervisor
    let docker: DockerClient
    let logger: Logger
    var retryInterval: Duration = .seconds(2)

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                var lastProblem: String?
                while !Task.isCancelled {
                    do {
                        let info = try await docker.info()
                        let events = docker.events(since: Date().timeIntervalSince1970 - 1)
                        try await resync(info)
                        if lastProblem != nil { logger.info("Docker discovery resumed", metadata: ["socket": "\(docker.socketPath)"]) }
                        lastProblem = nil
                        for try await event in events {
                            await handle(event, info: info)
                        }
                        logger.warning("Docker event stream ended; reconnecting", metadata: ["socket": "\(docker.socketPath)"])
                    } catch is CancellationError {
                        return
                    } catch {
                        // One line per outage (and per new reason), not one per retry.
                        let problem = String(describing: error)
                        if problem != lastProblem {
                            logger.warning("Docker discovery paused", metadata: ["error": "\(problem)"])
                            lastProblem = problem
                        }
                    }
                    try await Task.sleep(for: retryInterval)
                }
            }
        } catch is CancellationError {
            return
        }
    }

    /// Registers every running container, and forgets the engine's containers that are gone.
    func resync(_ info: DockerInfo) async throws {
        let listed = try await docker.containers()
        for summary in listed where summary.state == "running" {
            await sync(summary.id, info: info)
        }
        let known = try await supervisor.status().containers.map { (id: $0.id, root: $0.root) }
        for id in DockerDiscovery.vanished(known: known, engineIDs: listed.map(\.id), dataRoot: info.dockerRootDir) {
            await forget(id)
        }
    }

    func handle(_ event: DockerEvent, info: DockerInfo) async {
        switch DockerDiscovery.action(for: event) {
        case .sync(let id): await sync(id, info: info)
        case .forget(let id):
            if let short = try? EngineContainerID.spillwayID(for: id) { await forget(short) }
        case .none: break
        }
    }

    /// Inspects one container and manages it as ``DockerDiscovery/decide(_:root:)`` says.
    func sync(_ id: String, info: DockerInfo) async {
        do {
            guard let container = try await docker.inspect(id) else { return }
            let root = DockerDiscovery.root(of: container, dataRoot: info.dockerRootDir, mountID: mountID(of: container, info: info))
            switch DockerDiscovery.decide(container, root: root) {
            case .ignore(let why):
                logger.debug("Docker container left alone", metadata: ["container": "\(container.name)", "why": "\(why)"])
            case .manage(let registration):
                try await manage(registration)
            }
        } catch {
            logger.warning("cannot manage Docker container", metadata: ["id": "\(id.prefix(12))", "error": "\(error)"])
        }
    }

    /// Registers a new container in mode `monitor`, or names a known one (keeping its root and mode).
    func manage(_ registration: ContainerRegistration) async throws {
        for _ in 0..<2 {
            if let known = try await supervisor.status().containers.first(where: { $0.id == registration.id }) {
                guard let name = registration.name, name != known.name else { return }
                _ = try await supervisor.upsert(ContainerRegistration(id: known.id, root: known.root, name: name))
                return
            }
            do {
                _ = try await supervisor.register(registration)
                logger.info("Docker container registered", metadata: ["id": "\(registration.id)", "name": "\(registration.name ?? "")"])
                return
            } catch let error as ControlError where error.status == .conflict {
                continue // the runtime wrapper registered it meanwhile: name it
            }
        }
    }

    func forget(_ id: String) async {
        do {
            try await supervisor.forget(id)
            logger.info("Docker container forgotten", metadata: ["id": "\(id)"])
        } catch let error as ControlError where error.status == .notFound {
            return
        } catch {
            logger.warning("cannot forget Docker container", metadata: ["id": "\(id)", "error": "\(error)"])
        }
    }

    /// The btrfs driver's mount id of the container's layer (Docker's API does not report it).
    func mountID(of container: DockerContainer, info: DockerInfo) -> String? {
        guard let driver = container.graphDriver, driver == "btrfs", EngineContainerID.isFullHexID(container.id) else { return nil }
        let path = DockerDiscovery.mountIDPath(dataRoot: info.dockerRootDir, driver: driver, containerID: container.id)
        return (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
