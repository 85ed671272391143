import Foundation
import SpillwaySystem
import Testing

/// The size Docker's btrfs driver keeps per layer (`btrfs/quotas/LAYER`), which `spillway grow`
/// raises so that the next `docker start` keeps the grown limit.
@Suite("Docker's btrfs quota file")
struct DockerBtrfsQuotaTests {
    /// A fake Docker data root with layer `L` of `size` bytes; returns the data root.
    static func dataRoot(size: String?) throws -> String {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("docker-quota-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: base + "/btrfs/subvolumes/L", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: base + "/btrfs/quotas", withIntermediateDirectories: true)
        if let size { try size.write(toFile: base + "/btrfs/quotas/L", atomically: false, encoding: .utf8) }
        return base
    }

    static func size(_ base: String) -> String? { try? String(contentsOfFile: base + "/btrfs/quotas/L", encoding: .utf8) }

    @Test func raisesTheLayersSizeAndNeverLowersIt() throws {
        let base = try Self.dataRoot(size: "50331648")
        defer { try? FileManager.default.removeItem(atPath: base) }
        #expect(try DockerBtrfsQuota.raise(root: base + "/btrfs/subvolumes/L", to: 318_767_104))
        #expect(Self.size(base) == "318767104")
        #expect(try !DockerBtrfsQuota.raise(root: base + "/btrfs/subvolumes/L", to: 100 << 20))
        #expect(Self.size(base) == "318767104")
        let mode = try FileManager.default.attributesOfItem(atPath: base + "/btrfs/quotas/L")[.posixPermissions] as? Int
        #expect(mode == 0o644)
        #expect(try FileManager.default.contentsOfDirectory(atPath: base + "/btrfs/quotas") == ["L"], "a temporary file was left")
    }

    @Test func leavesEverythingElseAlone() throws {
        // No size given at creation: no file, nothing made.
        let none = try Self.dataRoot(size: nil)
        defer { try? FileManager.default.removeItem(atPath: none) }
        #expect(try !DockerBtrfsQuota.raise(root: none + "/btrfs/subvolumes/L", to: 1 << 30))
        #expect(Self.size(none) == nil)
        // Not a btrfs-driver layer (a registered root, an overlay2 merged directory).
        #expect(try !DockerBtrfsQuota.raise(root: none + "/btrfs/L", to: 1 << 30))
        #expect(try !DockerBtrfsQuota.raise(root: "/var/lib/docker/overlay2/L/merged", to: 1 << 30))
        // A file that holds no number is not Docker's: left as it is.
        let odd = try Self.dataRoot(size: "lots")
        defer { try? FileManager.default.removeItem(atPath: odd) }
        #expect(try !DockerBtrfsQuota.raise(root: odd + "/btrfs/subvolumes/L", to: 1 << 30))
        #expect(Self.size(odd) == "lots")
        // A symlink in place of the quota directory is not followed.
        let linked = try Self.dataRoot(size: nil)
        defer { try? FileManager.default.removeItem(atPath: linked) }
        try FileManager.default.removeItem(atPath: linked + "/btrfs/quotas")
        try FileManager.default.createDirectory(atPath: linked + "/elsewhere", withIntermediateDirectories: true)
        try "1".write(toFile: linked + "/elsewhere/L", atomically: false, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: linked + "/btrfs/quotas", withDestinationPath: linked + "/elsewhere")
        #expect(try !DockerBtrfsQuota.raise(root: linked + "/btrfs/subvolumes/L", to: 1 << 30))
        #expect((try? String(contentsOfFile: linked + "/elsewhere/L", encoding: .utf8)) == "1")
    }
}
