/// One step that brings the sub disk's partitions from one plan to the next
/// (``PartitionPlan/actions(from:)``).
///
/// Its `Codable` form is a flat object: `{"action":"grow","container_id":"web-1",
/// "from_bytes":1073741824,"to_bytes":2147483648,"reason":null}`.
public enum PartitionAction: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Give a container that has none a partition of `bytes` (its spill area becomes capped).
    case create(containerID: String, bytes: UInt64)
    /// Raise a partition's size.
    case grow(containerID: String, fromBytes: UInt64, toBytes: UInt64)
    /// Lower a partition's size (never below what the container stores there).
    case shrink(containerID: String, fromBytes: UInt64, toBytes: UInt64)
    /// Take a container's partition away (`bytes` is its size before).
    case remove(containerID: String, bytes: UInt64, reason: PartitionRemovalReason)

    /// The container the action is about.
    public var containerID: String {
        switch self {
        case .create(let id, _), .grow(let id, _, _), .shrink(let id, _, _), .remove(let id, _, _): id
        }
    }

    /// The action's name in JSON: `create`, `grow`, `shrink` or `remove`.
    public var name: String {
        switch self {
        case .create: "create"
        case .grow: "grow"
        case .shrink: "shrink"
        case .remove: "remove"
        }
    }

    /// `grow web-1 from 1 GiB to 2 GiB`, `remove old-3 (512 MiB, container_left)`.
    public var description: String {
        switch self {
        case .create(let id, let bytes): "create \(id) (\(ByteSize(bytes: bytes)))"
        case .grow(let id, let from, let to): "grow \(id) from \(ByteSize(bytes: from)) to \(ByteSize(bytes: to))"
        case .shrink(let id, let from, let to): "shrink \(id) from \(ByteSize(bytes: from)) to \(ByteSize(bytes: to))"
        case .remove(let id, let bytes, let reason): "remove \(id) (\(ByteSize(bytes: bytes)), \(reason))"
        }
    }

    enum CodingKeys: String, CodingKey {
        case action
        case containerID = "container_id"
        case fromBytes = "from_bytes"
        case toBytes = "to_bytes"
        case reason
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let id = try container.decode(String.self, forKey: .containerID)
        let action = try container.decode(String.self, forKey: .action)
        switch action {
        case "create":
            self = .create(containerID: id, bytes: try container.decode(UInt64.self, forKey: .toBytes))
        case "grow":
            self = .grow(
                containerID: id, fromBytes: try container.decode(UInt64.self, forKey: .fromBytes),
                toBytes: try container.decode(UInt64.self, forKey: .toBytes))
        case "shrink":
            self = .shrink(
                containerID: id, fromBytes: try container.decode(UInt64.self, forKey: .fromBytes),
                toBytes: try container.decode(UInt64.self, forKey: .toBytes))
        case "remove":
            self = .remove(
                containerID: id, bytes: try container.decode(UInt64.self, forKey: .fromBytes),
                reason: try container.decode(PartitionRemovalReason.self, forKey: .reason))
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .action, in: container, debugDescription: "unknown action '\(action)'; expected create, grow, shrink or remove")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .action)
        try container.encode(containerID, forKey: .containerID)
        var from: UInt64?
        var to: UInt64?
        var reason: PartitionRemovalReason?
        switch self {
        case .create(_, let bytes): to = bytes
        case .grow(_, let old, let new), .shrink(_, let old, let new): (from, to) = (old, new)
        case .remove(_, let bytes, let why): (from, reason) = (bytes, why)
        }
        try container.encode(from, forKey: .fromBytes)
        try container.encode(to, forKey: .toBytes)
        try container.encode(reason, forKey: .reason)
    }
}
