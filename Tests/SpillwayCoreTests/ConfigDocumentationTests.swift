import Foundation
import SpillwayCore
import Testing

/// docs/CONFIG.md and tools/spillway.example.toml say what the code does.
@Suite("Configuration reference and example")
struct ConfigDocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func read(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    @Test(arguments: ConfigurationKey.allCases)
    func referenceDocumentsTheKeyAndItsDefault(key: ConfigurationKey) throws {
        let reference = try Self.read("docs/CONFIG.md")
        let rows = reference.split(separator: "\n").filter { $0.hasPrefix("| `\(key.rawValue)` |") }
        try #require(rows.count == 1, "docs/CONFIG.md has \(rows.count) table rows for \(key)")
        let columns = rows[0].replacingOccurrences(of: "`", with: "").split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(columns.count == 4)
        #expect(columns[2] == key.defaultValue, "default of \(key)")
    }

    @Test func referenceListsNoOtherKeys() throws {
        let reference = try Self.read("docs/CONFIG.md")
        let documented = reference.split(separator: "\n").filter { $0.hasPrefix("| `") }.map {
            $0.dropFirst(3).prefix { $0 != "`" }
        }
        #expect(documented.map(String.init) == ConfigurationKey.allCases.map(\.rawValue))
    }

    @Test func exampleFileSetsEveryKeyToItsDefault() throws {
        let example = try Self.read("tools/spillway.example.toml")
        let configuration = try DaemonConfiguration(toml: example)
        var expected = DaemonConfiguration()
        expected.subDisk = "/mnt/spillway-sub"
        #expect(configuration == expected)
        for key in ConfigurationKey.allCases {
            #expect(example.contains("\n\(key.rawValue) = "), "the example does not show \(key)")
        }
    }

    @Test func referenceExampleIsValid() throws {
        let reference = try Self.read("docs/CONFIG.md")
        let block = try #require(reference.components(separatedBy: "```toml\n").last?.components(separatedBy: "```").first)
        let configuration = try DaemonConfiguration(toml: block)
        #expect(configuration.subDisk == "/mnt/nvme")
        #expect(configuration.policy.spillThreshold == 0.85 && configuration.policy.drainBelow == 0.70)
        #expect(configuration.metricsListen == ListenAddress(host: "127.0.0.1", port: 9477))
    }
}
