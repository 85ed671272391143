import ArgumentParser
import Foundation
import SpillwayClient

/// `spillway plan [--json]`: how the sub disk is shared or divided, and why.
struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Show how the sub disk is divided among containers, and why."
    )

    @OptionGroup var options: ClientOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        let data = try await options.client.planJSON()
        if json {
            print(String(decoding: data, as: UTF8.self))
            return
        }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            print(String(decoding: data, as: UTF8.self))
            return
        }
        // The planner's reasons already name every container and its partition.
        if let lines = object["reasons"] as? [String] { lines.forEach { print($0) } }
    }
}
