/// The usage policy of one managed container, as a pure state machine (claims 1, 5 and 7).
///
/// Each `mutating func` takes one input (a usage sample, an operator's grow, drain progress)
/// and returns the ``PolicyAction``s to carry out, in order; an empty array means nothing to
/// do. The machine does no I/O: the caller writes the slot, runs the migration, persists the
/// state and publishes the events.
///
/// ## States and transitions
///
/// The states are the slot states (``SlotState``). With `rate = used / limit`:
///
/// | from       | to         | when                                                               | action         |
/// |------------|------------|--------------------------------------------------------------------|----------------|
/// | `normal`   | `spilling` | a sample has `rate ≥ spill_threshold` (at once)                    | ``PolicyAction/raiseFlag(_:)`` |
/// | `normal`   | `spilling` | a sample shows files in the spill area (at once, any rate)         | ``PolicyAction/raiseFlag(_:)`` |
/// | `spilling` | `draining` | `rate < drain_below` and `(used + spilled) / limit < drain_below`, held (see below) | ``PolicyAction/startDrain(_:)`` |
/// | `spilling` | `draining` | the operator grows the quota (at once)                             | ``PolicyAction/startDrain(_:)`` |
/// | `draining` | `spilling` | a sample has `rate ≥ spill_threshold` (at once)                    | ``PolicyAction/stopDrain(_:)`` |
/// | `draining` | `normal`   | the spill area is empty (drain completed, or a sample shows 0 spilled bytes) | ``PolicyAction/clearFlag(_:)`` |
///
/// A drain that completes while the last known rate is at or above the spill threshold goes
/// back to `spilling` instead of `normal`.
///
/// ## Hysteresis
///
/// Moves towards safety (into `spilling`) are never delayed: a late flag means a failed
/// write. The one automatic move away from safety, `spilling` → `draining`, needs both
///
/// - ``UsagePolicyConfiguration/drainConfirmSamples`` consecutive samples (default 3) that
///   satisfy the drain condition: one sample that does not resets the count, and
/// - ``UsagePolicyConfiguration/drainMinimumDwell`` (default 30 s) since the container
///   entered `spilling`.
///
/// Together with the gap between the two watermarks (spill at 90 %, drain below 80 %, with
/// the spilled bytes counted), a container hovering near either line changes state at most
/// once per dwell period: a full spill → drain → spill cycle takes at least the dwell time.
/// An operator's grow bypasses the hysteresis: it is a deliberate request.
///
/// ## Unknown limits
///
/// When a sample's limit is unreadable (`nil`) or zero (no quota), no rate can be computed.
/// The machine then keeps the state it has (a `spilling` container keeps spilling, so
/// nothing lands on a disk that may be full; a `normal` one is not flagged on a guess),
/// resets the drain count, and reports ``PolicyEventKind/limitUnknown`` once; when a usable
/// limit comes back it reports ``PolicyEventKind/limitKnown`` once. Transitions that do not
/// need a rate still happen: files in the spill area of a `normal` container raise the flag,
/// and an empty spill area ends a drain.
///
/// ## Time
///
/// Times come from the inputs. If an input is older than the last state change (the wall
/// clock went backwards), the dwell restarts from that input's time, so it is never
/// negative and never stalls for the size of the jump.
public struct UsagePolicyStateMachine: Sendable {
    /// The container this machine decides for; it is copied into every event.
    public let containerID: String
    /// Thresholds and hysteresis; may be replaced at any time (a reloaded config), taking
    /// effect with the next input.
    public var configuration: UsagePolicyConfiguration
    /// The current state.
    public private(set) var state: SlotState
    /// When the machine entered ``state`` (or was restored into it).
    public private(set) var enteredAt: Timestamp
    /// Bytes used on the main disk, from the last sample (0 before any).
    public private(set) var usedBytes: UInt64 = 0
    /// The quota from the last sample or grow (`nil` when unreadable or before any sample).
    public private(set) var limitBytes: UInt64?
    /// Bytes in the spill area, from the last sample or drain progress report.
    public private(set) var spilledBytes: UInt64 = 0
    /// How many consecutive samples have satisfied the drain condition while `spilling`.
    public private(set) var drainConditionCount = 0
    /// Whether a ``PolicyEventKind/limitUnknown`` event was reported and not yet followed by
    /// a ``PolicyEventKind/limitKnown`` one.
    public private(set) var limitUnknownReported = false

    /// A machine for `containerID` in `state` since `since` (pass the persisted state and
    /// the time of its last change when resuming after a restart).
    public init(
        containerID: String, configuration: UsagePolicyConfiguration = UsagePolicyConfiguration(),
        state: SlotState = .normal, since: Timestamp
    ) {
        self.containerID = containerID
        self.configuration = configuration
        self.state = state
        self.enteredAt = since
    }

    /// `usedBytes / limitBytes` from the last input, or `nil` when the limit is unknown or zero.
    public var usageRate: Double? {
        UsageSample.rate(usedBytes, of: limitBytes)
    }

    /// Feeds one usage sample.
    ///
    /// - Returns: the actions to carry out, in order: at most one
    ///   ``PolicyAction/notify(_:)`` (limit unknown or known again) and at most one state change.
    public mutating func sampled(_ sample: UsageSample) -> [PolicyAction] {
        noteTime(sample.time)
        usedBytes = sample.usedBytes
        limitBytes = sample.limitBytes
        spilledBytes = sample.spilledBytes
        var actions: [PolicyAction] = []
        let rate = sample.usageRate
        if rate == nil {
            drainConditionCount = 0
            if !limitUnknownReported {
                limitUnknownReported = true
                let reason: PolicyReason = sample.limitBytes == nil ? .limitUnreadable : .limitZero
                actions.append(.notify(event(.limitUnknown, to: state, reason: reason, at: sample.time)))
            }
        } else if limitUnknownReported {
            limitUnknownReported = false
            actions.append(.notify(event(.limitKnown, to: state, reason: .limitReadable, at: sample.time)))
        }

        switch state {
        case .normal:
            if let rate, rate >= configuration.spillThreshold {
                actions.append(.raiseFlag(change(to: .spilling, reason: .thresholdReached, at: sample.time)))
            } else if sample.spilledBytes > 0 {
                actions.append(.raiseFlag(change(to: .spilling, reason: .spillAreaNotEmpty, at: sample.time)))
            }
        case .spilling:
            guard let limit = sample.limitBytes, limit > 0 else { break }
            let withSpilled = (Double(sample.usedBytes) + Double(sample.spilledBytes)) / Double(limit)
            if let rate, rate < configuration.drainBelow, withSpilled < configuration.drainBelow {
                drainConditionCount += 1
            } else {
                drainConditionCount = 0
            }
            if drainConditionCount >= max(1, configuration.drainConfirmSamples),
               sample.time.duration(since: enteredAt) >= configuration.drainMinimumDwell {
                actions.append(.startDrain(change(to: .draining, reason: .usageBelowWatermark, at: sample.time)))
            }
        case .draining:
            if let rate, rate >= configuration.spillThreshold {
                actions.append(.stopDrain(change(to: .spilling, reason: .thresholdReached, at: sample.time)))
            } else if sample.spilledBytes == 0 {
                actions.append(.clearFlag(change(to: .normal, reason: .spillAreaEmpty, at: sample.time)))
            }
        }
        return actions
    }

    /// The operator raised the container's main-disk quota to `limitBytes` (`spillway grow`,
    /// after the quota was actually raised).
    ///
    /// A `spilling` container starts draining at once, without hysteresis; in the other
    /// states only the remembered limit changes. A zero limit is ignored (it is not a grow).
    /// Use ``UsagePolicyConfiguration/minimumLimitToDrain(usedBytes:spilledBytes:)`` beforehand
    /// to warn about a grow too small to take the spilled data back.
    ///
    /// - Returns: ``PolicyAction/startDrain(_:)`` from `spilling`, preceded by a
    ///   ``PolicyAction/notify(_:)`` if the limit was unknown; otherwise at most that notification.
    public mutating func quotaGrown(toLimitBytes newLimit: UInt64, at time: Timestamp) -> [PolicyAction] {
        guard newLimit > 0 else { return [] }
        noteTime(time)
        limitBytes = newLimit
        var actions: [PolicyAction] = []
        if limitUnknownReported {
            limitUnknownReported = false
            actions.append(.notify(event(.limitKnown, to: state, reason: .limitReadable, at: time)))
        }
        if state == .spilling {
            actions.append(.startDrain(change(to: .draining, reason: .quotaGrown, at: time)))
        }
        return actions
    }

    /// The migration reports that `remainingBytes` are still in the spill area.
    ///
    /// Ignored unless `draining` (a late report from a drain that was stopped). A report of
    /// zero bytes is the same as ``drainCompleted(at:)``.
    public mutating func drainProgressed(remainingBytes: UInt64, at time: Timestamp) -> [PolicyAction] {
        guard state == .draining else { return [] }
        if remainingBytes == 0 { return drainCompleted(at: time) }
        noteTime(time)
        spilledBytes = remainingBytes
        return []
    }

    /// The migration reports the spill area empty.
    ///
    /// Ignored unless `draining`. Goes to `normal`, or back to `spilling` when the last known
    /// usage rate is at or above the spill threshold (the moved-back data filled the quota).
    public mutating func drainCompleted(at time: Timestamp) -> [PolicyAction] {
        guard state == .draining else { return [] }
        noteTime(time)
        spilledBytes = 0
        if let rate = usageRate, rate >= configuration.spillThreshold {
            return [.stopDrain(change(to: .spilling, reason: .thresholdReached, at: time))]
        }
        return [.clearFlag(change(to: .normal, reason: .spillAreaEmpty, at: time))]
    }

    /// Restarts the dwell when the clock went backwards past the last state change.
    private mutating func noteTime(_ time: Timestamp) {
        if time < enteredAt { enteredAt = time }
    }

    private mutating func change(to newState: SlotState, reason: PolicyReason, at time: Timestamp) -> PolicyEvent {
        let from = state
        state = newState
        enteredAt = time
        drainConditionCount = 0
        var changed = event(.stateChange, to: newState, reason: reason, at: time)
        changed.from = from
        return changed
    }

    private func event(_ kind: PolicyEventKind, to: SlotState, reason: PolicyReason, at time: Timestamp) -> PolicyEvent {
        PolicyEvent(
            kind: kind, containerID: containerID, from: state, to: to, reason: reason, usageRate: usageRate,
            usedBytes: usedBytes, limitBytes: limitBytes, spilledBytes: spilledBytes, time: time
        )
    }
}
