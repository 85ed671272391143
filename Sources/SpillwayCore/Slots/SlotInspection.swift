/// What a slot file holds, as the supervisor reads it.
public enum SlotInspection: Equatable, Sendable {
    /// A slot of this build, read consistently.
    case valid(SlotSnapshot)
    /// Not a slot any reader can use, and why.
    case invalid(SlotDamage)
}
