import Foundation
import SpillwayCore
import SpillwayTestSupport
import Testing

/// A spilling container under a real dockerd whose slot is damaged on the host: the daemon
/// stays up, repairs the slot in place (the container's bind mount keeps the same inode) with
/// an event, and the container's running program writes to the spill area again at its next
/// call.
@Suite("Containers under a real dockerd: slot repair", .serialized)
struct SlotRepairContainerTests {
    static let image = "spillway-test:tools"

    @Test func aDamagedSlotIsRepairedUnderARunningContainer() throws {
        try withContainerEnvironment { env in
            try env.dockerd.importImage(try ContainerImages.hostTools(), tag: Self.image)
            let shell = try TickShell.prepare(env.daemon.base + "/ctl")
            let script = "dd if=/dev/zero of=/tmp/fill bs=1M count=64 status=none; echo filled > /ctl/filled; "
                + TickShell.script(data: "/tmp", ctlInside: "/ctl")
            let started = try env.dockerd.docker(["run", "-d", "--name", "slotty", "--network", "none", "--runtime", "spillway",
                                                  "--storage-opt", "size=64M", "-v", shell.ctl + ":/ctl", Self.image, "sh", "-c", script])
            #expect(started.status == 0, "\(started)")
            #expect(SlotTampering.wait(seconds: 60) { FileManager.default.fileExists(atPath: shell.ctl + "/filled") },
                    "\((try? env.dockerd.docker("logs", "slotty")).map { $0.stdout + $0.stderr } ?? "")")
            #expect(try SlotTampering.wait { try ContainerTests.status(env.daemon).containers.contains { $0.name == "slotty" && $0.state == .spilling } })
            let managed = try #require(try ContainerTests.status(env.daemon).containers.first { $0.name == "slotty" })
            let slot = try #require(managed.slotPath), spill = try #require(managed.spillPath)
            let inode = try SlotTampering.inode(slot)
            func inSpill(_ name: String) -> Bool { FileManager.default.fileExists(atPath: spill + "/tmp/" + name) }
            func onMain(_ name: String) -> Bool { FileManager.default.fileExists(atPath: managed.root + "/tmp/" + name) }

            #expect(try shell.tick(0))
            #expect(inSpill("f-0") && !onMain("f-0"), "the library is active before")
            try Self.checkNonRootProcess(env)

            var n = 1
            for tampering in SlotTampering.allCases {
                try DaemonOwnFilesTests.damage(env.daemon, tampering, slot: slot) { () throws -> Void in
                    #expect(try shell.tick(n), "\(tampering)")
                    if tampering.leavesTheLibraryInactive {
                        #expect(onMain("f-\(n)") && !inSpill("f-\(n)"), "\(tampering): plain libc while the slot is damaged")
                    }
                }
                #expect(try shell.tick(n + 1), "\(tampering)")
                #expect(inSpill("f-\(n + 1)") && !onMain("f-\(n + 1)"), "\(tampering): active again at its next call")
                #expect(try SlotTampering.inode(slot) == inode, "\(tampering): the container's slot is the same inode")
                n += 2
            }
            try Self.checkNonRootProcess(env)
            let running = try env.dockerd.docker("inspect", "-f", "{{.State.Running}}", "slotty")
            #expect(running.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "true", "\(running)")
        }
    }

    /// A process of another user in the container reads the slot through its bind mount (the
    /// host's slot directory is 0700, the file 0644), and its preload library takes it.
    static func checkNonRootProcess(_ env: ContainerEnvironment) throws {
        // `docker exec` gets the image's environment, not the one the runtime wrapper gave the
        // container's process: pass it, and start through the launcher as the wrapper does.
        let environment = ContainerLayout.environment.flatMap { ["-e", "\($0.0)=\($0.1)"] } + ["-e", "SPILLWAY_DEBUG=1"]
        let probe = try env.dockerd.docker(["exec", "--user", "1000:1000"] + environment + ["slotty", ContainerLayout.launcher,
                                            "sh", "-c", "head -c 8 /.spillway/slot; echo"])
        #expect(probe.status == 0 && probe.stdout.hasPrefix("SPILLWAY"), "\(probe)")
        // Its preload library found the slot readable and valid (SPILLWAY_DEBUG says why not).
        #expect(!probe.stderr.contains("spillway: cannot help"), "\(probe)")
    }
}
