#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The parts of Docker Engine API answers that Spillway reads. Unknown fields are ignored and
/// absent ones are nil, so newer and older engines decode alike.

/// `GET /info`.
public struct DockerInfo: Decodable, Sendable, Equatable {
    /// The engine's data root (`--data-root`), e.g. `/var/lib/docker`.
    public var dockerRootDir: String
    /// The storage driver, e.g. `btrfs`, `overlay2`.
    public var driver: String?

    public init(dockerRootDir: String, driver: String?) {
        self.dockerRootDir = dockerRootDir
        self.driver = driver
    }

    enum CodingKeys: String, CodingKey {
        case dockerRootDir = "DockerRootDir"
        case driver = "Driver"
    }
}

/// One entry of `GET /containers/json?all=1`.
public struct DockerContainerSummary: Decodable, Sendable, Equatable {
    public var id: String
    public var names: [String]?
    public var labels: [String: String]?
    /// `created`, `running`, `exited`, ...
    public var state: String?

    enum CodingKeys: String, CodingKey {
        case id = "Id"
        case names = "Names"
        case labels = "Labels"
        case state = "State"
    }
}

/// `GET /containers/{id}/json`.
public struct DockerContainer: Decodable, Sendable, Equatable {
    public var id: String
    /// Docker's name, without the leading `/`.
    public var name: String
    public var running: Bool
    public var status: String?
    public var labels: [String: String]
    /// `HostConfig.StorageOpt.size`, as given to `--storage-opt size=`.
    public var storageSize: String?
    /// `HostConfig.Runtime`: `runc`, `spillway`, ...
    public var runtime: String?
    /// `GraphDriver.Name` and `GraphDriver.Data`.
    public var graphDriver: String?
    public var graphDriverData: [String: String]

    public init(id: String, name: String, running: Bool, status: String? = nil, labels: [String: String] = [:],
                storageSize: String? = nil, runtime: String? = nil, graphDriver: String? = nil,
                graphDriverData: [String: String] = [:]) {
        self.id = id
        self.name = name
        self.running = running
        self.status = status
        self.labels = labels
        self.storageSize = storageSize
        self.runtime = runtime
        self.graphDriver = graphDriver
        self.graphDriverData = graphDriverData
    }

    public init(from decoder: any Decoder) throws {
        let raw = try Raw(from: decoder)
        id = raw.Id
        name = raw.Name.map { $0.hasPrefix("/") ? String($0.dropFirst()) : $0 } ?? String(raw.Id.prefix(12))
        running = raw.State?.Running ?? false
        status = raw.State?.Status
        labels = raw.Config?.Labels ?? [:]
        storageSize = raw.HostConfig?.StorageOpt?["size"]
        runtime = raw.HostConfig?.Runtime
        graphDriver = raw.GraphDriver?.Name
        graphDriverData = raw.GraphDriver?.Data ?? [:]
    }

    // swiftlint:disable identifier_name
    private struct Raw: Decodable {
        struct State: Decodable { var Running: Bool?; var Status: String? }
        struct Config: Decodable { var Labels: [String: String]? }
        struct HostConfig: Decodable { var StorageOpt: [String: String]?; var Runtime: String? }
        struct GraphDriver: Decodable { var Name: String?; var Data: [String: String]? }
        var Id: String
        var Name: String?
        var State: State?
        var Config: Config?
        var HostConfig: HostConfig?
        var GraphDriver: GraphDriver?
    }
    // swiftlint:enable identifier_name
}

/// One object of the `GET /events` stream.
public struct DockerEvent: Decodable, Sendable, Equatable {
    /// `container`, `image`, `network`, ...
    public var type: String?
    /// `start`, `die`, `destroy`, ... (`exec_start: sh` and the like carry a suffix).
    public var action: String
    public var actorID: String
    public var attributes: [String: String]
    /// Nanoseconds since the epoch, when the engine sent it.
    public var timeNano: Int64?

    public init(type: String?, action: String, actorID: String, attributes: [String: String] = [:], timeNano: Int64? = nil) {
        self.type = type
        self.action = action
        self.actorID = actorID
        self.attributes = attributes
        self.timeNano = timeNano
    }

    public init(from decoder: any Decoder) throws {
        let raw = try Raw(from: decoder)
        type = raw.Type
        action = raw.Action ?? raw.status ?? ""
        actorID = raw.Actor?.ID ?? raw.id ?? ""
        attributes = raw.Actor?.Attributes ?? [:]
        timeNano = raw.timeNano
    }

    // swiftlint:disable identifier_name
    private struct Raw: Decodable {
        struct Actor: Decodable { var ID: String?; var Attributes: [String: String]? }
        var `Type`: String?
        var Action: String?
        var status: String?
        var id: String?
        var Actor: Actor?
        var timeNano: Int64?
    }
    // swiftlint:enable identifier_name
}
