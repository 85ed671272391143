import Foundation
import SpillwayCore
@testable import SpillwaySystem
import SpillwayTestSupport
import SystemPackage
import Testing

/// Runs `body` with a sub disk of `type` on a loop device, mounted nosuid,nodev.
func withSubDisk<T>(_ type: String, megabytes: Int = 512, quota: Bool = false,
                    _ body: (LoopFilesystem, SubDisk) throws -> T) throws -> T {
    try withLoopFilesystem(type, megabytes: megabytes, options: "nosuid,nodev", quota: quota) { fs in
        try body(fs, try SubDisk(path: FilePath(fs.mountPoint)))
    }
}

func sha256(_ path: String) throws -> String {
    String(try Command.check(["sha256sum", path]).prefix(64))
}

/// Mode and owner of `path`, not following a symlink.
func modeAndOwner(_ path: String) throws -> (mode: Int, uid: Int) {
    let attributes = try FileManager.default.attributesOfItem(atPath: path)
    return ((attributes[.posixPermissions] as? Int) ?? -1, (attributes[.ownerAccountID] as? Int) ?? -1)
}

/// The mountinfo entry at `path`, if something is mounted there.
func mountEntry(_ path: String) throws -> MountTable.Entry? {
    try MountTable.current().entry(mountPoint: path)
}

@Suite("Sub-disk partitions", .serialized)
struct PartitionTests {
    @Test func btrfsSubvolumePartitionsCreateResizeMeasureAndRemove() throws {
        try withSubDisk("btrfs", quota: true) { fs, subDisk in
            #expect(subDisk.defaultPartitionKind() == .btrfsSubvolume)
            let backend = try BtrfsSubvolumePartitions(subDisk: subDisk)
            let made = try backend.create(containerID: "web-1", limit: 32 << 20)
            let area = fs.mountPoint + "/web-1"
            #expect(made.path == FilePath(area) && made.limit == 32 << 20 && made.isReady)
            #expect(try modeAndOwner(area) == (0o700, 0))
            let id = try progsRootID(area)
            #expect(id > 5, "the area is a subvolume of its own")
            #expect(try btrfsQgroupShow(area)["0/\(id)"]?.maxReferenced == 32 << 20)

            try #require(try dd(area + "/kept", megabytes: 8).status == 0)
            let kept = try sha256(area + "/kept")
            try Command.check(["sync"])
            let usage = try backend.usage(containerID: "web-1")
            #expect(usage.used == (try btrfsQgroupShow(area)["0/\(id)"]?.referenced))
            #expect(usage.limit == 32 << 20)
            let full = try dd(area + "/fill", megabytes: 40)
            #expect(full.stderr.contains("Disk quota exceeded"), "dd said: \(full.stderr)")
            try Command.check(["rm", "-f", area + "/fill"])
            try Command.check(["sync"])

            let grown = try backend.resize(containerID: "web-1", limit: 64 << 20)
            #expect(grown.limit == 64 << 20)
            #expect(try backend.usage(containerID: "web-1").limit == 64 << 20)
            #expect(try dd(area + "/more", megabytes: 40).status == 0, "the grown area takes 40 MiB more")
            #expect(try sha256(area + "/kept") == kept)

            _ = try backend.create(containerID: "web-2", limit: nil)
            let listed = try backend.list()
            #expect(listed.map(\.containerID) == ["web-1", "web-2"])
            #expect(listed.map(\.limit) == [64 << 20, nil])

            try backend.remove(containerID: "web-1")
            #expect(!FileManager.default.fileExists(atPath: area))
            #expect(try backend.list().map(\.containerID) == ["web-2"])
            try backend.remove(containerID: "web-1")  // removing what is gone does nothing
        }
    }

    @Test func aBtrfsAreaHoldingANestedSubvolumeIsRemovedWhole() throws {
        try withSubDisk("btrfs", quota: true) { fs, subDisk in
            let backend = try BtrfsSubvolumePartitions(subDisk: subDisk)
            _ = try backend.create(containerID: "c", limit: 64 << 20)
            let area = fs.mountPoint + "/c"
            try Command.check(["btrfs", "subvolume", "create", area + "/nested"])
            try FileManager.default.createDirectory(atPath: area + "/nested/deep/er", withIntermediateDirectories: true)
            try #require(try dd(area + "/nested/deep/er/file", megabytes: 1).status == 0)
            try #require(try dd(area + "/top", megabytes: 1).status == 0)
            try backend.remove(containerID: "c")
            #expect(!FileManager.default.fileExists(atPath: area))
        }
    }

    @Test func btrfsPartitionsNeedQuotasAndSayHowToEnableThem() throws {
        try withSubDisk("btrfs", quota: false) { fs, subDisk in
            #expect(subDisk.defaultPartitionKind() == .loopImage, "auto never picks the directory backend while loop devices exist")
            do {
                _ = try BtrfsSubvolumePartitions(subDisk: subDisk)
                Issue.record("a btrfs backend without quotas")
            } catch let error as InvalidFileError {
                #expect(error.description.contains("btrfs quota enable \(fs.mountPoint)"), "\(error)")
            }
        }
    }

    /// Runs dd as `uid` (and its gid), or as root without CAP_SYS_RESOURCE when `uid` is 0.
    func ddAs(_ uid: Int, _ path: String, megabytes: Int) throws -> CommandResult {
        let who = uid == 0 ? ["--bounding-set=-sys_resource"] : ["--reuid", "\(uid)", "--regid", "\(uid)", "--clear-groups"]
        return try Command.run(["setpriv"] + who + ["dd", "if=/dev/zero", "of=\(path)", "bs=1M", "count=\(megabytes)", "status=none", "conv=fsync"])
    }

    /// (cap, statfs f_blocks, image blocks) → (pool in clusters, cap in force).
    static let poolCases: [(UInt64, UInt64, UInt64, UInt64, UInt64)] = [
        (64 << 20, 120_000, 131_072, 120_000 - 16_384, 64 << 20),
        // A cap of the whole image keeps ext4's own pool (2 % here) and reports what is left.
        (512 << 20, 120_000, 131_072, 2_621, (120_000 - 2_621) * 4096),
        // ext4's own pool is at most 4096 clusters.
        (1 << 40, 260_000_000, 268_435_456, 4_096, (260_000_000 - 4_096) * 4096),
        // A cap of nothing leaves nothing.
        (0, 120_000, 131_072, 120_000, 0),
    ]

    @Test(arguments: poolCases)
    func ext4PoolForACap(cap: UInt64, blocks: UInt64, imageBlocks: UInt64, pool: UInt64, inForce: UInt64) {
        let clusters = Ext4Reserve.clusters(forCap: cap, blocks: blocks, imageBlocks: imageBlocks)
        #expect(clusters == pool)
        #expect(Ext4Reserve.cap(clusters: clusters, blocks: blocks) == inForce)
        #expect(LoopImagePartitions.reported(inForce, asked: cap) == min(cap, inForce), "the asked size when it is held")
        #expect(LoopImagePartitions.reported(inForce, asked: nil) == inForce)
    }

    @Test func ext4LoopImagesShrinkAndGrowOnlineAndNoWriterPassesTheCap() throws {
        try withSubDisk("ext4", megabytes: 512) { fs, subDisk in
            let backend = LoopImagePartitions(subDisk: subDisk)
            let area = fs.mountPoint + "/app"
            let image = fs.mountPoint + "/.spillway/images/app.img"
            let made = try backend.create(containerID: "app", limit: 64 << 20)
            #expect(made.limit == 64 << 20)
            let attributes = try FileManager.default.attributesOfItem(atPath: image)
            #expect((attributes[.size] as? UInt64 ?? 0) >= subDisk.statistics.totalBytes, "the image is made as large as the sub disk")
            let allocated = try Command.check(["du", "-B1", image]).split(separator: "\t").first.flatMap { UInt64($0) } ?? .max
            #expect(allocated < 16 << 20, "the image stays sparse: \(allocated) bytes allocated")
            let polled = try backend.usageBackend(containerID: "app")
            #expect(try polled.read().limit == 64 << 20, "statfs's used + available is the cap")
            try Command.check(["install", "-d", "-o", "65534", "-g", "65534", area + "/nobody"])
            try Command.check(["chmod", "0711", area])  // lets uid 65534 reach its directory

            // Root without CAP_SYS_RESOURCE, and another uid, stop at the cap.
            let full = try ddAs(0, area + "/fill", megabytes: 80)
            #expect(full.stderr.contains("No space left on device"), "dd said: \(full.stderr)")
            let filled = try polled.read()
            #expect(filled.used <= 64 << 20 && filled.used > 60 << 20, "\(filled)")
            #expect(try ddAs(65534, area + "/nobody/more", megabytes: 4).stderr.contains("No space left on device"))

            // Never below what the area stores: refused, and nothing changes.
            #expect(throws: InputError.self) { try backend.resize(containerID: "app", limit: 32 << 20) }
            #expect(try polled.read().limit == 64 << 20)

            // Shrink online.
            try Command.check(["rm", "-f", area + "/fill", area + "/nobody/more"])
            try Command.check(["sync"])
            try #require(try dd(area + "/kept", megabytes: 12).status == 0)
            let kept = try sha256(area + "/kept")
            #expect(try backend.resize(containerID: "app", limit: 32 << 20).limit == 32 << 20)
            #expect(try polled.read().limit == 32 << 20)
            let capped = try ddAs(65534, area + "/nobody/fill", megabytes: 40)
            #expect(capped.stderr.contains("No space left on device"), "dd said: \(capped.stderr)")
            #expect(try ddAs(0, area + "/root-more", megabytes: 4).stderr.contains("No space left on device"))
            let shrunk = try polled.read()
            #expect(shrunk.used <= 32 << 20 && shrunk.used > 28 << 20, "\(shrunk)")

            // Grow online, no CAP_SYS_RESOURCE needed.
            #expect(try backend.resize(containerID: "app", limit: 128 << 20).limit == 128 << 20)
            #expect(try polled.read().limit == 128 << 20)
            #expect(try ddAs(65534, area + "/nobody/grown", megabytes: 60).status == 0)
            #expect(try sha256(area + "/kept") == kept)

            // The cap survives a host restart: it is set again when the image is mounted.
            try Command.check(["umount", area])
            for (device, backing) in LoopFilesystem.loopDevices() where backing == image {
                _ = try? Command.run(["losetup", "-d", device])
            }
            #expect(try backend.list().map(\.limit) == [128 << 20])
            _ = try backend.activate(containerID: "app")
            #expect(try backend.usage(containerID: "app").limit == 128 << 20)
            #expect(try ddAs(0, area + "/after", megabytes: 80).stderr.contains("No space left on device"))
            #expect(try backend.usage(containerID: "app").used <= 128 << 20)

            // A remount whose kept cap is below what the area stores still mounts, capped.
            try Command.check(["umount", area])
            for (device, backing) in LoopFilesystem.loopDevices() where backing == image {
                _ = try? Command.run(["losetup", "-d", device])
            }
            try Command.check(["python3", "-c", "import os, sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())",
                               image, LoopImagePartitions.capAttribute, "\(64 << 20)"])
            #expect(try backend.activate(containerID: "app").limit == 64 << 20)
            #expect(try ddAs(0, area + "/over", megabytes: 1).stderr.contains("No space left on device"))
            try backend.remove(containerID: "app")
            #expect(!LoopFilesystem.loopDevices().contains { $0.backing.hasPrefix(fs.mountPoint + "/") })
        }
    }

    @Test(arguments: [LoopImagePartitions.ImageFilesystem.btrfs, .ext4])
    func loopImagePartitionsGrowOnlineKeepDataAndSurviveARestart(filesystem: LoopImagePartitions.ImageFilesystem) throws {
        try withSubDisk("ext4", megabytes: 512) { fs, subDisk in
            let backend = LoopImagePartitions(subDisk: subDisk, imageFilesystem: filesystem)
            let area = fs.mountPoint + "/app"
            let image = fs.mountPoint + "/.spillway/images/app.img"
            let made = try backend.create(containerID: "app", limit: 32 << 20)
            #expect(made.limit == 32 << 20 && made.isReady)
            let entry = try #require(try mountEntry(area))
            #expect(entry.filesystemType == filesystem.rawValue)
            #expect(entry.mountOptions.contains("nosuid") && entry.mountOptions.contains("nodev"))
            #expect(try modeAndOwner(area) == (0o700, 0))
            #expect(try modeAndOwner(image).mode == 0o600)
            #expect(!FileManager.default.fileExists(atPath: area + "/lost+found"))
            #expect(LoopFilesystem.loopDevices().contains { $0.backing == image })

            let full = try dd(area + "/fill", megabytes: 40)
            #expect(full.stderr.contains("No space left on device"), "dd said: \(full.stderr)")
            try Command.check(["rm", "-f", area + "/fill"])
            try Command.check(["sync"])
            try #require(try dd(area + "/kept", megabytes: 12).status == 0)
            let kept = try sha256(area + "/kept")
            let polled = try backend.usageBackend(containerID: "app")
            try Command.check(["sync"])  // btrfs counts space in statfs once its transaction commits
            let before = try polled.read()
            #expect(before.used >= 12 << 20)
            #expect(try #require(before.limit) <= 32 << 20 && before.limit! > 24 << 20, "\(before)")

            // btrfs resizes only to 256 MiB or more; ext4 moves its cap inside a sub-disk-sized image.
            let target: UInt64 = filesystem == .btrfs ? 320 << 20 : 96 << 20
            let grown = try backend.resize(containerID: "app", limit: target)
            #expect(grown.limit == target)
            let after = try polled.read()
            #expect(try #require(after.limit) > target - (16 << 20), "the filesystem grew online: \(after)")
            #expect(try sha256(area + "/kept") == kept)
            #expect(try dd(area + "/more", megabytes: 40).status == 0)
            if filesystem == .btrfs {
                #expect(throws: SystemError.self) { try backend.resize(containerID: "app", limit: target - (32 << 20)) }
            }
            #expect(try backend.resize(containerID: "app", limit: target).limit == target, "resizing to the same size does nothing")
            let size = try #require(try backend.list().first?.limit)

            // A host restart: the mount and the loop device are gone, the image stays.
            try Command.check(["umount", area])
            for (device, backing) in LoopFilesystem.loopDevices() where backing == image {
                _ = try? Command.run(["losetup", "-d", device])
            }
            #expect(throws: (any Error).self) { try polled.read() }
            #expect(try backend.list() == [Partition(containerID: "app", kind: .loopImage, path: FilePath(area), limit: size, isReady: false)])
            let again = try backend.activate(containerID: "app")
            #expect(again.isReady)
            #expect(try sha256(area + "/kept") == kept)
            #expect(try backend.list().map(\.isReady) == [true])

            // The daemon may still hold a usage backend: it must not keep the mount busy.
            let held = try backend.usageBackend(containerID: "app")
            try backend.remove(containerID: "app")
            #expect(try mountEntry(area) == nil)
            #expect(!LoopFilesystem.loopDevices().contains { $0.backing.hasPrefix(fs.mountPoint + "/") })
            #expect(!FileManager.default.fileExists(atPath: image))
            #expect(!FileManager.default.fileExists(atPath: area))
            #expect(try backend.list().isEmpty)
            #expect(throws: (any Error).self) { try held.read() }
        }
    }

    @Test func loopImagesWorkOnABtrfsSubDiskToo() throws {
        try withSubDisk("btrfs", megabytes: 512) { fs, subDisk in
            let backend = LoopImagePartitions(subDisk: subDisk)
            _ = try backend.create(containerID: "b1", limit: 24 << 20)
            #expect(try mountEntry(fs.mountPoint + "/b1")?.filesystemType == "ext4")
            #expect(try dd(fs.mountPoint + "/b1/x", megabytes: 4).status == 0)
            try backend.remove(containerID: "b1")
            #expect(try mountEntry(fs.mountPoint + "/b1") == nil)
            #expect(!LoopFilesystem.loopDevices().contains { $0.backing.hasPrefix(fs.mountPoint + "/") })
        }
    }

    @Test func directoryPartitionsCountWhatTheyHoldAndRemoveOnlyTheirOwn() throws {
        try withSubDisk("ext4", megabytes: 256) { fs, subDisk in
            let backend = DirectoryPartitions(subDisk: subDisk)
            #expect(!backend.kernelEnforcesLimit && backend.fullErrno == .noSpace)
            let area = fs.mountPoint + "/d1"
            _ = try backend.create(containerID: "d1", limit: 10 << 20)
            #expect(try modeAndOwner(area) == (0o700, 0))
            let outside = fs.mountPoint + "/outside"
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            try #require(try dd(outside + "/big", megabytes: 20).status == 0)

            let empty = try backend.usage(containerID: "d1")
            #expect(empty.limit == 10 << 20)
            try FileManager.default.createDirectory(atPath: area + "/a/b/c", withIntermediateDirectories: true)
            try #require(try dd(area + "/a/b/c/f", megabytes: 3).status == 0)
            try Command.check(["ln", area + "/a/b/c/f", area + "/a/hardlink"])
            try FileManager.default.createSymbolicLink(atPath: area + "/a/escape", withDestinationPath: outside)
            try FileManager.default.createSymbolicLink(atPath: area + "/a/bigfile", withDestinationPath: outside + "/big")
            let usage = try backend.usage(containerID: "d1")
            #expect(usage.used >= empty.used + (3 << 20))
            #expect(usage.used < empty.used + (4 << 20), "a hard link counts once, symlinks are not followed: \(usage)")

            let polled = try backend.usageBackend(containerID: "d1")
            #expect(try polled.read() == usage)
            try polled.setLimit(20 << 20)
            #expect(try polled.read().limit == 20 << 20)

            _ = try backend.create(containerID: "d2", limit: nil)
            // A new backend (a restarted daemon) finds both with their caps.
            let restarted = DirectoryPartitions(subDisk: try SubDisk(path: FilePath(fs.mountPoint)))
            #expect(try restarted.list().map(\.containerID) == ["d1", "d2"])
            #expect(try restarted.list().map(\.limit) == [20 << 20, nil])

            try restarted.remove(containerID: "d1")
            #expect(!FileManager.default.fileExists(atPath: area))
            #expect(FileManager.default.fileExists(atPath: outside + "/big"), "removal followed a symlink out of the area")
            #expect(try restarted.list().map(\.containerID) == ["d2"])
            #expect(!FileManager.default.fileExists(atPath: fs.mountPoint + "/.spillway/caps/d1"))
        }
    }

    @Test func badIdsDuplicatesAndMissingAreasGetClearErrors() throws {
        try withSubDisk("btrfs", quota: true) { fs, subDisk in
            let backends: [any PartitionBackend] = [
                try BtrfsSubvolumePartitions(subDisk: subDisk), LoopImagePartitions(subDisk: subDisk), DirectoryPartitions(subDisk: subDisk),
            ]
            for backend in backends {
                for bad in ["../escape", "a/b", "", ".spillway"] {
                    #expect(throws: InputError.self, "\(backend.kind) id '\(bad)'") { try backend.create(containerID: bad, limit: 32 << 20) }
                }
                _ = try backend.create(containerID: "dup", limit: 32 << 20)
                #expect(throws: InvalidFileError.self, "\(backend.kind) duplicate") { try backend.create(containerID: "dup", limit: 32 << 20) }
                #expect(try backend.list().map(\.containerID) == ["dup"], "\(backend.kind) kept the first")
                #expect(throws: InvalidFileError.self, "\(backend.kind) resize of nothing") { try backend.resize(containerID: "none", limit: 1 << 30) }
                #expect(throws: InvalidFileError.self, "\(backend.kind) usage of nothing") { try backend.usage(containerID: "none") }
                try backend.remove(containerID: "none")
                try backend.remove(containerID: "dup")
                #expect(try backend.list().isEmpty, "\(backend.kind) removed")
            }
            // A loop image below its minimum size is refused before anything is made.
            #expect(throws: InputError.self) { try LoopImagePartitions(subDisk: subDisk).create(containerID: "tiny", limit: 1 << 20) }
            #expect(!FileManager.default.fileExists(atPath: fs.mountPoint + "/tiny"))
        }
    }

    @Test func aFailedLoopCreateLeavesNothingBehind() throws {
        try withSubDisk("ext4", megabytes: 128) { fs, subDisk in
            // Something that is not a directory already has the name.
            try #require(FileManager.default.createFile(atPath: fs.mountPoint + "/taken", contents: Data("x".utf8)))
            #expect(throws: InvalidFileError.self) { try LoopImagePartitions(subDisk: subDisk).create(containerID: "taken", limit: 32 << 20) }
            #expect(!FileManager.default.fileExists(atPath: fs.mountPoint + "/.spillway/images/taken.img"))
            #expect(!LoopFilesystem.loopDevices().contains { $0.backing.hasPrefix(fs.mountPoint + "/") })
        }
    }

    @Test func subDisksMountedWithoutNosuidAndNodevAreRefusedAndReported() throws {
        try withLoopFilesystem("ext4", megabytes: 64) { fs in
            do {
                _ = try SubDisk(path: FilePath(fs.mountPoint))
                Issue.record("an unsafe sub disk was accepted")
            } catch let error as InvalidFileError {
                #expect(error.description.contains("nosuid,nodev"), "\(error)")
                #expect(error.description.contains("remount"))
            }
            let lenient = try SubDisk(path: FilePath(fs.mountPoint), requireSafeMount: false)
            let problems = lenient.problems()
            #expect(problems.contains { $0.contains("nosuid") })
            #expect(problems.contains { $0.contains("nodev") })
            #expect(lenient.defaultPartitionKind() == .loopImage)
            #expect(lenient.isMountRoot)
        }
        try withSubDisk("ext4", megabytes: 64) { _, subDisk in
            #expect(subDisk.problems().isEmpty, "\(subDisk.problems())")
            #expect(subDisk.filesystem == .ext4)
        }
    }
}
