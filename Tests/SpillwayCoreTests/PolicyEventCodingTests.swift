import Foundation
import SpillwayCore
import Testing

/// Events as JSON lines and webhook bodies: one flat object, snake_case keys, states by name.
@Suite("Policy events as JSON")
struct PolicyEventCodingTests {
    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static let spilled = PolicyEvent(
        kind: .stateChange, containerID: "web-1", from: .normal, to: .spilling, reason: .thresholdReached,
        usageRate: 0.93, usedBytes: 930, limitBytes: 1000, spilledBytes: 0,
        time: Timestamp(nanosecondsSinceEpoch: 1_763_768_645_250_000_000))

    static let unknown = PolicyEvent(
        kind: .limitUnknown, containerID: "db", from: .spilling, to: .spilling, reason: .limitUnreadable,
        usageRate: nil, usedBytes: 2048, limitBytes: nil, spilledBytes: 5,
        time: Timestamp(secondsSinceEpoch: 5))

    static let lines: [(PolicyEvent, String)] = [
        (spilled, #"{"container_id":"web-1","from":"normal","kind":"state_change","limit_bytes":1000,"reason":"threshold_reached","spilled_bytes":0,"time":"2025-11-21T23:44:05.250Z","to":"spilling","usage_rate":0.93,"used_bytes":930}"#),
        (unknown, #"{"container_id":"db","from":"spilling","kind":"limit_unknown","limit_bytes":null,"reason":"limit_unreadable","spilled_bytes":5,"time":"1970-01-01T00:00:05Z","to":"spilling","usage_rate":null,"used_bytes":2048}"#),
    ]

    @Test(arguments: lines)
    func encodesOneFlatLine(event: PolicyEvent, line: String) throws {
        #expect(try Self.json(event) == line)
        #expect(try JSONDecoder().decode(PolicyEvent.self, from: Data(line.utf8)) == event)
    }

    @Test func decodingRejectsAnUnknownState() {
        let line = #"{"container_id":"x","from":"full","kind":"state_change","limit_bytes":1,"reason":"threshold_reached","spilled_bytes":0,"time":"1970-01-01T00:00:05Z","to":"spilling","usage_rate":1,"used_bytes":1}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(PolicyEvent.self, from: Data(line.utf8)) }
    }

    @Test func reasonsAndKindsUseSnakeCase() {
        #expect(PolicyReason.allCases.map(\.rawValue) == [
            "threshold_reached", "spill_area_not_empty", "usage_below_watermark", "quota_grown", "spill_area_empty",
            "limit_zero", "limit_unreadable", "limit_readable",
        ])
        #expect(PolicyEventKind.allCases.map(\.rawValue) == ["state_change", "limit_unknown", "limit_known"])
    }

    @Test func samplesEncodeWithSnakeCase() throws {
        let sample = UsageSample(usedBytes: 1, limitBytes: 2, spilledBytes: 3, time: Timestamp(secondsSinceEpoch: 0))
        #expect(try Self.json(sample) == #"{"limit_bytes":2,"spilled_bytes":3,"time":"1970-01-01T00:00:00Z","used_bytes":1}"#)
    }
}
