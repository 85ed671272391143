import Foundation
import Testing
@testable import SpillwayCore

@Suite struct DockerDiscoveryTests {
    static let id = "7021db8d05883ec5735de88782542d526bf5b82d7f231d3431c73fbfccbd4498"

    /// Trimmed from a real `GET /containers/{id}/json` of dockerd 20.10 with the btrfs driver.
    static let inspect = """
        {"Id":"\(id)","Created":"2026-11-22T02:36:40Z","Path":"/bin/sh","Name":"/c1",
         "State":{"Status":"running","Running":true,"Pid":42},
         "HostConfig":{"StorageOpt":{"size":"64M"},"Runtime":"spillway","NetworkMode":"none"},
         "GraphDriver":{"Data":null,"Name":"btrfs"},
         "Config":{"Labels":{"app":"web"},"Image":"spillway-probe:1"}}
        """

    @Test func decodesInspect() throws {
        let c = try JSONDecoder().decode(DockerContainer.self, from: Data(Self.inspect.utf8))
        #expect(c == DockerContainer(id: Self.id, name: "c1", running: true, status: "running", labels: ["app": "web"],
                                     storageSize: "64M", runtime: "spillway", graphDriver: "btrfs"))
    }

    @Test func decodesEventsOfOldAndNewEngines() throws {
        let line = #"{"status":"start","id":"\#(Self.id)","from":"x","Type":"container","Action":"start","Actor":{"ID":"\#(Self.id)","Attributes":{"name":"c1"}},"scope":"local","time":1,"timeNano":1000}"#
        let event = try JSONDecoder().decode(DockerEvent.self, from: Data(line.utf8))
        #expect(event == DockerEvent(type: "container", action: "start", actorID: Self.id, attributes: ["name": "c1"], timeNano: 1000))
        #expect(DockerDiscovery.action(for: event) == .sync(Self.id))
        #expect(DockerDiscovery.action(for: DockerEvent(type: "container", action: "destroy", actorID: Self.id)) == .forget(Self.id))
        #expect(DockerDiscovery.action(for: DockerEvent(type: "container", action: "die", actorID: Self.id)) == .none)
        #expect(DockerDiscovery.action(for: DockerEvent(type: "image", action: "destroy", actorID: "sha256:1")) == .none)
        let info = try JSONDecoder().decode(DockerInfo.self, from: Data(#"{"DockerRootDir":"/d","Driver":"btrfs","x":1}"#.utf8))
        #expect(info == DockerInfo(dockerRootDir: "/d", driver: "btrfs"))
    }

    @Test func rootsByDriver() {
        let btrfs = DockerContainer(id: Self.id, name: "c1", running: true, graphDriver: "btrfs")
        #expect(DockerDiscovery.root(of: btrfs, dataRoot: "/d", mountID: "adfc39") == "/d/btrfs/subvolumes/adfc39")
        #expect(DockerDiscovery.root(of: btrfs, dataRoot: "/d", mountID: "../etc") == nil)
        #expect(DockerDiscovery.root(of: btrfs, dataRoot: "/d", mountID: nil) == nil)
        let overlay = DockerContainer(id: Self.id, name: "c1", running: true, graphDriver: "overlay2",
                                      graphDriverData: ["MergedDir": "/d/overlay2/abc/merged", "UpperDir": "/d/overlay2/abc/diff"])
        #expect(DockerDiscovery.root(of: overlay, dataRoot: "/d", mountID: nil) == "/d/overlay2/abc/merged")
        #expect(DockerDiscovery.mountIDPath(dataRoot: "/d", driver: "btrfs", containerID: "c") == "/d/image/btrfs/layerdb/mounts/c/mount-id")
    }

    @Test func decisions() {
        let c = DockerContainer(id: Self.id, name: "web-1", running: true, graphDriver: "btrfs")
        #expect(DockerDiscovery.decide(c, root: "/r") ==
                .manage(ContainerRegistration(id: "7021db8d0588", root: "/r", name: "web-1", mode: "monitor")))
        var off = c
        off.labels = ["spillway.enable": "false"]
        #expect(DockerDiscovery.decide(off, root: "/r") == .ignore("labelled spillway.enable=false"))
        off.labels = ["spillway.enable": "true"]
        #expect(DockerDiscovery.decide(off, root: "/r") != .ignore("labelled spillway.enable=true"))
        if case .ignore(let why) = DockerDiscovery.decide(c, root: nil) { #expect(why.contains("root filesystem")) } else { Issue.record("expected ignore") }
    }

    @Test func vanishedContainersAreThoseOfThisEngineOnly() {
        let known = [(id: "7021db8d0588", root: "/d/btrfs/subvolumes/a"), (id: "aaaaaaaaaaaa", root: "/d/btrfs/subvolumes/b"),
                     (id: "web1", root: "/srv/web1")]
        #expect(DockerDiscovery.vanished(known: known, engineIDs: [Self.id], dataRoot: "/d") == ["aaaaaaaaaaaa"])
    }
}
