/// The container count at which a plan switches from shared to partitioned, and how it was
/// derived.
public struct PlanThreshold: Hashable, Sendable, Codable {
    /// Partitioned when the number of containers is at least this.
    public var count: Int
    /// Derived automatically or configured.
    public var source: PlanThresholdSource
    /// The share per container the auto formula used (`partition_auto_share`); `nil` when configured.
    public var shareBytes: UInt64?
    /// One sentence for `spillway plan`: how the count was obtained.
    public var explanation: String

    /// A threshold of `count` from `source`.
    public init(count: Int, source: PlanThresholdSource, shareBytes: UInt64?, explanation: String) {
        self.count = count
        self.source = source
        self.shareBytes = shareBytes
        self.explanation = explanation
    }

    enum CodingKeys: String, CodingKey {
        case count, source
        case shareBytes = "share_bytes"
        case explanation
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        count = try container.decode(Int.self, forKey: .count)
        source = try container.decode(PlanThresholdSource.self, forKey: .source)
        shareBytes = try container.decodeIfPresent(UInt64.self, forKey: .shareBytes)
        explanation = try container.decode(String.self, forKey: .explanation)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(count, forKey: .count)
        try container.encode(source, forKey: .source)
        try container.encode(shareBytes, forKey: .shareBytes)  // null when configured
        try container.encode(explanation, forKey: .explanation)
    }
}
