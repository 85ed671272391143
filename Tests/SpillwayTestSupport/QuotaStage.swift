import Foundation

/// A container tree on btrfs under a real qgroup limit and a spill area on ext4, for tests that
/// write past a quota. ``withQuotaStage(limit:subMegabytes:_:)`` removes both filesystems.
public struct QuotaStage: Sendable {
    public let main: LoopFilesystem
    public let sub: LoopFilesystem
    /// The container's tree: a btrfs subvolume limited to the stage's limit.
    public let tree: String
    /// Its spill area, mode 0700, on the ext4 sub disk.
    public let spill: String
}

/// Runs `body` with a ``QuotaStage`` whose tree is limited to `limit` (`btrfs qgroup limit`
/// syntax) and whose sub disk has `subMegabytes`; always removes it afterwards.
public func withQuotaStage(limit: String, subMegabytes: Int, _ body: (QuotaStage) throws -> Void) throws {
    let main = try LoopFilesystem(type: "btrfs", megabytes: 512)
    defer { main.destroy() }
    let sub = try LoopFilesystem(type: "ext4", megabytes: subMegabytes)
    defer { sub.destroy() }
    try Command.check(["btrfs", "quota", "enable", main.mountPoint])
    let tree = main.mountPoint + "/container"
    try Command.check(["btrfs", "subvolume", "create", tree])
    try Command.check(["btrfs", "qgroup", "limit", limit, tree])
    let spill = sub.mountPoint + "/spill"
    try FileManager.default.createDirectory(atPath: spill, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    try body(QuotaStage(main: main, sub: sub, tree: tree, spill: spill))
}
