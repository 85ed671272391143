import Foundation
import Testing
@testable import SpillwayCore

@Suite struct OCISpecInjectionTests {
    static let config = """
        {"ociVersion":"1.0.2","root":{"path":"rootfs","readonly":false},
         "process":{"args":["sh","-c","echo hi"],"env":["PATH=/bin","SPILLWAY_ROOT=/old"],"cwd":"/"},
         "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
                   {"destination":"/.spillway/old","type":"bind","source":"/x","options":["rbind"]}],
         "linux":{"seccomp":{"syscalls":[{"names":["personality"],"args":[{"index":0,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]},
                  "resources":{"memory":{"limit":-1}}},
         "annotations":{"io.kubernetes.cri.container-name":"web"}}
        """
    static let injection = OCISpecInjection(libDir: "/usr/local/lib/spillway", launcher: "/usr/local/lib/spillway/spillway-entry",
                                            slot: "/run/spillway/slots/c1.slot", spill: "/mnt/fast/c1")

    func decoded(_ data: Data) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: data) }

    @Test func injectsMountsLauncherAndEnvironment() throws {
        let out = try decoded(try Self.injection.apply(to: Data(Self.config.utf8)))
        #expect(out["process"]?["args"] == .array(["/.spillway/bin/spillway-entry", "sh", "-c", "echo hi"].map(JSONValue.string)))
        let env = out["process"]?["env"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(env == ["PATH=/bin", "SPILLWAY_SLOT=/.spillway/slot", "SPILLWAY_SPILL=/.spillway/spill",
                        "SPILLWAY_ROOT=/", "SPILLWAY_LIB_DIR=/.spillway/lib"])
        let mounts = out["mounts"]?.arrayValue ?? []
        #expect(mounts.compactMap { $0["destination"]?.stringValue } ==
                ["/proc", "/.spillway/lib", "/.spillway/bin/spillway-entry", "/.spillway/slot", "/.spillway/spill"])
        #expect(mounts[3]["source"] == .string("/run/spillway/slots/c1.slot"))
        #expect(mounts[3]["options"]?.arrayValue?.contains(.string("ro")) == true)
        #expect(mounts[4]["options"]?.arrayValue?.contains(.string("rw")) == true)
    }

    /// `docker exec`: the new process gets the launcher and the first process's `SPILLWAY_*`
    /// environment (also a FUSE-mode one without SPILLWAY_SPILL); an unmanaged container's is kept.
    @Test func execProcessesGetWhatTheFirstProcessGot() throws {
        let process = Data(#"{"args":["dd","of=/x"],"env":["PATH=/bin","SPILLWAY_SLOT=/forged"],"cwd":"/","user":{"uid":65534,"gid":65534}}"#.utf8)
        for injection in [Self.injection, OCISpecInjection(libDir: "/l", launcher: "/l/e", slot: "/s", spill: "/p", root: "/run/fuse/c1")] {
            let config = try injection.apply(to: Data(Self.config.utf8))
            let out = try decoded(try #require(try OCISpecInjection.execProcess(process, container: config)))
            #expect(out["args"] == .array(["/.spillway/bin/spillway-entry", "dd", "of=/x"].map(JSONValue.string)))
            let env = out["env"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(env == ["PATH=/bin"] + injection.environment.map { "\($0.0)=\($0.1)" })
            #expect(out["user"] == (try decoded(process))["user"])
            let twice = try #require(try OCISpecInjection.execProcess(try JSONEncoder().encode(out), container: config))
            #expect(try decoded(twice) == out)
        }
        #expect(try OCISpecInjection.execProcess(process, container: Data(Self.config.utf8)) == nil)
        #expect(throws: InputError.self) { try OCISpecInjection.execProcess(Data("{}".utf8), container: try Self.injection.apply(to: Data(Self.config.utf8))) }
    }

    @Test func keepsEverythingElseExactly() throws {
        let before = try decoded(Data(Self.config.utf8))
        let after = try decoded(try Self.injection.apply(to: Data(Self.config.utf8)))
        #expect(after["linux"] == before["linux"])
        #expect(after["linux"]?["seccomp"]?["syscalls"]?.arrayValue?.first?["args"]?.arrayValue?.first?["value"] == .uint(UInt64.max))
        #expect(after["root"] == before["root"])
        #expect(after["annotations"] == before["annotations"])
    }

    @Test func appliesOnce() throws {
        let once = try Self.injection.apply(to: Data(Self.config.utf8))
        let twice = try Self.injection.apply(to: once)
        #expect(try decoded(once) == decoded(twice))
    }

    /// Mode `fuse`: the union is the root, and the container gets no raw view of its spill area
    /// (no mount, no `SPILLWAY_SPILL`); everything else as in mode `preload`.
    @Test func fuseModeReplacesTheRootPathAndLeavesOutTheSpillArea() throws {
        var injection = Self.injection
        injection.root = "/run/spillway/fuse/c1"
        let out = try decoded(try injection.apply(to: Data(Self.config.utf8)))
        #expect(out["root"] == .object(["path": .string("/run/spillway/fuse/c1"), "readonly": .bool(false)]))
        let plain = try decoded(try Self.injection.apply(to: Data(Self.config.utf8)))
        #expect(out["process"]?["args"] == plain["process"]?["args"])
        let env = out["process"]?["env"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(env == ["PATH=/bin", "SPILLWAY_SLOT=/.spillway/slot", "SPILLWAY_ROOT=/", "SPILLWAY_LIB_DIR=/.spillway/lib"])
        let mounts = out["mounts"]?.arrayValue ?? []
        #expect(mounts.compactMap { $0["destination"]?.stringValue } == ["/proc", "/.spillway/lib", "/.spillway/bin/spillway-entry", "/.spillway/slot"])
        #expect(!mounts.contains { $0["source"] == .string("/mnt/fast/c1") })
        #expect(plain["root"]?["path"] == .string("rootfs"))
        #expect(try decoded(try injection.apply(to: try injection.apply(to: Data(Self.config.utf8)))) == out)
    }

    @Test func rootPath() throws {
        #expect(try OCISpecInjection.rootPath(of: Data(Self.config.utf8), bundle: "/run/b") == "/run/b/rootfs")
        #expect(try OCISpecInjection.rootPath(of: Data(#"{"root":{"path":"/var/lib/docker/btrfs/subvolumes/x"}}"#.utf8), bundle: "/b")
                == "/var/lib/docker/btrfs/subvolumes/x")
        #expect(OCISpecInjection.annotations(of: Data(Self.config.utf8))["io.kubernetes.cri.container-name"] == "web")
    }

    @Test(arguments: [
        ("not json", "not valid JSON"),
        ("[1]", "not a JSON object"),
        (#"{"root":{"path":"r"}}"#, "no 'process' object"),
        (#"{"process":{"args":[]}}"#, "no 'process.args'"),
    ])
    func badConfigs(text: String, message: String) {
        #expect { try Self.injection.apply(to: Data(text.utf8)) } throws: { error in
            (error as? InputError)?.message.contains(message) == true
        }
    }
}
