import Foundation
import SpillwayCore
import SpillwayTestSupport
import Testing

/// What the slot tests do to a managed container's slot behind the daemon's back, and a
/// long-running shell (`TickShell`) whose preload library mapped the slot before: each tick it
/// creates one file, so the test sees where that process's writes land.
enum SlotTampering: String, CaseIterable, Sendable {
    case truncated, random, symlink

    /// The `reason` of the daemon's `slot_repaired` event for it.
    var reason: String {
        switch self {
        case .truncated: "truncated"
        case .random: "corrupt"
        case .symlink: "replaced"
        }
    }

    /// Does the library, while the slot is in this condition, behave as plain libc?
    var leavesTheLibraryInactive: Bool { self != .symlink }

    /// Does it to the slot at `slot`; a symlink points at `sentinel`.
    func apply(to slot: String, sentinel: String) throws {
        switch self {
        case .truncated: try Command.check(["truncate", "-s", "0", slot])
        case .random: try Command.check(["dd", "if=/dev/urandom", "of=" + slot, "bs=4096", "count=1", "conv=notrunc", "status=none"])
        case .symlink: try Command.check(["ln", "-sf", sentinel, slot])
        }
    }

    static func inode(_ path: String) throws -> UInt64 {
        try #require(try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? UInt64)
    }

    static func isRegularFile(_ path: String) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeRegular
    }

    /// `slot_repaired` events so far, as JSON lines.
    static func repairs(_ daemon: DaemonFixture) throws -> [String] {
        try daemon.spillway("events", "--json").stdout.split(separator: "\n").map(String.init).filter { $0.contains("\"kind\":\"slot_repaired\"") }
    }

    static func wait(seconds: Double = 30, until condition: () throws -> Bool) rethrows -> Bool {
        try waitUntil(seconds: seconds, every: 0.02, condition)
    }
}

/// The driver of a shell loop, in a container or on the host, that waits for a number on the
/// FIFO `ctl/cmd`, creates `DATA/f-N`, then `ctl/done-N`. Every step is a hooked call of one
/// process that lives through the whole test.
struct TickShell {
    let ctl: String

    /// The loop, for `sh -c`; `data` is the directory it writes into, `ctlInside` the control
    /// directory as the shell sees it.
    static func script(data: String, ctlInside: String) -> String {
        // A read that meets only the end of the FIFO (a writer that came and went) waits again.
        "while :; do read n < \(ctlInside)/cmd || continue; echo tick > \(data)/f-$n; echo ok > \(ctlInside)/done-$n; done"
    }

    /// Makes the control directory and its FIFO.
    static func prepare(_ ctl: String) throws -> TickShell {
        try FileManager.default.createDirectory(atPath: ctl, withIntermediateDirectories: true)
        try Command.check(["mkfifo", "-m", "0666", ctl + "/cmd"])
        try Command.check(["chmod", "0777", ctl])
        return TickShell(ctl: ctl)
    }

    /// Asks for tick `n` and waits until the shell has done it.
    func tick(_ n: Int, seconds: Double = 30) throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var sent = false
        while !sent && Date() < deadline {
            // Opens only while the shell has the FIFO open for reading (ENXIO otherwise).
            let fd = open(ctl + "/cmd", O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            if fd >= 0 {
                let line = Array("\(n)\n".utf8)
                sent = write(fd, line, line.count) == line.count
                close(fd)
            }
            if !sent { Thread.sleep(forTimeInterval: 0.01) }
        }
        guard sent else { return false }
        return SlotTampering.wait(seconds: max(1, deadline.timeIntervalSinceNow)) { FileManager.default.fileExists(atPath: ctl + "/done-\(n)") }
    }
}
