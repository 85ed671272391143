import SpillwayCore
import Testing

/// The one id rule and the `--root` rule, as `register` and every other way in apply them.
@Suite("Container id and root rules")
struct ContainerRulesTests {
    @Test(arguments: ["web1", "a", "C.b_c-d", "0abc", String(repeating: "x", count: 63), "3f2a9c1b7d4e"])
    func goodIDs(_ id: String) throws {
        try ContainerID.validate(id)
        try ContainerRegistration.validate(id: id)
        try SlotSnapshot.validate(containerID: id)
    }

    @Test(arguments: [
        ("-rf", "starts with '-'"), (".hidden", "starts with '.'"), ("a/b", "contains '/'"), ("", "is empty"),
        (String(repeating: "x", count: 64), "is 64 bytes long"), ("caf\u{e9}", "contains byte 0xc3"), ("a b", "contains ' '"),
        ("..", "starts with '.'"), ("_x", "starts with '_'"),
    ])
    func badIDsGetOneMessage(_ id: String, _ problem: String) {
        do {
            try ContainerID.validate(id)
            Issue.record("'\(id)' was accepted")
        } catch {
            #expect(error.message.contains(problem), "\(error.message)")
            #expect(error.message.hasSuffix(ContainerID.rule), "\(error.message)")
            #expect(error.message.contains("1 to 63"))
        }
        // Every way in says the same.
        #expect((try? ContainerRegistration.validate(id: id)) == nil)
        #expect((try? EngineContainerID.spillwayID(for: id)) == nil)
        if !id.isEmpty { #expect((try? SlotSnapshot.validate(containerID: id)) == nil) }
    }

    static let reserved = [
        ContainerRoot.Reserved(what: "sub disk", path: "/mnt/fast"),
        ContainerRoot.Reserved(what: "run directory", path: "/run/spillway"),
        ContainerRoot.Reserved(what: "state directory", path: "/var/lib/spillway"),
    ]
    static let managed = [(id: "web1", root: "/srv/web1")]

    @Test(arguments: [
        ("/", "the host's root directory"), ("/mnt/fast", "is the sub disk (/mnt/fast)"), ("/mnt/fast/web2", "is inside the sub disk"),
        ("/mnt", "contains the sub disk"), ("/run/spillway/slots", "inside the run directory"), ("/var", "contains the state directory"),
        ("/srv/web1", "is managed already, as container 'web1'"), ("/srv/web1/sub", "lies inside the root of managed container 'web1'"),
        ("/srv", "contains the root of managed container 'web1'"),
    ])
    func badRoots(_ root: String, _ problem: String) {
        do {
            try ContainerRoot.validate(given: root, canonical: root, reserved: Self.reserved, managed: Self.managed)
            Issue.record("\(root) was accepted")
        } catch {
            #expect(error.message.hasPrefix("--root '\(root)' "), "\(error.message)")
            #expect(error.message.contains(problem), "\(error.message)")
        }
    }

    @Test(arguments: ["/srv/web10", "/srv/web2", "/mnt/fastdisk/x", "/var2/x"])
    func goodRoots(_ root: String) throws {
        try ContainerRoot.validate(given: root, canonical: root, reserved: Self.reserved, managed: Self.managed)
    }
}
