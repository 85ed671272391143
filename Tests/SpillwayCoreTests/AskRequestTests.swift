import Foundation
import Testing
@testable import SpillwayCore

/// What a container may send on its ask socket, and what the runtime wrapper gives it.
@Suite struct AskRequestTests {
    @Test(arguments: ["tmp/a/f", "home/app/new/file", "f"])
    func plainRelativeNamesAreServed(_ path: String) throws {
        #expect(try AskRequest.parse(kind: AskRequest.parentsKind, containerID: "c1", path: path, reason: "", container: "c1")
                == .parents(components: path.split(separator: "/").map(String.init)))
    }

    @Test(arguments: ["", "/etc/passwd", "tmp/../../etc/x", "tmp//x", "./tmp/x", "tmp/x/", "..", "a/./b"])
    func anythingElseIsRefused(_ path: String) {
        #expect(throws: AskRefusal.self) {
            try AskRequest.parse(kind: AskRequest.parentsKind, containerID: "", path: path, reason: "", container: "c1")
        }
    }

    @Test func anotherContainersIdOrAnUnknownKindIsRefused() {
        #expect { try AskRequest.parse(kind: AskRequest.parentsKind, containerID: "c2", path: "tmp/x", reason: "", container: "c1") }
            throws: { ($0 as? AskRefusal)?.reason == .otherContainer }
        #expect { try AskRequest.parse(kind: 9, containerID: "c1", path: "tmp/x", reason: "", container: "c1") }
            throws: { ($0 as? AskRefusal)?.reason == .badMessage }
    }

    @Test func containerTextIsShownWithoutControlCharacters() {
        #expect(AskRequest.shown("a\nb\u{1B}[31mc\u{7F}") == "a?b?[31mc?")
        #expect(AskRequest.shown(String(repeating: "x", count: 500)).count == 200)
    }

    @Test func reportsAreCounted() throws {
        #expect(try AskRequest.parse(kind: AskRequest.cannotHelpKind, containerID: "c1", path: "/tmp/x", reason: "why", container: "c1")
                == .cannotHelp(path: "/tmp/x", reason: "why"))
    }

    /// Mode `preload` with an ask directory: mounted read-only, and SPILLWAY_ASK names the socket;
    /// mode `fuse` gets neither.
    @Test func theAskDirectoryIsMountedReadOnlyWithItsVariable() throws {
        let config = Data(#"{"root":{"path":"rootfs"},"process":{"args":["sh"],"env":["PATH=/bin"]}}"#.utf8)
        let injection = OCISpecInjection(libDir: "/l", launcher: "/l/e", slot: "/s", spill: "/p", ask: "/run/spillway/ask/c1")
        let out = try JSONDecoder().decode(JSONValue.self, from: try injection.apply(to: config))
        let mounts = out["mounts"]?.arrayValue ?? []
        let ask = try #require(mounts.first { $0["destination"] == .string("/.spillway/ask") })
        #expect(ask["source"] == .string("/run/spillway/ask/c1"))
        #expect(ask["options"]?.arrayValue?.contains(.string("ro")) == true)
        #expect(out["process"]?["env"]?.arrayValue?.contains(.string("SPILLWAY_ASK=/.spillway/ask/sock")) == true)
        var fuse = injection
        fuse.root = "/run/fuse/c1"
        let fuseOut = try JSONDecoder().decode(JSONValue.self, from: try fuse.apply(to: config))
        #expect(!(fuseOut["mounts"]?.arrayValue ?? []).contains { $0["destination"] == .string("/.spillway/ask") })
        #expect(!(fuseOut["process"]?["env"]?.arrayValue ?? []).contains { $0.stringValue?.hasPrefix("SPILLWAY_ASK=") == true })
    }
}
