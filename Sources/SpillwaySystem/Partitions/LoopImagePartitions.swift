#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import SpillwayCore
import SystemPackage

/// Spill areas as loop-mounted filesystem images, one per container, on any sub disk filesystem.
///
/// Each image is a sparse file `.spillway/images/<id>.img` (mode 0600) on the sub disk. Create
/// attaches it to a free loop device (LOOP_CTL_GET_FREE, LOOP_CONFIGURE with autoclear), makes a
/// filesystem on it (`mkfs.ext4` without reserved blocks by default, or `mkfs.btrfs`), and mounts
/// it on the area directory with `MS_NOSUID | MS_NODEV`; the new filesystem's root is made mode
/// 0700 and root's, and ext4's `lost+found` is removed so the union does not show it. A full area
/// gives `ENOSPC`.
///
/// ext4 images (the default) are made once as large as the sub disk (sparse, so that costs
/// nothing up front) and their cap is set online, in both directions, by ext4's reserved-cluster
/// pool (``Ext4Reserve``): no user of the area, root with any capability included, can write
/// into it, and statfs's `used + available` is the cap. The cap is kept in the image's
/// `trusted.spillway.cap` attribute and set again after every mount. A cap is never set below
/// what the area stores. Only a cap beyond the image grows the image, as below.
///
/// btrfs images are as large as their cap and grow online: the image is extended (ftruncate),
/// the loop device told (LOOP_SET_CAPACITY) and the filesystem grown in place with
/// BTRFS_IOC_RESIZE "max" (`CAP_SYS_ADMIN`; the kernel resizes btrfs only to 256 MiB or more);
/// an ext4 image grows with EXT4_IOC_RESIZE_FS (what `resize2fs` does on a mounted filesystem;
/// the kernel wants `CAP_SYS_RESOURCE`). A mounted btrfs cannot shrink: asking for less is an
/// error. Remove unmounts, detaches (LOOP_CLR_FD) and deletes the image.
///
/// "Uncapped" means a cap as large as the sub disk.
/// After a host restart, ``list()`` reports images that are not mounted as not ready and
/// ``activate(containerID:)`` attaches and mounts them again.
public final class LoopImagePartitions: PartitionBackend {
    /// The filesystem made inside each image.
    public enum ImageFilesystem: String, Sendable, CaseIterable {
        /// ext4 without reserved blocks, made as large as the sub disk and capped by its
        /// reserved-cluster pool, so it shrinks and grows online.
        case ext4
        /// btrfs (mixed block groups below 1 GiB), grown with BTRFS_IOC_RESIZE.
        case btrfs

        /// The filesystem an image holds, from its superblock magic, or `nil`.
        static func of(image fd: FileDescriptor) -> ImageFilesystem? {
            var ext = [UInt8](repeating: 0, count: 2)
            if pread(fd.rawValue, &ext, 2, 1024 + 56) == 2, ext == [0x53, 0xEF] { return .ext4 }
            var magic = [UInt8](repeating: 0, count: 8)
            if pread(fd.rawValue, &magic, 8, 65536 + 64) == 8, magic == Array("_BHRfS_M".utf8) { return .btrfs }
            return nil
        }
    }

    /// The smallest image made, in bytes.
    public static let minimumSize: UInt64 = 16 << 20
    /// The block size images are sized in (ext4's block size here).
    static let blockSize: UInt64 = 4096

    public let subDisk: SubDisk
    /// The filesystem new images get (existing ones keep theirs).
    public let imageFilesystem: ImageFilesystem
    public var kind: PartitionKind { .loopImage }
    public var fullErrno: Errno { .noSpace }
    public var kernelEnforcesLimit: Bool { true }

    /// A backend on `subDisk` whose new images hold `imageFilesystem`.
    public init(subDisk: SubDisk, imageFilesystem: ImageFilesystem = .ext4) {
        self.subDisk = subDisk
        self.imageFilesystem = imageFilesystem
    }

    /// The mkfs command line for a new image of `size` bytes on `device`.
    func mkfsArguments(device: String, size: UInt64) -> [String] {
        switch imageFilesystem {
        case .ext4:
            ["mkfs.ext4", "-q", "-F", "-b", "\(Self.blockSize)", "-m", "0",
             "-E", "root_owner=\(geteuid()):\(getegid()),nodiscard,lazy_journal_init=1", "-L", "spillway", device]
        case .btrfs:
            ["mkfs.btrfs", "-q", "-f", "--nodiscard", "-L", "spillway"] + (size < 1 << 30 ? ["--mixed"] : []) + [device]
        }
    }

    private func imageName(_ id: String) -> String { "\(id).img" }

    private func imageDisplay(_ id: String) -> String {
        subDisk.path.appending(SubDisk.metadataDirectoryName).appending("images").appending(imageName(id)).string
    }

    /// The image size for `limit`: rounded up to the block size; the sub disk's size when `nil`.
    func imageSize(for limit: UInt64?) throws -> UInt64 {
        let wanted = limit ?? subDisk.statistics.totalBytes
        guard wanted >= Self.minimumSize else {
            throw InputError("partition size \(wanted) bytes is below the \(Self.minimumSize >> 20) MiB a loop-image partition needs")
        }
        guard wanted <= UInt64(Int64.max) - Self.blockSize else {
            throw InputError("partition size \(wanted) bytes is too large for an image file")
        }
        return (wanted + Self.blockSize - 1) / Self.blockSize * Self.blockSize
    }

    /// The name of the image's extended attribute that keeps an ext4 image's cap (decimal bytes).
    static let capAttribute = "trusted.spillway.cap"

    /// The size of a new image that is to hold `cap` bytes: ext4 images are as large as the sub
    /// disk (or the cap, if larger), btrfs images as large as the cap.
    func imageFileSize(cap: UInt64) throws -> UInt64 {
        imageFilesystem == .ext4 ? max(cap, try imageSize(for: nil)) : cap
    }

    /// The limit a partition reports: the size asked for when the cap in force (rounded up to
    /// whole blocks) holds it, so the daemon's plan and the partition agree; else the cap.
    static func reported(_ capped: UInt64, asked: UInt64?) -> UInt64 {
        if let asked, capped >= asked { asked } else { capped }
    }

    /// The cap kept on an ext4 image, or `nil` when it has none (then the image size is the cap).
    private func storedCap(_ image: FileDescriptor) -> UInt64? {
        var value = [UInt8](repeating: 0, count: 32)
        let length = spillway_fgetxattr(image.rawValue, Self.capAttribute, &value, UInt(value.count))
        guard length > 0 else { return nil }
        return UInt64(String(decoding: value.prefix(Int(length)), as: UTF8.self))
    }

    /// The cap of a partition's image: its kept cap, else its size.
    private func cap(of image: FileDescriptor, _ st: stat) -> UInt64 {
        storedCap(image) ?? UInt64(st.st_size)
    }

    /// Caps the ext4 filesystem of `id` (mounted from `device`, root `root`) at `cap` bytes with
    /// its reserved-cluster pool and keeps the cap on the image; returns the cap in force (a
    /// little under `cap` when that is nearly the whole image, as ext4 keeps its own pool).
    ///
    /// - Throws: ``InputError`` when the area stores more than the cap (nothing is changed),
    ///   unless `evenBelowStored` (a remount: the cap holds again, writes fail until it fits);
    ///   ``SystemError``.
    private func applyCap(_ cap: UInt64, id: String, root: FileDescriptor, device: String, image: FileDescriptor,
                          evenBelowStored: Bool = false) throws -> UInt64 {
        let display = subDisk.areaPath(id).string
        let statistics = try FilesystemStatistics.of(root, path: display)
        let imageBlocks = UInt64(try Descriptors.status(image, path: imageDisplay(id)).st_size) / Ext4Reserve.clusterSize
        let clusters = Ext4Reserve.clusters(forCap: cap, blocks: statistics.blocks, imageBlocks: imageBlocks)
        let capped = Ext4Reserve.cap(clusters: clusters, blocks: statistics.blocks)
        guard capped >= statistics.usedBytes || evenBelowStored else {
            throw InputError("partition \(id) stores \(statistics.usedBytes) bytes, more than the \(capped) bytes asked for; a partition is never made smaller than what it stores")
        }
        try Ext4Reserve.set(clusters, device: device, display: display)
        let text = Array(String(capped).utf8)
        guard spillway_fsetxattr(image.rawValue, Self.capAttribute, text, UInt(text.count)) == 0 else {
            throw SystemError("keep the cap of partition image", path: imageDisplay(id), syscall: "fsetxattr", errno: Errno(rawValue: errno),
                              hint: "the sub disk's filesystem must support trusted.* extended attributes")
        }
        return capped
    }

    public func create(containerID id: String, limit: UInt64?) throws -> Partition {
        try SpillAreaName.validate(id)
        let cap = try imageSize(for: limit)
        let size = try imageFileSize(cap: cap)
        var capped = cap
        let images = try subDisk.metadataDirectory("images")
        defer { try? images.close() }
        let imageDisplay = imageDisplay(id)
        if try Descriptors.status(of: imageName(id), in: images, display: imageDisplay) != nil {
            throw InvalidFileError(path: imageDisplay, problem: "already exists; remove that container's partition first")
        }
        let area = try subDisk.makeAreaDirectory(id)
        defer { try? area.close() }
        var image: FileDescriptor? = nil
        var loop: LoopDevice? = nil
        var mounted = false
        do {
            let file = try Descriptors.openBeneath(images, imageName(id), flags: O_RDWR | O_CREAT | O_EXCL, mode: 0o600,
                                                   action: "create partition image", display: imageDisplay)
            image = file
            guard ftruncate(file.rawValue, off_t(size)) == 0 else {
                throw SystemError("size partition image", path: imageDisplay, syscall: "ftruncate", errno: Errno(rawValue: errno),
                                  hint: errno == EFBIG ? "the sub disk's filesystem cannot hold a file this large" : nil)
            }
            let device = try LoopDevice.attach(file, name: imageDisplay)
            loop = device
            try ProgramRunner.run(mkfsArguments(device: device.path, size: size),
                                  action: "make the \(imageFilesystem.rawValue) filesystem of partition", target: imageDisplay,
                                  package: imageFilesystem == .ext4 ? "e2fsprogs" : "btrfs-progs")
            try Mounting.mount(device: device.path, on: area, type: imageFilesystem.rawValue, display: subDisk.areaPath(id).string)
            mounted = true
            try prepareMountedRoot(id, device: device)
            if imageFilesystem == .ext4 {
                let root = try subDisk.requireArea(id, crossMounts: true)
                defer { try? root.close() }
                capped = try applyCap(cap, id: id, root: root, device: device.path, image: file)
            }
        } catch {
            if mounted, let point = try? mountPoint(of: id) { try? Mounting.unmount(point) }
            try? loop?.detach()
            loop = nil
            try? image?.close()
            _ = unlinkat(images.rawValue, imageName(id), 0)
            _ = unlinkat(subDisk.root.rawValue, id, AT_REMOVEDIR)
            throw error
        }
        try? image?.close()
        return Partition(containerID: id, kind: kind, path: subDisk.areaPath(id), limit: Self.reported(capped, asked: limit), isReady: true)
    }

    /// Opens the filesystem mounted on the area, checks it is on `device`, removes its
    /// lost+found and makes its root mode 0700 and the daemon's.
    private func prepareMountedRoot(_ id: String, device: LoopDevice) throws {
        let display = subDisk.areaPath(id).string
        let root = try subDisk.requireArea(id, crossMounts: true)
        defer { try? root.close() }
        guard try Descriptors.isMountRoot(root, path: display), try Self.mountEntry(of: root, display: display).source == device.path else {
            throw InvalidFileError(path: display, problem: "is not the root of the filesystem on \(device.path) after mounting it")
        }
        if unlinkat(root.rawValue, "lost+found", AT_REMOVEDIR) != 0, errno != ENOENT {
            throw SystemError("remove lost+found from", path: display, syscall: "unlinkat", errno: Errno(rawValue: errno))
        }
        try SubDisk.secure(root, display: display)
    }

    /// The mountinfo entry of the mount whose root `root` is. (A btrfs root's st_dev is an
    /// anonymous device, not the loop device, so the mount's source names the device.)
    private static func mountEntry(of root: FileDescriptor, display: String) throws -> MountTable.Entry {
        guard let id = Descriptors.mountID(root), let entry = try MountTable.current().entry(mountID: id) else {
            throw InvalidFileError(path: display, problem: "is mounted but missing from /proc/self/mountinfo")
        }
        return entry
    }

    /// What is mounted on the area: its root, its loop device and the image it must be backed by.
    private struct Mounted {
        let root: FileDescriptor
        let loop: LoopDevice
        let mountPoint: String
    }

    /// The mounted filesystem of area `id`, checked to be a loop device backed by `image`;
    /// `nil` when nothing is mounted there.
    private func mounted(_ id: String, image: stat?) throws -> Mounted? {
        let display = subDisk.areaPath(id).string
        guard let root = try subDisk.openArea(id, crossMounts: true) else { return nil }
        do {
            guard try Descriptors.isMountRoot(root, path: display) else {
                try? root.close()
                return nil
            }
            let entry = try Self.mountEntry(of: root, display: display)
            let loop = try LoopDevice.open(path: entry.source)
            if let image, !loop.isBacked(by: image) {
                throw InvalidFileError(path: display, problem: "has \(loop.path) mounted, which is not backed by \(imageDisplay(id)); unmount it by hand")
            }
            return Mounted(root: root, loop: loop, mountPoint: entry.mountPoint)
        } catch {
            try? root.close()
            throw error
        }
    }

    private func mountPoint(of id: String) throws -> String? {
        guard let mounted = try mounted(id, image: nil) else { return nil }
        defer { try? mounted.root.close() }
        return mounted.mountPoint
    }

    /// Opens the image of `id`, checked to be a regular file; `nil` when it does not exist.
    private func openImage(_ id: String, in images: FileDescriptor) throws -> (FileDescriptor, stat)? {
        let display = imageDisplay(id)
        let fd: FileDescriptor
        do {
            fd = try Descriptors.openBeneath(images, imageName(id), flags: O_RDWR, action: "open partition image", display: display)
        } catch let error as SystemError where error.errno == .noSuchFileOrDirectory {
            return nil
        }
        let st: stat
        do {
            st = try Descriptors.status(fd, path: display)
        } catch {
            try? fd.close()
            throw error
        }
        guard Descriptors.isRegular(st) else {
            try? fd.close()
            throw InvalidFileError(path: display, problem: "is not a regular file; remove it by hand")
        }
        return (fd, st)
    }

    private func requireImage(_ id: String) throws -> (images: FileDescriptor, image: FileDescriptor, st: stat) {
        guard let images = try subDisk.existingMetadataDirectory("images") else {
            throw InvalidFileError(path: imageDisplay(id), problem: "does not exist; create the container's partition first")
        }
        do {
            guard let (image, st) = try openImage(id, in: images) else {
                throw InvalidFileError(path: imageDisplay(id), problem: "does not exist; create the container's partition first")
            }
            return (images, image, st)
        } catch {
            try? images.close()
            throw error
        }
    }

    public func resize(containerID id: String, limit: UInt64?) throws -> Partition {
        try SpillAreaName.validate(id)
        let size = try imageSize(for: limit)
        let (images, image, st) = try requireImage(id)
        defer {
            try? image.close()
            try? images.close()
        }
        guard let mounted = try mounted(id, image: st) else {
            throw InvalidFileError(path: subDisk.areaPath(id).string, problem: "is not mounted; activate the partition first")
        }
        defer { try? mounted.root.close() }
        let current = UInt64(st.st_size)
        let filesystem = ImageFilesystem.of(image: image)
        if filesystem == .ext4 {
            // The image holds the cap when its filesystem, less ext4's own pool, holds it.
            let statistics = try FilesystemStatistics.of(mounted.root, path: subDisk.areaPath(id).string)
            let room = Ext4Reserve.cap(clusters: Ext4Reserve.mountDefault(imageBlocks: current / Self.blockSize), blocks: statistics.blocks)
            if size > room {
                // An image made before caps moved inside it, or a sub disk that grew: as large as
                // the sub disk, so later growth moves the pool alone.
                let wanted = max(size + (current - min(current, room)), try imageSize(for: nil))
                try growImage(id, to: wanted, image: image, mounted: mounted, current: current)
            }
            let capped = try applyCap(size, id: id, root: mounted.root, device: mounted.loop.path, image: image)
            return Partition(containerID: id, kind: kind, path: subDisk.areaPath(id), limit: Self.reported(capped, asked: limit), isReady: true)
        }
        if size < current {
            throw SystemError("shrink partition", path: subDisk.areaPath(id).string, syscall: "ftruncate",
                              errno: .notSupported,
                              hint: "a mounted filesystem can grow but not shrink; it stays at \(current) bytes (asked for \(size))")
        }
        try growImage(id, to: size, image: image, mounted: mounted, current: current)
        return Partition(containerID: id, kind: kind, path: subDisk.areaPath(id), limit: size, isReady: true)
    }

    /// Extends the image of `id` to `size` bytes and grows its mounted filesystem to match.
    private func growImage(_ id: String, to size: UInt64, image: FileDescriptor, mounted: Mounted, current: UInt64) throws {
        let size = (size + Self.blockSize - 1) / Self.blockSize * Self.blockSize
        if size > current, ftruncate(image.rawValue, off_t(size)) != 0 {
            throw SystemError("grow partition image", path: imageDisplay(id), syscall: "ftruncate", errno: Errno(rawValue: errno))
        }
        // Grow when the image grew, and also when a grow was cut short earlier (the image is
        // longer than the filesystem by more than a filesystem's own overhead ever is).
        let filesystemBytes = try FilesystemStatistics.of(mounted.root, path: subDisk.areaPath(id).string).totalBytes
        if size > current || filesystemBytes < size - size / 8 {
            try mounted.loop.refreshCapacity()
            try growFilesystem(id, root: mounted.root, image: image, blocks: size / Self.blockSize)
        }
    }

    /// Grows the mounted filesystem of `id` to the loop device's new size.
    private func growFilesystem(_ id: String, root: FileDescriptor, image: FileDescriptor, blocks: UInt64) throws {
        let display = subDisk.areaPath(id).string
        switch ImageFilesystem.of(image: image) {
        case .ext4:
            guard spillway_ext4_resize(root.rawValue, blocks) == 0 else {
                let err = Errno(rawValue: errno)
                throw SystemError("grow the ext4 filesystem of partition", path: display, syscall: "ioctl(EXT4_IOC_RESIZE_FS)", errno: err,
                                  hint: err == .notPermitted ? "growing ext4 online needs CAP_SYS_RESOURCE, which this process lacks; grant it, or make loop images btrfs" : nil)
            }
        case .btrfs:
            guard spillway_btrfs_resize(root.rawValue, "max") == 0 else {
                let err = Errno(rawValue: errno)
                throw SystemError("grow the btrfs filesystem of partition", path: display, syscall: "ioctl(BTRFS_IOC_RESIZE)", errno: err,
                                  hint: err == .invalidArgument && blocks * Self.blockSize < 256 << 20
                                      ? "btrfs resizes only to 256 MiB or more; ask for at least that" : nil)
            }
        case nil:
            throw InvalidFileError(path: imageDisplay(id), problem: "holds neither ext4 nor btrfs; Spillway did not make it")
        }
    }

    public func usage(containerID id: String) throws -> UsageReading {
        try usageBackend(containerID: id).read()
    }

    /// A statfs backend on the mounted filesystem's root; its limit is the filesystem's usable
    /// size, a little under the image size. It keeps nothing open, so ``remove(containerID:)``
    /// can unmount while the daemon still holds it.
    public func usageBackend(containerID id: String) throws -> any UsageBackend {
        try SpillAreaName.validate(id)
        let (images, image, st) = try requireImage(id)
        defer {
            try? image.close()
            try? images.close()
        }
        guard let mounted = try mounted(id, image: st) else {
            throw InvalidFileError(path: subDisk.areaPath(id).string, problem: "is not mounted; activate the partition first")
        }
        defer { try? mounted.root.close() }
        return try FilesystemUsage(measuring: mounted.root, path: subDisk.areaPath(id), limitIsWritable: ImageFilesystem.of(image: image) == .ext4)
    }

    public func remove(containerID id: String) throws {
        try SpillAreaName.validate(id)
        let images = try subDisk.existingMetadataDirectory("images")
        defer { try? images?.close() }
        let opened = try images.flatMap { try openImage(id, in: $0) }
        defer { try? opened?.0.close() }
        if let mounted = try mounted(id, image: opened?.1) {
            try? mounted.root.close()
            try Mounting.unmount(mounted.mountPoint)
            // Only we hold the device now, so this detaches it at once.
            try mounted.loop.detach()
        }
        if let images, opened != nil, unlinkat(images.rawValue, imageName(id), 0) != 0, errno != ENOENT {
            throw SystemError("remove partition image", path: imageDisplay(id), syscall: "unlinkat", errno: Errno(rawValue: errno))
        }
        if unlinkat(subDisk.root.rawValue, id, AT_REMOVEDIR) != 0, errno != ENOENT {
            let err = Errno(rawValue: errno)
            throw SystemError("remove spill area", path: subDisk.areaPath(id).string, syscall: "unlinkat", errno: err,
                              hint: err == .directoryNotEmpty ? "the unmounted directory holds files; Spillway did not put them there" : nil)
        }
    }

    public func list() throws -> [Partition] {
        guard let images = try subDisk.existingMetadataDirectory("images") else { return [] }
        defer { try? images.close() }
        var partitions: [Partition] = []
        for name in try SubDisk.entryNames(images, display: imageDisplay("x")).sorted() where name.hasSuffix(".img") {
            let id = String(name.dropLast(4))
            guard SpillAreaName.isValid(id), let (image, st) = try openImage(id, in: images) else { continue }
            defer { try? image.close() }
            let ready: Bool
            if let mounted = try? mounted(id, image: st) {
                try? mounted.root.close()
                ready = true
            } else {
                ready = false
            }
            partitions.append(Partition(containerID: id, kind: kind, path: subDisk.areaPath(id), limit: cap(of: image, st), isReady: ready))
        }
        return partitions
    }

    public func activate(containerID id: String) throws -> Partition {
        try SpillAreaName.validate(id)
        let (images, image, st) = try requireImage(id)
        defer {
            try? image.close()
            try? images.close()
        }
        if let mounted = try mounted(id, image: st) {
            try? mounted.root.close()
            return Partition(containerID: id, kind: kind, path: subDisk.areaPath(id), limit: cap(of: image, st), isReady: true)
        }
        let area: FileDescriptor
        if let existing = try subDisk.openArea(id) {
            area = existing
        } else {
            area = try subDisk.makeAreaDirectory(id)
        }
        defer { try? area.close() }
        guard let filesystem = ImageFilesystem.of(image: image) else {
            throw InvalidFileError(path: imageDisplay(id), problem: "holds neither ext4 nor btrfs; Spillway did not make it")
        }
        let device = try LoopDevice.attach(image, name: imageDisplay(id))
        var mounted = false
        do {
            try Mounting.mount(device: device.path, on: area, type: filesystem.rawValue, display: subDisk.areaPath(id).string)
            mounted = true
            // ext4's pool lives in memory: the cap is set again on every mount.
            if filesystem == .ext4 {
                let root = try subDisk.requireArea(id, crossMounts: true)
                defer { try? root.close() }
                _ = try applyCap(cap(of: image, st), id: id, root: root, device: device.path, image: image, evenBelowStored: true)
            }
        } catch {
            if mounted, let point = try? mountPoint(of: id) { try? Mounting.unmount(point) }
            try? device.detach()
            throw error
        }
        return Partition(containerID: id, kind: kind, path: subDisk.areaPath(id), limit: cap(of: image, st), isReady: true)
    }
}
