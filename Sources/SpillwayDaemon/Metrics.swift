import Hummingbird
import Logging
import NIOCore
import SpillwayCore

/// Prometheus metrics on `metrics_listen` (loopback by default): `GET /metrics`.
enum Metrics {
    static func application(listen: ListenAddress, supervisor: Supervisor, logger: Logger) -> some ApplicationProtocol {
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            let text = exposition(try await supervisor.status())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(listen.host, port: Int(listen.port)), serverName: "spillway-metrics"),
            onServerRunning: { _ in logger.info("metrics listening", metadata: ["address": "\(listen)"]) },
            logger: logger)
    }

    /// The Prometheus text exposition of a status report.
    static func exposition(_ report: StatusReport) -> String {
        var out = ""
        func family(_ name: String, _ help: String, _ values: [(labels: String, value: String)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for (labels, value) in values { out += "\(name){\(labels)} \(value)\n" }
        }
        let cs = report.containers
        func label(_ c: ContainerStatus) -> String { "container=\"\(escape(c.name.isEmpty ? c.id : c.name))\",id=\"\(escape(c.id))\"" }
        family("spillway_usage_bytes", "Main-disk bytes the container uses.", cs.compactMap { c in c.usedBytes.map { (label(c), "\($0)") } })
        family("spillway_limit_bytes", "The container's main-disk quota in bytes.", cs.compactMap { c in c.limitBytes.map { (label(c), "\($0)") } })
        family("spillway_spilled_bytes", "Bytes in the container's spill area on the sub disk.", cs.map { (label($0), "\($0.spilledBytes)") })
        family("spillway_partition_bytes", "The container's sub-disk partition in bytes (absent while shared).",
               cs.compactMap { c in c.partitionBytes.map { (label(c), "\($0)") } })
        family("spillway_state", "1 for the container's current state.", cs.flatMap { c in
            SlotState.allCases.map { state in (label(c) + ",state=\"\(state)\"", c.state == state ? "1" : "0") }
        })
        family("spillway_cannot_help_total", "Times the container's preload library could not help (cannot_help events).",
               cs.map { (label($0), "\($0.cannotHelp)") })
        family("spillway_ask_refused_total", "Requests on the container's ask socket the supervisor refused (ask_refused events).",
               cs.map { (label($0), "\($0.askRefused)") })
        family("spillway_containers", "Managed containers.", [("", "\(cs.count)")])
        if let free = report.subDiskFreeBytes {
            family("spillway_sub_disk_free_bytes", "Free bytes on the sub disk.", [("", "\(free)")])
        }
        if let backend = report.partitionBackend, let enforcement = report.partitionEnforcement {
            family("spillway_partition_caps_kernel_enforced",
                   "1 when the kernel enforces the partitions' caps; 0 when Spillway's library does (a program making its own system calls can exceed them).",
                   [("backend=\"\(backend)\"", enforcement == .kernel ? "1" : "0")])
        }
        return out.replacingOccurrences(of: "{}", with: "")
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }
}
