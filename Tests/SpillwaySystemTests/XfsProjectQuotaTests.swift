import Foundation
import SpillwayCore
@testable import SpillwaySystem
import SpillwayTestSupport
import SystemPackage
import Testing

/// XFS project quotas. The layouts and conversions are unit-tested (KernelLayoutTests,
/// XfsQuotaConversionTests); here the real kernel: the project id round-trips through
/// FS_IOC_FSSETXATTR/FSGETXATTR on XFS (no quota support needed for that), and, only where
/// the kernel mounts XFS with `prjquota`, usage and limits through quotactl.
@Suite("XFS project quotas", .serialized)
struct XfsProjectQuotaTests {
    /// Says on every run whether the quota tests below ran or were skipped, and why.
    @Test func projectQuotaSupportIsReported() {
        if let reason = XfsProjectQuotaProbe.unavailableReason {
            print("XFS project-quota tests are skipped: \(reason)")
            #expect(!XfsProjectQuotaProbe.isAvailable)
        } else {
            print("XFS project quotas are available; their tests run")
            #expect(XfsProjectQuotaProbe.isAvailable)
        }
    }

    @Test(.enabled(if: XfsProjectQuotaProbe.canMakeXfs, "mkfs.xfs is not installed or the kernel has no XFS"))
    func projectIDsRoundTripOnXfsAndAMissingQuotaIsExplained() throws {
        let fs = try LoopFilesystem(type: "xfs", megabytes: 320)
        defer { fs.destroy() }
        let upper = fs.mountPoint + "/upper"
        try FileManager.default.createDirectory(atPath: upper, withIntermediateDirectories: true)
        let fd = try FileDescriptor.open(FilePath(upper), .readOnly, options: [.directory])
        defer { try? fd.close() }
        var attributes = try InodeAttributes.of(fd, path: upper)
        #expect(attributes.projectID == 0)
        attributes.projectID = 4242
        attributes.inheritsProjectID = true
        try attributes.apply(to: fd, path: upper)
        let back = try InodeAttributes.of(fd, path: upper)
        #expect(back.projectID == 4242)
        #expect(back.inheritsProjectID)
        // A new file inherits the project, as Docker relies on.
        try #require(FileManager.default.createFile(atPath: upper + "/file", contents: Data("x".utf8)))
        let file = try FileDescriptor.open(FilePath(upper + "/file"), .readOnly)
        defer { try? file.close() }
        #expect(try InodeAttributes.of(file, path: upper + "/file").projectID == 4242)
        // Mounted without prjquota: the project cannot be measured, and the error says why.
        do {
            _ = try XfsProjectQuotaUsage(path: FilePath(upper))
            Issue.record("a project quota was read on an XFS mounted without prjquota")
        } catch let error as SystemError {
            #expect(error.path == upper)
            #expect(error.hint?.contains("prjquota") == true, "\(error)")
        }
        do {
            _ = try UsageDetector.backend(for: FilePath(upper))
            Issue.record("the detector accepted a directory whose quota cannot be read")
        } catch let error as InvalidFileError {
            #expect(error.description.contains("project 4242"), "\(error)")
        }
        // The root of its own XFS still gets statfs.
        #expect(try UsageDetector.backend(for: FilePath(fs.mountPoint)).kind == .filesystem)
    }

    @Test(.enabled(if: XfsProjectQuotaProbe.isAvailable,
                   "this kernel lacks XFS quota support (CONFIG_XFS_QUOTA): mount -o prjquota is refused, so quotactl cannot be exercised"))
    func projectQuotaUsageAndLimitThroughQuotactl() throws {
        let fs = try LoopFilesystem(type: "xfs", megabytes: 320, options: "prjquota")
        defer { fs.destroy() }
        let upper = fs.mountPoint + "/upper"
        try FileManager.default.createDirectory(atPath: upper, withIntermediateDirectories: true)
        let fd = try FileDescriptor.open(FilePath(upper), .readOnly, options: [.directory])
        defer { try? fd.close() }
        var attributes = try InodeAttributes.of(fd, path: upper)
        attributes.projectID = 77
        attributes.inheritsProjectID = true
        try attributes.apply(to: fd, path: upper)
        try XfsQuota.setLimit(fd, device: { fs.device }, projectID: 77, bytes: 32 << 20, path: upper)
        let usage = try XfsProjectQuotaUsage(path: FilePath(upper))
        #expect(usage.projectID == 77)
        #expect(try usage.read().limit == 32 << 20)
        try #require(try dd(upper + "/a", megabytes: 8).status == 0)
        #expect(try usage.read().used >= 8 << 20)
        try usage.setLimit(16 << 20)
        let full = try dd(upper + "/b", megabytes: 16)
        #expect(full.status != 0)
        #expect(full.stderr.contains("No space left on device"), "dd said: \(full.stderr)")
        #expect(usage.fullErrno == .noSpace)
        #expect(try UsageDetector.backend(for: FilePath(upper)).kind == .xfsProjectQuota)
    }
}
