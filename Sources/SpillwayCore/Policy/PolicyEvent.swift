/// One thing the usage policy tells the operator: a state change, or a limit that became
/// unknown or known again.
///
/// Its `Codable` form is one flat JSON object with snake_case keys, the same for JSON lines
/// (`spillway events --json`), webhook bodies and the event table in the state database:
///
/// ```json
/// {"kind":"state_change","container_id":"web-1","from":"normal","to":"spilling",
///  "reason":"threshold_reached","usage_rate":0.93,"used_bytes":998244352,
///  "limit_bytes":1073741824,"spilled_bytes":0,"time":"2025-11-21T23:44:05Z"}
/// ```
///
/// States are written by name; `usage_rate` and `limit_bytes` are `null` when unknown.
public struct PolicyEvent: Hashable, Sendable, Codable, CustomStringConvertible {
    /// What the event reports.
    public var kind: PolicyEventKind
    /// The container the event is about.
    public var containerID: String
    /// The state before the event.
    public var from: SlotState
    /// The state after the event (equal to ``from`` unless ``kind`` is ``PolicyEventKind/stateChange``).
    public var to: SlotState
    /// Why it happened.
    public var reason: PolicyReason
    /// `usedBytes / limitBytes` at the time, or `nil` when the limit is unknown or zero.
    public var usageRate: Double?
    /// Bytes used on the main disk at the time.
    public var usedBytes: UInt64
    /// The main-disk quota at the time; `nil` when unreadable, `0` when none is set.
    public var limitBytes: UInt64?
    /// Bytes in the spill area at the time.
    public var spilledBytes: UInt64
    /// When it happened (the time of the input that caused it).
    public var time: Timestamp

    /// An event with every field given.
    public init(
        kind: PolicyEventKind, containerID: String, from: SlotState, to: SlotState, reason: PolicyReason,
        usageRate: Double?, usedBytes: UInt64, limitBytes: UInt64?, spilledBytes: UInt64, time: Timestamp
    ) {
        self.kind = kind
        self.containerID = containerID
        self.from = from
        self.to = to
        self.reason = reason
        self.usageRate = usageRate
        self.usedBytes = usedBytes
        self.limitBytes = limitBytes
        self.spilledBytes = spilledBytes
        self.time = time
    }

    /// One line for logs and `spillway events`: `2025-11-21T23:44:05Z web-1 normal -> spilling
    /// (threshold_reached, 93.0 % of 1 GiB, 0 B spilled)`.
    public var description: String {
        let usage: String
        if let usageRate, let limitBytes {
            let percent = (usageRate * 1000).rounded() / 10
            usage = "\(percent) % of \(ByteSize(bytes: limitBytes))"
        } else {
            usage = "\(ByteSize(bytes: usedBytes)) used, limit unknown"
        }
        let change = kind == .stateChange ? "\(from) -> \(to)" : "\(to), \(kind)"
        return "\(time) \(containerID) \(change) (\(reason), \(usage), \(ByteSize(bytes: spilledBytes)) spilled)"
    }

    enum CodingKeys: String, CodingKey {
        case kind
        case containerID = "container_id"
        case from, to, reason
        case usageRate = "usage_rate"
        case usedBytes = "used_bytes"
        case limitBytes = "limit_bytes"
        case spilledBytes = "spilled_bytes"
        case time
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func state(_ key: CodingKeys) throws -> SlotState {
            let name = try container.decode(String.self, forKey: key)
            do {
                return try SlotState(parsing: name, what: key.rawValue)
            } catch {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: error.message)
            }
        }
        kind = try container.decode(PolicyEventKind.self, forKey: .kind)
        containerID = try container.decode(String.self, forKey: .containerID)
        from = try state(.from)
        to = try state(.to)
        reason = try container.decode(PolicyReason.self, forKey: .reason)
        usageRate = try container.decodeIfPresent(Double.self, forKey: .usageRate)
        usedBytes = try container.decode(UInt64.self, forKey: .usedBytes)
        limitBytes = try container.decodeIfPresent(UInt64.self, forKey: .limitBytes)
        spilledBytes = try container.decode(UInt64.self, forKey: .spilledBytes)
        time = try container.decode(Timestamp.self, forKey: .time)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(kind, forKey: .kind)
        try container.encode(containerID, forKey: .containerID)
        try container.encode(from.description, forKey: .from)
        try container.encode(to.description, forKey: .to)
        try container.encode(reason, forKey: .reason)
        // Unknown values are written as null, so every line has the same keys.
        try container.encode(usageRate, forKey: .usageRate)
        try container.encode(usedBytes, forKey: .usedBytes)
        try container.encode(limitBytes, forKey: .limitBytes)
        try container.encode(spilledBytes, forKey: .spilledBytes)
        try container.encode(time, forKey: .time)
    }
}
