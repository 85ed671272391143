import ArgumentParser
import Foundation

/// `spillway demo`: the newcomer's scenario, on loop devices with a private dockerd.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Show Spillway at work: a private dockerd, three containers writing past their quotas.",
        discussion: """
            As root, with tools/install-deps done. Makes a btrfs main disk and a btrfs sub disk on \
            loop devices, starts the spillway daemon and a private dockerd (its own socket, data \
            root and exec root; no bridge, no iptables; never the machine's own Docker), imports a \
            small image made of this host's programs, runs three containers with different \
            `--storage-opt size` quotas under `--runtime spillway` that write past them, and shows \
            the live status table as they cross the threshold and spill. Everything it made is \
            removed at the end, also on Ctrl-C or SIGTERM.
            """
    )

    @Option(help: "Where the preload libraries and the launcher are installed.")
    var libDir = "/usr/local/lib/spillway"

    @Option(help: "How long to wait for the containers to spill, in seconds.")
    var timeout: Double = 90

    @Option(help: "Keep the work directory's logs here after the demo (default: remove everything).")
    var keepLogs: String?

    func validate() throws {
        guard getuid() == 0 else {
            throw ValidationError("spillway demo must run as root: it mounts loop devices and starts dockerd")
        }
        for needed in ["spillway-entry", "libspillway.so"] where access(libDir + "/" + needed, R_OK) != 0 {
            throw ValidationError("--lib-dir \(libDir) has no \(needed); run tools/install (or give --lib-dir CShim/build)")
        }
        guard timeout >= 10, timeout <= 3600 else {
            throw ValidationError("--timeout \(timeout) is out of range; give 10 to 3600 seconds")
        }
    }

    func run() throws {
        let demo = try Demo(libDir: libDir, timeout: timeout, keepLogs: keepLogs)
        do {
            try demo.run()
        } catch {
            demo.cleanUp()
            throw error
        }
        demo.cleanUp()
    }
}
