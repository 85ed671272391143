import SpillwayCore
import Testing

/// One input to the machine; times are whole seconds, sizes are bytes (limit 100 makes
/// `used` read as a percentage).
enum PolicyStep: Sendable, CustomStringConvertible {
    case sample(at: UInt64, used: UInt64, limit: UInt64?, spilled: UInt64 = 0)
    case grow(at: UInt64, limit: UInt64)
    case progress(at: UInt64, remaining: UInt64)
    case completed(at: UInt64)

    var description: String {
        switch self {
        case .sample(let t, let used, let limit, let spilled): "t=\(t) sample \(used)/\(limit.map(String.init) ?? "nil")+\(spilled)"
        case .grow(let t, let limit): "t=\(t) grow \(limit)"
        case .progress(let t, let remaining): "t=\(t) progress \(remaining)"
        case .completed(let t): "t=\(t) completed"
        }
    }

    func apply(to machine: inout UsagePolicyStateMachine) -> [PolicyAction] {
        switch self {
        case .sample(let t, let used, let limit, let spilled):
            machine.sampled(UsageSample(usedBytes: used, limitBytes: limit, spilledBytes: spilled, time: .seconds(t)))
        case .grow(let t, let limit):
            machine.quotaGrown(toLimitBytes: limit, at: .seconds(t))
        case .progress(let t, let remaining):
            machine.drainProgressed(remainingBytes: remaining, at: .seconds(t))
        case .completed(let t):
            machine.drainCompleted(at: .seconds(t))
        }
    }
}

/// A run of inputs and, after each, the state and the actions as `state action:reason ...`.
struct PolicyScenario: Sendable, CustomTestStringConvertible {
    var name: String
    var configuration = UsagePolicyConfiguration()
    var initial: SlotState = .normal
    var since: UInt64 = 0
    var steps: [(PolicyStep, String)]

    var testDescription: String { name }
}

extension Timestamp {
    static func seconds(_ seconds: UInt64) -> Timestamp { Timestamp(secondsSinceEpoch: seconds) }
}

extension PolicyAction {
    var name: String {
        switch self {
        case .notify: "notify"
        case .raiseFlag: "raiseFlag"
        case .startDrain: "startDrain"
        case .stopDrain: "stopDrain"
        case .clearFlag: "clearFlag"
        }
    }
}

private let quick = UsagePolicyConfiguration(drainConfirmSamples: 1, drainMinimumDwell: .zero)

@Suite("Usage policy state machine")
struct UsagePolicyStateMachineTests {
    static let scenarios: [PolicyScenario] = [
        // normal → spilling
        PolicyScenario(name: "below the threshold stays normal", steps: [
            (.sample(at: 1, used: 0, limit: 100), "normal"),
            (.sample(at: 2, used: 89, limit: 100), "normal"),
        ]),
        PolicyScenario(name: "exactly at the threshold spills at once", steps: [
            (.sample(at: 1, used: 90, limit: 100), "spilling raiseFlag:threshold_reached"),
        ]),
        PolicyScenario(name: "a large quota one byte under the threshold stays normal", steps: [
            (.sample(at: 1, used: 966_367_641, limit: 1_073_741_824), "normal"),
            (.sample(at: 2, used: 966_367_642, limit: 1_073_741_824), "spilling raiseFlag:threshold_reached"),
        ]),
        PolicyScenario(name: "used above the limit spills", steps: [
            (.sample(at: 1, used: 150, limit: 100), "spilling raiseFlag:threshold_reached"),
        ]),
        PolicyScenario(name: "files in the spill area of a normal container raise the flag", steps: [
            (.sample(at: 1, used: 10, limit: 100, spilled: 1), "spilling raiseFlag:spill_area_not_empty"),
        ]),
        // spilling → draining on its own, with hysteresis
        PolicyScenario(name: "automatic drain after three low samples and the dwell", steps: [
            (.sample(at: 0, used: 95, limit: 100), "spilling raiseFlag:threshold_reached"),
            (.sample(at: 10, used: 70, limit: 100, spilled: 5), "spilling"),
            (.sample(at: 20, used: 70, limit: 100, spilled: 5), "spilling"),
            (.sample(at: 30, used: 70, limit: 100, spilled: 5), "draining startDrain:usage_below_watermark"),
        ]),
        PolicyScenario(name: "the dwell holds the drain after enough samples", steps: [
            (.sample(at: 0, used: 95, limit: 100), "spilling raiseFlag:threshold_reached"),
            (.sample(at: 1, used: 50, limit: 100), "spilling"),
            (.sample(at: 2, used: 50, limit: 100), "spilling"),
            (.sample(at: 3, used: 50, limit: 100), "spilling"),
            (.sample(at: 29, used: 50, limit: 100), "spilling"),
            (.sample(at: 30, used: 50, limit: 100), "draining startDrain:usage_below_watermark"),
        ]),
        PolicyScenario(name: "the sample count holds the drain after the dwell", steps: [
            (.sample(at: 0, used: 95, limit: 100), "spilling raiseFlag:threshold_reached"),
            (.sample(at: 100, used: 50, limit: 100), "spilling"),
            (.sample(at: 101, used: 50, limit: 100), "spilling"),
            (.sample(at: 102, used: 50, limit: 100), "draining startDrain:usage_below_watermark"),
        ]),
        PolicyScenario(name: "one sample above the watermark restarts the count", steps: [
            (.sample(at: 0, used: 95, limit: 100), "spilling raiseFlag:threshold_reached"),
            (.sample(at: 40, used: 70, limit: 100), "spilling"),
            (.sample(at: 41, used: 70, limit: 100), "spilling"),
            (.sample(at: 42, used: 80, limit: 100), "spilling"),
            (.sample(at: 43, used: 70, limit: 100), "spilling"),
            (.sample(at: 44, used: 70, limit: 100), "spilling"),
            (.sample(at: 45, used: 70, limit: 100), "draining startDrain:usage_below_watermark"),
        ]),
        PolicyScenario(name: "spilled data that would not fit under the watermark blocks the drain", steps: [
            (.sample(at: 0, used: 95, limit: 100), "spilling raiseFlag:threshold_reached"),
            (.sample(at: 40, used: 70, limit: 100, spilled: 10), "spilling"),
            (.sample(at: 41, used: 70, limit: 100, spilled: 10), "spilling"),
            (.sample(at: 42, used: 70, limit: 100, spilled: 10), "spilling"),
            (.sample(at: 43, used: 60, limit: 100, spilled: 19), "spilling"),
            (.sample(at: 44, used: 60, limit: 100, spilled: 19), "spilling"),
            (.sample(at: 45, used: 60, limit: 100, spilled: 19), "draining startDrain:usage_below_watermark"),
        ]),
        PolicyScenario(name: "between the watermarks a spilling container keeps spilling", steps: [
            (.sample(at: 0, used: 95, limit: 100), "spilling raiseFlag:threshold_reached"),
            (.sample(at: 100, used: 85, limit: 100), "spilling"),
            (.sample(at: 200, used: 85, limit: 100), "spilling"),
            (.sample(at: 300, used: 85, limit: 100), "spilling"),
        ]),
        // spilling → draining by the operator
        PolicyScenario(name: "a grow drains at once, without the dwell", steps: [
            (.sample(at: 0, used: 95, limit: 100), "spilling raiseFlag:threshold_reached"),
            (.grow(at: 1, limit: 200), "draining startDrain:quota_grown"),
        ]),
        PolicyScenario(name: "a grow of a normal container changes nothing", steps: [
            (.sample(at: 0, used: 50, limit: 100), "normal"),
            (.grow(at: 1, limit: 200), "normal"),
        ]),
        PolicyScenario(name: "a grow while draining changes nothing", initial: .draining, steps: [
            (.sample(at: 1, used: 50, limit: 100, spilled: 10), "draining"),
            (.grow(at: 2, limit: 200), "draining"),
        ]),
        PolicyScenario(name: "a grow to zero is ignored", initial: .spilling, steps: [
            (.sample(at: 1, used: 95, limit: 100), "spilling"),
            (.grow(at: 2, limit: 0), "spilling"),
        ]),
        // draining → normal
        PolicyScenario(name: "drain completion clears the flag", initial: .draining, steps: [
            (.sample(at: 1, used: 60, limit: 100, spilled: 10), "draining"),
            (.completed(at: 2), "normal clearFlag:spill_area_empty"),
        ]),
        PolicyScenario(name: "progress to zero bytes clears the flag", initial: .draining, steps: [
            (.sample(at: 1, used: 60, limit: 100, spilled: 10), "draining"),
            (.progress(at: 2, remaining: 4), "draining"),
            (.progress(at: 3, remaining: 0), "normal clearFlag:spill_area_empty"),
        ]),
        PolicyScenario(name: "a sample with an empty spill area ends the drain", initial: .draining, steps: [
            (.sample(at: 1, used: 60, limit: 100, spilled: 10), "draining"),
            (.sample(at: 2, used: 70, limit: 100, spilled: 0), "normal clearFlag:spill_area_empty"),
        ]),
        // draining → spilling
        PolicyScenario(name: "reaching the threshold while draining spills again at once", initial: .draining, steps: [
            (.sample(at: 1, used: 60, limit: 100, spilled: 10), "draining"),
            (.sample(at: 2, used: 90, limit: 100, spilled: 5), "spilling stopDrain:threshold_reached"),
        ]),
        PolicyScenario(name: "a drain that ends at the threshold spills again", initial: .draining, steps: [
            (.sample(at: 1, used: 92, limit: 100, spilled: 1), "spilling stopDrain:threshold_reached"),
        ]),
        PolicyScenario(name: "a drain completed with the last rate at the threshold goes back to spilling", initial: .draining, steps: [
            (.sample(at: 1, used: 85, limit: 100, spilled: 10), "draining"),
            (.grow(at: 2, limit: 90), "draining"),
            (.completed(at: 3), "spilling stopDrain:threshold_reached"),
        ]),
        // stale reports
        PolicyScenario(name: "drain reports outside draining are ignored", steps: [
            (.progress(at: 1, remaining: 0), "normal"),
            (.completed(at: 2), "normal"),
            (.sample(at: 3, used: 95, limit: 100), "spilling raiseFlag:threshold_reached"),
            (.progress(at: 4, remaining: 0), "spilling"),
            (.completed(at: 5), "spilling"),
        ]),
        // flapping
        PolicyScenario(name: "usage hovering around the threshold spills once", steps: [
            (.sample(at: 1, used: 91, limit: 100), "spilling raiseFlag:threshold_reached"),
            (.sample(at: 2, used: 89, limit: 100), "spilling"),
            (.sample(at: 3, used: 91, limit: 100), "spilling"),
            (.sample(at: 4, used: 89, limit: 100), "spilling"),
            (.sample(at: 5, used: 91, limit: 100), "spilling"),
        ]),
        PolicyScenario(name: "usage hovering around the watermark never drains", steps: [
            (.sample(at: 0, used: 95, limit: 100), "spilling raiseFlag:threshold_reached"),
            (.sample(at: 60, used: 79, limit: 100), "spilling"),
            (.sample(at: 61, used: 81, limit: 100), "spilling"),
            (.sample(at: 62, used: 79, limit: 100), "spilling"),
            (.sample(at: 63, used: 79, limit: 100), "spilling"),
            (.sample(at: 64, used: 81, limit: 100), "spilling"),
            (.sample(at: 65, used: 79, limit: 100), "spilling"),
        ]),
        PolicyScenario(name: "a respill restarts the dwell before the next drain", steps: [
            (.sample(at: 0, used: 95, limit: 100), "spilling raiseFlag:threshold_reached"),
            (.sample(at: 28, used: 50, limit: 100), "spilling"),
            (.sample(at: 29, used: 50, limit: 100), "spilling"),
            (.sample(at: 30, used: 50, limit: 100), "draining startDrain:usage_below_watermark"),
            (.sample(at: 31, used: 95, limit: 100, spilled: 1), "spilling stopDrain:threshold_reached"),
            (.sample(at: 32, used: 50, limit: 100), "spilling"),
            (.sample(at: 33, used: 50, limit: 100), "spilling"),
            (.sample(at: 34, used: 50, limit: 100), "spilling"),
            (.sample(at: 60, used: 50, limit: 100), "spilling"),
            (.sample(at: 61, used: 50, limit: 100), "draining startDrain:usage_below_watermark"),
        ]),
        // unknown limits
        PolicyScenario(name: "a zero limit is reported once and holds normal", steps: [
            (.sample(at: 1, used: 500, limit: 0), "normal notify:limit_zero"),
            (.sample(at: 2, used: 900, limit: 0), "normal"),
            (.sample(at: 3, used: 95, limit: 100), "spilling notify:limit_readable raiseFlag:threshold_reached"),
        ]),
        PolicyScenario(name: "an unreadable limit is reported once and known again once", steps: [
            (.sample(at: 1, used: 50, limit: nil), "normal notify:limit_unreadable"),
            (.sample(at: 2, used: 50, limit: nil), "normal"),
            (.sample(at: 3, used: 50, limit: 100), "normal notify:limit_readable"),
            (.sample(at: 4, used: 50, limit: 100), "normal"),
        ]),
        PolicyScenario(name: "an unknown limit keeps a spilling container spilling and resets the count", steps: [
            (.sample(at: 0, used: 95, limit: 100), "spilling raiseFlag:threshold_reached"),
            (.sample(at: 40, used: 50, limit: 100), "spilling"),
            (.sample(at: 41, used: 50, limit: 100), "spilling"),
            (.sample(at: 42, used: 50, limit: nil), "spilling notify:limit_unreadable"),
            (.sample(at: 43, used: 50, limit: 100), "spilling notify:limit_readable"),
            (.sample(at: 44, used: 50, limit: 100), "spilling"),
            (.sample(at: 45, used: 50, limit: 100), "draining startDrain:usage_below_watermark"),
        ]),
        PolicyScenario(name: "spilled files raise the flag even with a zero limit", steps: [
            (.sample(at: 1, used: 5, limit: 0, spilled: 3), "spilling notify:limit_zero raiseFlag:spill_area_not_empty"),
        ]),
        PolicyScenario(name: "an empty spill area ends a drain even with an unknown limit", initial: .draining, steps: [
            (.sample(at: 1, used: 5, limit: nil, spilled: 0), "normal notify:limit_unreadable clearFlag:spill_area_empty"),
        ]),
        PolicyScenario(name: "a grow gives an unknown limit back and drains", initial: .spilling, steps: [
            (.sample(at: 1, used: 95, limit: 0, spilled: 10), "spilling notify:limit_zero"),
            (.grow(at: 2, limit: 400), "draining notify:limit_readable startDrain:quota_grown"),
        ]),
        // configurations at the edges
        PolicyScenario(
            name: "equal thresholds: no gap, but no flapping faster than the dwell",
            configuration: UsagePolicyConfiguration(spillThreshold: 0.9, drainBelow: 0.9, drainConfirmSamples: 1, drainMinimumDwell: .seconds(10)),
            steps: [
                (.sample(at: 0, used: 90, limit: 100), "spilling raiseFlag:threshold_reached"),
                (.sample(at: 5, used: 89, limit: 100), "spilling"),
                (.sample(at: 10, used: 89, limit: 100), "draining startDrain:usage_below_watermark"),
                (.sample(at: 11, used: 90, limit: 100, spilled: 1), "spilling stopDrain:threshold_reached"),
                (.sample(at: 12, used: 89, limit: 100), "spilling"),
                (.sample(at: 21, used: 89, limit: 100), "draining startDrain:usage_below_watermark"),
            ]),
        PolicyScenario(
            name: "drain_below = 0 turns the automatic drain off",
            configuration: UsagePolicyConfiguration(drainBelow: 0, drainConfirmSamples: 1, drainMinimumDwell: .zero),
            steps: [
                (.sample(at: 0, used: 95, limit: 100), "spilling raiseFlag:threshold_reached"),
                (.sample(at: 100, used: 0, limit: 100), "spilling"),
                (.grow(at: 101, limit: 200), "draining startDrain:quota_grown"),
            ]),
        PolicyScenario(name: "no hysteresis: one low sample drains", configuration: quick, steps: [
            (.sample(at: 0, used: 95, limit: 100), "spilling raiseFlag:threshold_reached"),
            (.sample(at: 0, used: 79, limit: 100), "draining startDrain:usage_below_watermark"),
            (.completed(at: 0), "normal clearFlag:spill_area_empty"),
        ]),
        PolicyScenario(
            name: "a confirm count of 0 behaves as 1",
            configuration: UsagePolicyConfiguration(drainConfirmSamples: 0, drainMinimumDwell: .zero),
            steps: [
                (.sample(at: 0, used: 95, limit: 100), "spilling raiseFlag:threshold_reached"),
                (.sample(at: 0, used: 95, limit: 100), "spilling"),
                (.sample(at: 1, used: 50, limit: 100), "draining startDrain:usage_below_watermark"),
            ]),
        PolicyScenario(name: "a clock that goes back restarts the dwell", steps: [
            (.sample(at: 100, used: 95, limit: 100), "spilling raiseFlag:threshold_reached"),
            (.sample(at: 50, used: 50, limit: 100), "spilling"),
            (.sample(at: 60, used: 50, limit: 100), "spilling"),
            (.sample(at: 70, used: 50, limit: 100), "spilling"),
            (.sample(at: 79, used: 50, limit: 100), "spilling"),
            (.sample(at: 80, used: 50, limit: 100), "draining startDrain:usage_below_watermark"),
        ]),
        PolicyScenario(name: "a machine restored as spilling drains after its dwell", initial: .spilling, since: 1000, steps: [
            (.sample(at: 1010, used: 50, limit: 100), "spilling"),
            (.sample(at: 1020, used: 50, limit: 100), "spilling"),
            (.sample(at: 1030, used: 50, limit: 100), "draining startDrain:usage_below_watermark"),
        ]),
    ]

    @Test(arguments: scenarios)
    func followsTheScenario(scenario: PolicyScenario) {
        var machine = UsagePolicyStateMachine(
            containerID: "c1", configuration: scenario.configuration, state: scenario.initial, since: .seconds(scenario.since))
        for (index, (step, expected)) in scenario.steps.enumerated() {
            let actions = step.apply(to: &machine)
            let observed = ([machine.state.description] + actions.map { "\($0.name):\($0.event.reason)" }).joined(separator: " ")
            #expect(observed == expected, "step \(index + 1): \(step)")
        }
    }

    /// Every (from, to) pair the machine may produce is covered by a scenario above.
    @Test func everyTransitionIsCovered() {
        var seen = Set<String>()
        for scenario in Self.scenarios {
            var machine = UsagePolicyStateMachine(
                containerID: "c1", configuration: scenario.configuration, state: scenario.initial, since: .seconds(scenario.since))
            for (step, _) in scenario.steps {
                for action in step.apply(to: &machine) where action.event.kind == .stateChange {
                    seen.insert("\(action.event.from)->\(action.event.to):\(action.event.reason)")
                }
            }
        }
        #expect(seen == [
            "normal->spilling:threshold_reached", "normal->spilling:spill_area_not_empty",
            "spilling->draining:usage_below_watermark", "spilling->draining:quota_grown",
            "draining->spilling:threshold_reached", "draining->normal:spill_area_empty",
        ])
    }

    @Test func aStateChangeEventCarriesWhatTheOperatorNeeds() throws {
        var machine = UsagePolicyStateMachine(containerID: "web-1", since: .seconds(0))
        let actions = machine.sampled(UsageSample(usedBytes: 930, limitBytes: 1000, spilledBytes: 7, time: .seconds(1_763_768_645)))
        let event = try #require(actions.first?.event)
        #expect(actions.count == 1)
        #expect(event == PolicyEvent(
            kind: .stateChange, containerID: "web-1", from: .normal, to: .spilling, reason: .thresholdReached,
            usageRate: 0.93, usedBytes: 930, limitBytes: 1000, spilledBytes: 7, time: .seconds(1_763_768_645)))
        #expect(event.description == "2025-11-21T23:44:05Z web-1 normal -> spilling (threshold_reached, 93.0 % of 1000 B, 7 B spilled)")
        #expect(machine.enteredAt == .seconds(1_763_768_645))
    }

    @Test func aLimitEventKeepsTheStateAndSaysTheLimitIsUnknown() throws {
        var machine = UsagePolicyStateMachine(containerID: "db", state: .spilling, since: .seconds(0))
        let event = try #require(machine.sampled(UsageSample(usedBytes: 2048, limitBytes: nil, spilledBytes: 0, time: .seconds(5))).first?.event)
        #expect(event.kind == .limitUnknown)
        #expect(event.from == .spilling && event.to == .spilling)
        #expect(event.usageRate == nil && event.limitBytes == nil)
        #expect(event.description == "1970-01-01T00:00:05Z db spilling, limit_unknown (limit_unreadable, 2 KiB used, limit unknown, 0 B spilled)")
    }

    @Test func aGrowEventUsesTheNewLimitAndTheLastSample() throws {
        var machine = UsagePolicyStateMachine(containerID: "web-1", since: .seconds(0))
        _ = machine.sampled(UsageSample(usedBytes: 95, limitBytes: 100, spilledBytes: 30, time: .seconds(1)))
        let event = try #require(machine.quotaGrown(toLimitBytes: 250, at: .seconds(2)).first?.event)
        #expect(event.limitBytes == 250 && event.usedBytes == 95 && event.spilledBytes == 30)
        #expect(event.usageRate == 0.38)
        #expect(event.time == .seconds(2))
    }

    @Test func drainProgressIsRemembered() {
        var machine = UsagePolicyStateMachine(containerID: "c", state: .draining, since: .seconds(0))
        _ = machine.sampled(UsageSample(usedBytes: 50, limitBytes: 100, spilledBytes: 40, time: .seconds(1)))
        #expect(machine.spilledBytes == 40)
        #expect(machine.drainProgressed(remainingBytes: 12, at: .seconds(2)).isEmpty)
        #expect(machine.spilledBytes == 12)
        #expect(machine.drainCompleted(at: .seconds(3)).first?.event.spilledBytes == 0)
    }

    @Test func aReloadedConfigurationTakesEffectWithTheNextSample() {
        var machine = UsagePolicyStateMachine(containerID: "c", since: .seconds(0))
        #expect(machine.sampled(UsageSample(usedBytes: 85, limitBytes: 100, time: .seconds(1))).isEmpty)
        machine.configuration.spillThreshold = 0.85
        #expect(machine.sampled(UsageSample(usedBytes: 85, limitBytes: 100, time: .seconds(2))).map(\.name) == ["raiseFlag"])
    }

    static let minimumLimits: [(threshold: Double, used: UInt64, spilled: UInt64, limit: UInt64?)] = [
        (0.9, 90, 0, 101),  // 90/100 is at the threshold, 90/101 below
        (0.9, 80, 10, 101),
        (0.9, 0, 0, 1),
        (0.5, 10, 10, 41),
        (1.0, 100, 0, 101),
        (0.9, 966_367_641, 107_374_183, 1_193_046_472),
        (0, 10, 0, nil),
    ]

    @Test(arguments: minimumLimits)
    func minimumLimitToDrain(threshold: Double, used: UInt64, spilled: UInt64, limit: UInt64?) throws {
        let configuration = UsagePolicyConfiguration(spillThreshold: threshold)
        #expect(configuration.minimumLimitToDrain(usedBytes: used, spilledBytes: spilled) == limit)
        if let limit {
            // That limit does not spill after the drain; one byte less would.
            let total = Double(used) + Double(spilled)
            #expect(total / Double(limit) < threshold)
            if limit > 1 { #expect(total / Double(limit - 1) >= threshold) }
        }
    }

    @Test func defaultsAreTheDocumentedOnes() {
        let configuration = UsagePolicyConfiguration()
        #expect(configuration.spillThreshold == 0.90)
        #expect(configuration.drainBelow == 0.80)
        #expect(configuration.drainConfirmSamples == 3)
        #expect(configuration.drainMinimumDwell == .seconds(30))
    }
}
