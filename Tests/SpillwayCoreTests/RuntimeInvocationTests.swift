import Testing
@testable import SpillwayCore

@Suite struct RuntimeInvocationTests {
    static let id = String(repeating: "ab", count: 32)

    @Test func containerdCreate() throws {
        let argv = ["--root", "/run/containerd/runc/moby", "--log", "/b/log.json", "--log-format", "json",
                    "--systemd-cgroup", "create", "--bundle", "/b", "--pid-file", "/b/init.pid", Self.id]
        let parsed = try RuntimeInvocation.parse(argv)
        #expect(parsed.command == "create")
        #expect(parsed.bundle == "/b")
        #expect(parsed.containerID == Self.id)
        #expect(parsed.logPath == "/b/log.json")
        #expect(parsed.logFormat == "json")
        #expect(parsed.runcArguments == argv)
        #expect(parsed.createsContainer)
    }

    @Test(arguments: [
        (["create", "-b", "/x", "c1"], "/x", "c1"),
        (["create", "--bundle=/x", "--console-socket", "/s", "c1"], "/x", "c1"),
        (["-debug", "create", "--no-pivot", "c1", "--bundle", "/x"], "/x", "c1"),
        (["run", "-d", "--bundle", "/x", "c1"], "/x", "c1"),
        (["create", "c1"], nil, "c1"),
        (["create", "--", "c1"], nil, "c1"),
    ] as [([String], String?, String)])
    func bundleAndID(argv: [String], bundle: String?, id: String) throws {
        let parsed = try RuntimeInvocation.parse(argv)
        #expect(parsed.bundle == bundle)
        #expect(parsed.containerID == id)
        #expect(parsed.runcArguments == argv)
    }

    @Test(arguments: [
        (["delete", "c1"], true),
        (["--root", "/r", "delete", "--force", "c1"], true),
        (["delete"], false),
        (["kill", "c1", "KILL"], false),
    ] as [([String], Bool)])
    func deleteNamesItsContainer(argv: [String], deletes: Bool) throws {
        let parsed = try RuntimeInvocation.parse(argv)
        #expect(parsed.deletesContainer == deletes)
        #expect(parsed.createsContainer == false)
        #expect(parsed.containerID == (deletes ? "c1" : nil))
        #expect(parsed.runcArguments == argv)
    }

    @Test func spillwayFlagsAreRemoved() throws {
        let parsed = try RuntimeInvocation.parse(["--spillway-socket=/run/s.sock", "--spillway-if-unreachable", "refuse",
                                                  "--root", "/r", "delete", "--force", "c1"])
        #expect(parsed.options == RuntimeOptions(socket: "/run/s.sock", ifUnreachable: .refuse))
        #expect(parsed.runcArguments == ["--root", "/r", "delete", "--force", "c1"])
        #expect(parsed.command == "delete")
        #expect(!parsed.createsContainer)
    }

    /// What dockerd's containerd-shim sends for `docker exec`, and runc's inline form.
    @Test func execWithAProcessFile() throws {
        let argv = ["--root", "/run/docker/runtime-runc/moby", "--log", "/b/log.json", "--log-format", "json", "exec",
                    "--process", "/tmp/runc-process123", "--detach", "--pid-file", "/b/exec.pid", "-e", "X=1", Self.id]
        let parsed = try RuntimeInvocation.parse(argv)
        #expect(parsed.command == "exec")
        #expect(parsed.containerID == Self.id)
        #expect(parsed.processPath == "/tmp/runc-process123")
        #expect(parsed.stateRoot == "/run/docker/runtime-runc/moby")
        #expect(parsed.runcArguments == argv)
        #expect(parsed.execsProcess && !parsed.createsContainer)
        let inline = try RuntimeInvocation.parse(["exec", "--cwd", "/", Self.id, "ls", "--process", "x"])
        #expect(inline.containerID == Self.id && inline.processPath == nil && !inline.execsProcess)
    }

    @Test func otherCommandsPassThrough() throws {
        for argv in [["--version"], ["state", "c1"], ["--root", "/r", "kill", "c1", "9"], ["--unknown-flag", "x", "create", "c"]] {
            let parsed = try RuntimeInvocation.parse(argv)
            #expect(parsed.runcArguments == argv)
            #expect(!parsed.createsContainer)
        }
    }

    @Test(arguments: [
        (["--spillway-socket=relative", "state", "c"], "not an absolute path"),
        (["--spillway-if-unreachable=maybe", "state", "c"], "use start"),
        (["--spillway-colour=red", "state", "c"], "unknown option --spillway-colour"),
        (["--spillway-runc"], "needs a value"),
    ] as [([String], String)])
    func badOptions(argv: [String], message: String) {
        #expect { try RuntimeInvocation.parse(argv) } throws: { error in
            (error as? InputError)?.message.contains(message) == true
        }
    }

    @Test func engineIDs() throws {
        #expect(try EngineContainerID.spillwayID(for: Self.id) == "abababababab")
        #expect(try EngineContainerID.spillwayID(for: "web1") == "web1")
        #expect(throws: InputError.self) { try EngineContainerID.spillwayID(for: "a/b") }
        #expect(!EngineContainerID.isFullHexID(String(repeating: "A", count: 64)))
    }
}
