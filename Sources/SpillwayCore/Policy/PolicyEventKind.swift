/// What a ``PolicyEvent`` reports. The raw values are the `kind` strings of JSON events.
public enum PolicyEventKind: String, CaseIterable, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The container's state changed (`from` ≠ `to`).
    case stateChange = "state_change"
    /// The container's limit became unknown or zero; its state is held (`from` = `to`).
    case limitUnknown = "limit_unknown"
    /// A usable limit is reported again (`from` = `to`).
    case limitKnown = "limit_known"

    /// The `kind` string, as in JSON.
    public var description: String { rawValue }
}
