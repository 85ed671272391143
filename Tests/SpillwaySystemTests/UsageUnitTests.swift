import CSpillwaySyscalls
import SpillwayCore
@testable import SpillwaySystem
import Testing

/// The XFS structures Spillway mirrors must be the kernel's, byte for byte: the C compiler
/// measures the kernel's own (linux/fs.h, linux/dqblk_xfs.h) in spillway_kernel_layout(), and
/// Swift measures the mirrors it passes to the ioctls.
@Suite("Kernel structure layouts")
struct KernelLayoutTests {
    func kernel(_ key: String) -> Int {
        spillway_kernel_layout(key)
    }

    @Test func fsxattrMatchesTheKernel() {
        #expect(kernel("fsxattr.size") == 28)
        #expect(MemoryLayout<spillway_fsxattr>.size == kernel("fsxattr.size"))
        let offsets: [(String, Int?)] = [
            ("fsx_xflags", MemoryLayout<spillway_fsxattr>.offset(of: \.fsx_xflags)),
            ("fsx_extsize", MemoryLayout<spillway_fsxattr>.offset(of: \.fsx_extsize)),
            ("fsx_nextents", MemoryLayout<spillway_fsxattr>.offset(of: \.fsx_nextents)),
            ("fsx_projid", MemoryLayout<spillway_fsxattr>.offset(of: \.fsx_projid)),
            ("fsx_cowextsize", MemoryLayout<spillway_fsxattr>.offset(of: \.fsx_cowextsize)),
            ("fsx_pad", MemoryLayout<spillway_fsxattr>.offset(of: \.fsx_pad)),
        ]
        for (field, offset) in offsets {
            #expect(offset == kernel("fsxattr.\(field)"), "offset of \(field)")
            #expect(kernel("fsxattr.\(field)") >= 0, "the kernel knows \(field)")
        }
        #expect(kernel("fsxattr.fsx_projid") == 12)
    }

    @Test func fsDiskQuotaMatchesTheKernel() {
        #expect(kernel("fs_disk_quota.size") == 112)
        #expect(MemoryLayout<spillway_fs_disk_quota>.size == kernel("fs_disk_quota.size"))
        let offsets: [(String, Int?)] = [
            ("d_version", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_version)),
            ("d_flags", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_flags)),
            ("d_fieldmask", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_fieldmask)),
            ("d_id", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_id)),
            ("d_blk_hardlimit", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_blk_hardlimit)),
            ("d_blk_softlimit", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_blk_softlimit)),
            ("d_ino_hardlimit", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_ino_hardlimit)),
            ("d_ino_softlimit", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_ino_softlimit)),
            ("d_bcount", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_bcount)),
            ("d_icount", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_icount)),
            ("d_itimer", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_itimer)),
            ("d_btimer", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_btimer)),
            ("d_iwarns", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_iwarns)),
            ("d_bwarns", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_bwarns)),
            ("d_rtb_hardlimit", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_rtb_hardlimit)),
            ("d_rtb_softlimit", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_rtb_softlimit)),
            ("d_rtbcount", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_rtbcount)),
            ("d_rtbtimer", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_rtbtimer)),
            ("d_rtbwarns", MemoryLayout<spillway_fs_disk_quota>.offset(of: \.d_rtbwarns)),
        ]
        for (field, offset) in offsets {
            #expect(offset == kernel("fs_disk_quota.\(field)"), "offset of \(field)")
            #expect(kernel("fs_disk_quota.\(field)") >= 0, "the kernel knows \(field)")
        }
        #expect(kernel("fs_disk_quota.d_blk_hardlimit") == 8)
        #expect(kernel("fs_disk_quota.d_bcount") == 40)
    }

    /// The request numbers encode the structure sizes: _IOR('X', 31, 28 bytes) and so on.
    @Test func requestNumbersAreTheKernels() {
        #expect(kernel("const.FS_IOC_FSGETXATTR") == 0x801C_581F)
        #expect(kernel("const.FS_IOC_FSSETXATTR") == 0x401C_5820)
        #expect(kernel("const.Q_XGETQUOTA") == 0x5803)
        #expect(kernel("const.Q_XSETQLIM") == 0x5804)
        #expect(kernel("const.PRJQUOTA") == 2)
        #expect(spillway_qcmd_project_getquota() == 0x58_0302)
        #expect(spillway_qcmd_project_setlimit() == 0x58_0402)
        #expect(kernel("no.such.key") == -1)
    }
}

@Suite("XFS quota conversions")
struct XfsQuotaConversionTests {
    @Test(arguments: [
        (UInt64(0), UInt64(0)), (1, 1), (511, 1), (512, 1), (513, 2), (1 << 20, 2048), (10 << 30, 20_971_520),
    ])
    func bytesRoundUpToBasicBlocks(bytes: UInt64, blocks: UInt64) {
        #expect(XfsQuota.basicBlocks(bytes: bytes) == blocks)
        #expect(XfsQuota.bytes(basicBlocks: blocks) >= bytes)
    }

    @Test func basicBlocksAreFiveHundredTwelveBytesAndSaturate() {
        #expect(XfsQuota.bytes(basicBlocks: 3) == 1536)
        #expect(XfsQuota.bytes(basicBlocks: .max) == .max)
        #expect(XfsQuota.basicBlocks(bytes: .max) == UInt64.max / 512 + 1)
    }

    @Test func aRecordBecomesASample() {
        var record = spillway_fs_disk_quota()
        record.d_bcount = 2048
        record.d_blk_hardlimit = 4096
        #expect(XfsQuota.sample(from: record) == UsageReading(used: 1 << 20, pending: 0, limit: 2 << 20))
        record.d_blk_hardlimit = 0
        #expect(XfsQuota.sample(from: record).limit == nil)
    }

    @Test func aLimitRecordSetsOnlyTheHardBlockLimitOfTheProject() {
        let record = XfsQuota.limitRecord(projectID: 42, bytes: 1_000_000)
        #expect(record.d_version == 1)
        #expect(record.d_flags == Int8(SPILLWAY_FS_PROJ_QUOTA))
        #expect(record.d_fieldmask == UInt16(SPILLWAY_FS_DQ_BHARD))
        #expect(record.d_id == 42)
        #expect(record.d_blk_hardlimit == 1954)  // 1,000,000 / 512 rounded up
        #expect(record.d_blk_softlimit == 0 && record.d_ino_hardlimit == 0)
        #expect(XfsQuota.limitRecord(projectID: 42, bytes: nil).d_blk_hardlimit == 0)
    }

    @Test func quotaErrorsSayWhatIsMissing() {
        #expect(XfsQuota.hint(for: .noFunction)?.contains("CONFIG_XFS_QUOTA") == true)
        #expect(XfsQuota.hint(for: .noSuchProcess)?.contains("prjquota") == true)
    }

    @Test func inodeAttributesRoundTripThroughTheCStructure() {
        var attributes = InodeAttributes(flags: 0x1, projectID: 77, extentSizeHint: 4096, copyOnWriteExtentSizeHint: 8192)
        attributes.inheritsProjectID = true
        let back = InodeAttributes(attributes.raw)
        #expect(back == attributes)
        #expect(back.raw.fsx_xflags == 0x201)
        #expect(back.inheritsProjectID)
    }
}

@Suite("Usage parsing")
struct UsageParsingTests {
    @Test func sysfsNumbers() {
        #expect(SysfsNumber.parse(Array("10502144\n".utf8)) == 10_502_144)
        #expect(SysfsNumber.parse(Array("0\n".utf8)) == 0)
        #expect(SysfsNumber.parse(Array("18446744073709551615".utf8)) == .max)
        #expect(SysfsNumber.parse(Array("18446744073709551616".utf8)) == nil)
        #expect(SysfsNumber.parse(Array("\n".utf8)) == nil)
        #expect(SysfsNumber.parse(Array("12a".utf8)) == nil)
    }

    @Test func samplesChargeReservationsAgainstTheLimit() {
        let sample = UsageReading(used: 80, pending: 15, limit: 100)
        #expect(sample.charged == 95)
        #expect(sample.fraction == 0.95)
        #expect(UsageReading(used: .max, pending: 1, limit: nil).charged == .max)
        #expect(UsageReading(used: 1, limit: nil).fraction == nil)
        #expect(UsageReading(used: 1, limit: 0).fraction == 1)
    }

    @Test func fsidsPrintAsSysfsNamesThem() {
        let bytes: [UInt8] = [0x94, 0x12, 0x16, 0x4E, 0x34, 0xEF, 0x42, 0x2B, 0x9E, 0x87, 0x5A, 0x20, 0x30, 0xBB, 0xB4, 0x65]
        #expect(Btrfs.uuidString(bytes) == "9412164e-34ef-422b-9e87-5a2030bbb465")
    }

    @Test func qgroupIdsPackTheLevel() {
        #expect(Btrfs.qgroupID(id: 257) == 257)
        #expect(Btrfs.qgroupID(level: 1, id: 100) == (1 << 48) | 100)
    }

    /// A tree-search buffer as the kernel lays it out: native headers, little-endian items.
    @Test func treeSearchBuffersSplitIntoItems() {
        func header(objectID: UInt64, offset: UInt64, type: UInt32, length: UInt32) -> [UInt8] {
            var bytes: [UInt8] = []
            for value in [UInt64(7), objectID, offset] { withUnsafeBytes(of: value) { bytes += $0 } }
            for value in [type, length] { withUnsafeBytes(of: value) { bytes += $0 } }
            return bytes
        }
        func le(_ values: [UInt64]) -> [UInt8] { values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } } }
        var buffer = header(objectID: 0, offset: 257, type: 242, length: 40) + le([9, 1_048_576, 1_048_576, 4096, 4096])
        buffer += header(objectID: 0, offset: 257, type: 244, length: 40) + le([1, 52_428_800, 0, 0, 0])
        buffer += [1, 2, 3]  // a truncated header must be ignored
        let items = buffer.withUnsafeBytes { BtrfsQuotaTree.parse($0, count: 3) }
        #expect(items.count == 2)
        #expect(items.map(\.type) == [242, 244])
        #expect(items.allSatisfy { $0.offset == 257 && $0.data.count == 40 })
        let qgroup = BtrfsQuotaTree.makeQgroup(id: 257, info: items[0], limit: items[1])
        #expect(qgroup == BtrfsQuotaTree.Qgroup(id: 257, referenced: 1_048_576, exclusive: 4096, limitFlags: 1, maxReferenced: 52_428_800))
        #expect(qgroup?.referencedLimit == 52_428_800)
        #expect(BtrfsQuotaTree.makeQgroup(id: 257, info: items[0], limit: nil)?.referencedLimit == nil)
    }

    @Test func mountinfoLinesWithEscapesAndOverlayOptions() {
        let text = """
        22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
        36 22 0:45 / /var/lib/docker/overlay2/abc/merged rw,relatime - overlay overlay rw,lowerdir=/l1:/l2,upperdir=/var/lib/docker/overlay2/abc/diff,workdir=/var/lib/docker/overlay2/abc/work
        40 22 7:3 /sub /mnt/with\\040space rw,nosuid,nodev master:3 - btrfs /dev/loop3 rw,subvolid=256
        bad line
        """
        let table = MountTable(parsing: text)
        #expect(table.entries.count == 3)
        let overlay = table.entry(mountID: 36)
        #expect(overlay?.filesystemType == "overlay")
        #expect(overlay?.superOption("upperdir") == "/var/lib/docker/overlay2/abc/diff")
        #expect(overlay?.superOption("lowerdir") == "/l1:/l2")
        let spaced = table.entry(mountPoint: "/mnt/with space")
        #expect(spaced?.major == 7 && spaced?.minor == 3)
        #expect(spaced?.root == "/sub")
        #expect(spaced?.mountOptions.contains("nodev") == true)
        #expect(table.entries(under: "/var/lib/docker").map(\.mountID) == [36])
    }

    @Test func overlayOptionsKeepEscapedCommas() {
        #expect(MountTable.splitOptions("rw,upperdir=/a\\,b,workdir=/w") == ["rw", "upperdir=/a,b", "workdir=/w"])
    }
}

@Suite("Spill area names")
struct SpillAreaNameTests {
    @Test(arguments: ["web-1", "a", "0abc", "my_app.v2", "a..b", String(repeating: "f", count: 63)])
    func accepted(id: String) throws {
        try SpillAreaName.validate(id)
    }

    @Test(arguments: [
        ("", "empty"), ("a/b", "'/'"), ("..", "start"), (".", "start"), (".hidden", "start"),
        ("-x", "start"), ("a b", "' '"), ("a\u{0}b", "0x0"), ("é", "start"), (String(repeating: "x", count: 64), "64 bytes"),
    ])
    func rejected(id: String, mentions: String) {
        do {
            try SpillAreaName.validate(id)
            Issue.record("'\(id)' was accepted")
        } catch {
            #expect(error.message.contains(mentions), "\(error.message)")
            #expect(error.message.contains("letters, digits"))
        }
    }
}
