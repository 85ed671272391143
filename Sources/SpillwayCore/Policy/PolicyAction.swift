/// What the caller of ``UsagePolicyStateMachine`` must do after an input. The machine only
/// decides; the caller writes the slot, starts or stops the migration, persists and
/// publishes the event (JSON lines, webhook, metrics).
public enum PolicyAction: Hashable, Sendable {
    /// Publish the event; the state does not change (a limit became unknown or known again).
    case notify(PolicyEvent)
    /// `normal` → `spilling`: raise the container's flag (write `spilling` into its slot).
    case raiseFlag(PolicyEvent)
    /// `spilling` → `draining`: write `draining` into the slot, then start moving spilled
    /// files back to the main disk, reporting progress with
    /// ``UsagePolicyStateMachine/drainProgressed(remainingBytes:at:)``.
    case startDrain(PolicyEvent)
    /// `draining` → `spilling`: stop moving files back (finish the file in flight), then
    /// write `spilling` into the slot.
    case stopDrain(PolicyEvent)
    /// `draining` → `normal`: the spill area is empty; write `normal` into the slot.
    case clearFlag(PolicyEvent)

    /// The event to publish, whatever the action.
    public var event: PolicyEvent {
        switch self {
        case .notify(let event), .raiseFlag(let event), .startDrain(let event), .stopDrain(let event),
             .clearFlag(let event):
            event
        }
    }
}
