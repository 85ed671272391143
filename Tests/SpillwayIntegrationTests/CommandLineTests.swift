import Foundation
import SpillwayTestSupport
import Testing

/// `spillway` as an operator runs it.
@Suite("spillway command line")
struct CommandLineTests {
    let directory: String

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("cli-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func spillway(_ arguments: String...) throws -> CommandResult {
        try Command.run([Paths.spillway] + arguments)
    }

    @Test func helpListsTheSubcommands() throws {
        let help = try spillway("--help")
        #expect(help.status == 0)
        #expect(help.stdout.contains("slot"))
        #expect(help.stdout.contains("inspect"))
        let slotHelp = try spillway("slot", "--help")
        for verb in ["create", "set", "show"] { #expect(slotHelp.stdout.contains(verb)) }
    }

    @Test func createSetShowRoundTrip() throws {
        let slot = directory + "/slot"
        let created = try spillway("slot", "create", slot, "--state", "spilling", "--id", "db-7")
        #expect(created.status == 0, "\(created)")
        #expect(try spillway("slot", "set", slot, "--state", "draining").stdout.contains("spilling -> draining"))
        let shown = try spillway("slot", "show", slot)
        #expect(shown.stdout.contains("state       draining"))
        #expect(shown.stdout.contains("container   db-7"))
        let json = try spillway("slot", "show", slot, "--json")
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["state"] as? String == "draining")
        #expect(object?["container_id"] as? String == "db-7")
        #expect(object?["generation"] as? Int == 4)
    }

    /// Each failure is one line on stderr naming the input, with a non-zero exit, and changes nothing.
    @Test(arguments: [
        (["slot", "create", "SLOT", "--state", "overflowing"], "'overflowing' is not a state"),
        (["slot", "set", "EXISTING", "--state", "bogus"], "'bogus' is not a state"),
        (["slot", "create", "/proc/spillway-slot"], "cannot create slot file /proc/spillway-slot"),
        (["slot", "create", "DIR/missing/dir/slot"], "No such file or directory"),
        (["slot", "create", "EXISTING"], "already exists"),
        (["slot", "show", "/etc/passwd"], "is not a slot file"),
        (["slot", "set", "DIR/absent", "--state", "normal"], "create it with `spillway slot create`"),
        (["slot", "create", "SLOT", "--id", String(repeating: "x", count: 70)], "is 70 bytes long; use 1 to 63"),
    ])
    func badInputGetsAOneLineError(arguments: [String], message: String) throws {
        let existing = directory + "/existing"
        _ = try spillway("slot", "create", existing, "--state", "spilling")
        let before = try Data(contentsOf: URL(fileURLWithPath: existing))
        let argv = arguments.map {
            $0.replacingOccurrences(of: "EXISTING", with: existing)
                .replacingOccurrences(of: "SLOT", with: directory + "/new")
                .replacingOccurrences(of: "DIR", with: directory)
        }
        let result = try Command.run([Paths.spillway] + argv)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(result.stderr)")
        #expect(result.stderr.contains(message), "stderr: \(result.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: existing)) == before)
        #expect(!FileManager.default.fileExists(atPath: directory + "/new"))
    }
}
