/// Something wrong with a slot the supervisor keeps, found at a poll; the supervisor puts each
/// right in place and says so in a `slot_repaired` event.
public enum SlotFault: Equatable, Sendable, CustomStringConvertible {
    /// The held file is not a usable slot.
    case damaged(SlotDamage)
    /// The held file is a valid slot, but not what the supervisor last wrote (`what` differs).
    case foreign(String)
    /// The slot's path names something other than the held file.
    case replaced(SlotPathFinding)

    /// A short machine-readable name for the event's `reason`.
    public var reason: String {
        switch self {
        case .damaged(let damage): damage.reason
        case .foreign: "foreign"
        case .replaced(.missing): "removed"
        case .replaced: "replaced"
        }
    }

    /// One phrase for the operator.
    public var description: String {
        switch self {
        case .damaged(let damage): damage.problem
        case .foreign(let what): "holds \(what), not what the supervisor wrote"
        case .replaced(let finding): finding.problem ?? "is fine"
        }
    }

    /// Everything wrong with a slot, given what its file holds and what its path names, against
    /// what the supervisor last wrote (`expected`; its generation and time are not compared).
    public static func faults(content: SlotInspection, path: SlotPathFinding, expected: SlotSnapshot) -> [SlotFault] {
        var faults: [SlotFault] = []
        switch content {
        case .invalid(let damage):
            faults.append(.damaged(damage))
        case .valid(let found):
            if let difference = difference(found, expected) { faults.append(.foreign(difference)) }
        }
        if path != .heldFile { faults.append(.replaced(path)) }
        return faults
    }

    /// The first field in which `found` differs from `expected`, as a phrase.
    static func difference(_ found: SlotSnapshot, _ expected: SlotSnapshot) -> String? {
        if found.containerID != expected.containerID { return "container id '\(found.containerID)'" }
        if found.state != expected.state { return "state \(found.state)" }
        if found.spillLimit != expected.spillLimit { return "spill limit \(found.spillLimit.map(String.init) ?? "none")" }
        if found.mainLimit != expected.mainLimit { return "main limit \(found.mainLimit.map(String.init) ?? "none")" }
        if found.moveEpoch != expected.moveEpoch { return "move epoch \(found.moveEpoch)" }
        return nil
    }
}
