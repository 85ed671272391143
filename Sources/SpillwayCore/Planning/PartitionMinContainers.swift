/// The `partition_min_containers` setting: the container count at which the sub disk is
/// partitioned, derived from its capacity (`"auto"`) or given.
///
/// Its `Codable` form is the string `"auto"` or a number, as in the config file.
public enum PartitionMinContainers: Hashable, Sendable, Codable, CustomStringConvertible {
    /// Derive the count from the sub disk's usable capacity
    /// (``PartitionPlanner/autoThreshold(usableBytes:shareBytes:)``).
    case auto
    /// Partition once there are at least this many containers (1 or more).
    case count(Int)

    /// `auto` or the number, as in the config file.
    public var description: String {
        switch self {
        case .auto: "auto"
        case .count(let count): String(count)
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let count = try? container.decode(Int.self) {
            guard count >= 1 else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "partition_min_containers must be at least 1")
            }
            self = .count(count)
            return
        }
        let text = try container.decode(String.self)
        guard text == "auto" else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "partition_min_containers is \"auto\" or a number")
        }
        self = .auto
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .auto: try container.encode("auto")
        case .count(let count): try container.encode(count)
        }
    }
}
