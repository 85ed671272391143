import Foundation
import SpillwayCore
@testable import SpillwaySystem
import SpillwayTestSupport
import SystemPackage
import Testing

/// `stat -f` (coreutils) on `path`: (total blocks, free blocks, fundamental block size).
func coreutilsStatfs(_ path: String) throws -> (blocks: UInt64, free: UInt64, size: UInt64) {
    let fields = try Command.check(["stat", "-f", "-c", "%b %f %S", path]).split(separator: " ")
        .map { UInt64($0.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 }
    return (fields[0], fields[1], fields[2])
}

@Suite("statfs usage and the detector", .serialized)
struct FilesystemUsageTests {
    @Test func anExt4OfItsOwnIsMeasuredByStatfs() throws {
        try withLoopFilesystem("ext4", megabytes: 128) { fs in
            let detection = try UsageDetector.detect(FilePath(fs.mountPoint))
            let backend = try #require(detection.backend as? FilesystemUsage)
            #expect(backend.fullErrno == .noSpace)
            #expect(!backend.canSetLimit)
            let empty = try backend.read()
            try #require(try dd(fs.mountPoint + "/data", megabytes: 20).status == 0)
            let written = try backend.read()
            let stat = try coreutilsStatfs(fs.mountPoint)
            #expect(written.limit == stat.blocks * stat.size)
            #expect(written.used == (stat.blocks - stat.free) * stat.size)
            #expect(written.used >= empty.used + (20 << 20))
            #expect(written.pending == 0)
            #expect(throws: SystemError.self) { try backend.setLimit(1 << 30) }
        }
    }

    @Test func aPlainDirectoryOnExt4IsLimitedByNothingSpillwayReads() throws {
        try withLoopFilesystem("ext4", megabytes: 64) { fs in
            let inner = fs.mountPoint + "/app"
            try FileManager.default.createDirectory(atPath: inner, withIntermediateDirectories: true)
            do {
                _ = try UsageDetector.backend(for: FilePath(inner))
                Issue.record("a plain directory got a usage backend")
            } catch let error as InvalidFileError {
                #expect(error.path == inner)
                #expect(error.description.contains("not the root of its own filesystem"), "\(error)")
            }
        }
    }

    @Test func aMissingOrSymlinkedRootIsASystemErrorNamingIt() throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("usage-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: base) }
        try FileManager.default.createSymbolicLink(atPath: base + "/link", withDestinationPath: "/")
        for path in [base + "/missing", base + "/link"] {
            do {
                _ = try UsageDetector.backend(for: FilePath(path))
                Issue.record("\(path) was accepted")
            } catch let error as SystemError {
                #expect(error.path == path)
            }
        }
    }

    /// FS_IOC_FSGETXATTR answers on ext4 and btrfs too; a fresh directory has project 0.
    @Test(arguments: ["ext4", "btrfs"])
    func inodeAttributesAreReadOnOtherFilesystems(type: String) throws {
        try withLoopFilesystem(type, megabytes: 128) { fs in
            let fd = try FileDescriptor.open(FilePath(fs.mountPoint), .readOnly, options: [.directory])
            defer { try? fd.close() }
            let attributes = try InodeAttributes.of(fd, path: fs.mountPoint)
            #expect(attributes.projectID == 0)
            #expect(!attributes.inheritsProjectID)
        }
    }
}
