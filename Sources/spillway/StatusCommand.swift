import ArgumentParser
import Foundation
import SpillwayClient
import SpillwayCore

/// `spillway status [--json]`: every managed container's usage, state and spill area.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show every managed container: quota, usage, state, spilled bytes, partition."
    )

    @OptionGroup var options: ClientOptions

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let report = try await options.client.status()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(StatusTable(report: report, colour: isatty(1) != 0 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil).text)
        }
    }
}

/// The status table as an operator reads it; colour only on a terminal.
struct StatusTable {
    let report: StatusReport
    let colour: Bool

    static let headers = ["CONTAINER", "QUOTA", "USED", "%", "STATE", "SPILLED", "PARTITION", "MODE", "UNHELPED"]

    var rows: [[String]] {
        report.containers.map { c in
            [
                c.name == c.id || c.name.isEmpty ? c.id : c.name,
                c.limitBytes.map { ByteSize(bytes: $0).description } ?? "-",
                c.usedBytes.map { ByteSize(bytes: $0).description } ?? "-",
                c.usageRate.map { String(Int(($0 * 100).rounded())) } ?? "-",
                c.state.description,
                ByteSize(bytes: c.spilledBytes).description,
                c.partitionBytes.map { ByteSize(bytes: $0).description } ?? "shared",
                c.mode + (c.canSpill ? "" : " (cannot spill)") + (c.problem == nil ? "" : " (!)"),
                c.cannotHelp == 0 && c.askRefused == 0 ? "-" : "\(c.cannotHelp)" + (c.askRefused == 0 ? "" : " (\(c.askRefused) refused)"),
            ]
        }
    }

    var text: String {
        let all = [Self.headers] + rows
        let widths = Self.headers.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        var lines: [String] = []
        for (index, row) in all.enumerated() {
            var cells: [String] = []
            for (column, cell) in row.enumerated() {
                let padded = cell + String(repeating: " ", count: widths[column] - cell.count)
                cells.append(paint(padded, row: index == 0 ? nil : report.containers[index - 1], column: column))
            }
            lines.append(cells.joined(separator: "  ").trimmingTrailingSpaces())
        }
        if report.containers.isEmpty { lines.append("(no managed containers)") }
        var footer = "sub disk \(report.subDisk)"
        if let capacity = report.subDiskCapacityBytes, let free = report.subDiskFreeBytes {
            footer += ": \(ByteSize(bytes: free)) free of \(ByteSize(bytes: capacity))"
        }
        if let backend = report.partitionBackend, let enforcement = report.partitionEnforcement {
            footer += "; partitions: \(backend), caps enforced by \(enforcement == .kernel ? "the kernel" : "Spillway's library")"
        }
        lines.append(footer)
        if let notice = report.partitionNotice { lines.append("warning: \(notice)") }
        for c in report.containers {
            if let problem = c.problem { lines.append("\(c.name.isEmpty ? c.id : c.name): \(problem)") }
            // What a drain that cannot finish is left with.
            if c.state == .draining, let drain = c.drain, drain.phase == .waiting {
                let shown = c.name.isEmpty ? c.id : c.name
                lines.append("\(shown): draining, \(drain.summary)")
                for file in drain.held ?? [] {
                    lines.append("\(shown):   \(file.refused ? "refused" : "waiting for") \(file.line)")
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    private func paint(_ text: String, row: ContainerStatus?, column: Int) -> String {
        guard colour else { return text }
        guard let row else { return "\u{1B}[1m\(text)\u{1B}[0m" }
        guard column == 4 else { return text }
        switch row.state {
        case .normal: return "\u{1B}[32m\(text)\u{1B}[0m"
        case .spilling: return "\u{1B}[33m\(text)\u{1B}[0m"
        case .draining: return "\u{1B}[36m\(text)\u{1B}[0m"
        }
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var copy = self
        while copy.last == " " { copy.removeLast() }
        return copy
    }
}
