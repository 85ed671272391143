/// The state of a managed container as its preload library sees it in its slot.
///
/// The raw values are the `enum spillway_state` values of `CShim/include/spillway_slot.h`;
/// a test pins the two together.
public enum SlotState: UInt32, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// Below the spill threshold and the spill area is empty: the shim only loads the flag.
    case normal = 0
    /// New and modified files go to the spill area; lookups see the spill area first.
    case spilling = 1
    /// Files move back to the main disk; lookups still see the spill area first.
    case draining = 2

    public var description: String {
        switch self {
        case .normal: "normal"
        case .spilling: "spilling"
        case .draining: "draining"
        }
    }

    /// Encoded by name (`"spilling"`), as JSON readers expect.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let state = Self.allCases.first(where: { $0.description == name }) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "'\(name)' is not a state")
        }
        self = state
    }

    /// Parses a state name as an operator types it (`normal`, `spilling`, `draining`).
    ///
    /// - Throws: ``InputError`` naming the input and the allowed names.
    public init(parsing text: String, what: String = "state") throws(InputError) {
        guard let state = Self.allCases.first(where: { $0.description == text.lowercased() }) else {
            let allowed = Self.allCases.map(\.description).joined(separator: ", ")
            throw InputError("\(what) '\(text)' is not a state; use one of: \(allowed)")
        }
        self = state
    }
}
