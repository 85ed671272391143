#if canImport(Glibc)
import Glibc
#endif
import CSpillwaySyscalls
import SystemPackage

/// The btrfs quota tree read with BTRFS_IOC_TREE_SEARCH_V2: the committed qgroup numbers, for
/// kernels without /sys/fs/btrfs/FSID/qgroups, and all of a filesystem's qgroups in one call.
public enum BtrfsQuotaTree {
    /// One item a tree search returned.
    public struct Item: Sendable, Equatable {
        /// The key's objectid (0 for qgroup items).
        public var objectID: UInt64
        /// The key's type (`BTRFS_QGROUP_*_KEY`).
        public var type: UInt32
        /// The key's offset (the qgroup id for info and limit items).
        public var offset: UInt64
        /// The item's bytes, little-endian.
        public var data: [UInt8]

        /// An item with key (objectID, type, offset) and its bytes.
        public init(objectID: UInt64, type: UInt32, offset: UInt64, data: [UInt8]) {
            self.objectID = objectID
            self.type = type
            self.offset = offset
            self.data = data
        }

        /// The little-endian 64-bit field at byte `offset` of the item, or `nil` past its end.
        func field(at offset: Int) -> UInt64? {
            guard offset >= 0, offset + 8 <= data.count else { return nil }
            var value: UInt64 = 0
            for i in 0..<8 { value |= UInt64(data[offset + i]) << (8 * UInt64(i)) }
            return value
        }
    }

    /// A qgroup's committed numbers and limit, from its info and limit items.
    public struct Qgroup: Sendable, Equatable {
        /// The qgroup id (level in the top 16 bits).
        public var id: UInt64
        /// Bytes referenced by the qgroup's subvolumes, as last committed.
        public var referenced: UInt64
        /// Bytes referenced by no other qgroup, as last committed.
        public var exclusive: UInt64
        /// `BTRFS_QGROUP_LIMIT_*` flags saying which limits apply.
        public var limitFlags: UInt64
        /// The referenced limit, when `limitFlags` has `BTRFS_QGROUP_LIMIT_MAX_RFER`.
        public var maxReferenced: UInt64
        /// The exclusive limit, when `limitFlags` has `BTRFS_QGROUP_LIMIT_MAX_EXCL`.
        public var maxExclusive: UInt64

        /// A qgroup with the given numbers.
        public init(id: UInt64, referenced: UInt64, exclusive: UInt64, limitFlags: UInt64 = 0,
                    maxReferenced: UInt64 = 0, maxExclusive: UInt64 = 0) {
            self.id = id
            self.referenced = referenced
            self.exclusive = exclusive
            self.limitFlags = limitFlags
            self.maxReferenced = maxReferenced
            self.maxExclusive = maxExclusive
        }

        /// The referenced limit, or `nil` when none is set.
        public var referencedLimit: UInt64? {
            limitFlags & SPILLWAY_BTRFS_QGROUP_LIMIT_MAX_RFER != 0 ? maxReferenced : nil
        }
    }

    /// Splits a tree-search buffer into items: `count` native-endian 32-byte headers
    /// (transid, objectid, offset, type, len), each followed by `len` bytes of item.
    /// Stops at the first header that would run past the buffer.
    public static func parse(_ buffer: UnsafeRawBufferPointer, count: Int) -> [Item] {
        var items: [Item] = []
        var position = 0
        let header = Int(SPILLWAY_BTRFS_SEARCH_HEADER_SIZE)
        for _ in 0..<count {
            guard position + header <= buffer.count else { break }
            let objectID = buffer.loadUnaligned(fromByteOffset: position + 8, as: UInt64.self)
            let offset = buffer.loadUnaligned(fromByteOffset: position + 16, as: UInt64.self)
            let type = buffer.loadUnaligned(fromByteOffset: position + 24, as: UInt32.self)
            let length = Int(buffer.loadUnaligned(fromByteOffset: position + 28, as: UInt32.self))
            position += header
            guard position + length <= buffer.count else { break }
            items.append(Item(objectID: objectID, type: type, offset: offset,
                              data: Array(buffer[position..<(position + length)])))
            position += length
        }
        return items
    }

    /// All items of the quota tree with keys from (objectID, minType, minOffset) to
    /// (objectID, maxType, maxOffset), following on until the range is exhausted.
    ///
    /// The corresponding C call is `ioctl(fd, BTRFS_IOC_TREE_SEARCH_V2)`.
    /// - Returns: `nil` when the filesystem has no quota tree (quotas disabled).
    /// - Throws: ``SystemError``.
    static func search(_ fd: FileDescriptor, path: String, objectID: UInt64 = 0, minType: UInt32, maxType: UInt32,
                       minOffset: UInt64 = 0, maxOffset: UInt64 = .max, bufferSize: Int = 16384) throws -> [Item]? {
        var items: [Item] = []
        var key = spillway_btrfs_search_key()
        key.tree_id = SPILLWAY_BTRFS_QUOTA_TREE_OBJECTID
        key.min_objectid = objectID
        key.max_objectid = objectID
        key.min_type = minType
        key.max_type = maxType
        key.min_offset = minOffset
        key.max_offset = maxOffset
        key.min_transid = 0
        key.max_transid = .max
        var buffer = [UInt8](repeating: 0, count: bufferSize)
        while true {
            key.nr_items = 4096
            let result = buffer.withUnsafeMutableBytes { spillway_btrfs_tree_search(fd.rawValue, &key, $0.baseAddress, UInt64($0.count)) }
            if result != 0 {
                if errno == ENOENT { return nil }
                throw SystemError("search the btrfs quota tree of", path: path, syscall: "ioctl(BTRFS_IOC_TREE_SEARCH_V2)",
                                  errno: Errno(rawValue: errno),
                                  hint: errno == EPERM ? "reading the quota tree needs CAP_SYS_ADMIN; run as root" : nil)
            }
            if key.nr_items == 0 { break }
            let batch = buffer.withUnsafeBytes { parse($0, count: Int(key.nr_items)) }
            guard let last = batch.last else { break }
            items += batch
            // Continue after the last key returned.
            if last.offset < .max {
                key.min_offset = last.offset + 1
                key.min_type = last.type
            } else if last.type < maxType {
                key.min_offset = 0
                key.min_type = last.type + 1
            } else {
                break
            }
            if key.min_type > maxType { break }
        }
        return items.filter { $0.type >= minType && $0.type <= maxType && $0.offset >= minOffset && $0.offset <= maxOffset }
    }

    /// The quota status item: whether the numbers are consistent and whether a rescan runs.
    ///
    /// - Returns: `nil` when quotas are disabled.
    /// - Throws: ``SystemError``.
    public static func status(_ fd: FileDescriptor, path: String) throws -> BtrfsQuotaStatus? {
        let key = SPILLWAY_BTRFS_QGROUP_STATUS_KEY
        guard let items = try search(fd, path: path, minType: key, maxType: key, minOffset: 0, maxOffset: 0),
              let item = items.first, let flags = item.field(at: 16)
        else { return nil }
        guard flags & SPILLWAY_BTRFS_QGROUP_STATUS_FLAG_ON != 0 else { return nil }
        return BtrfsQuotaStatus(inconsistent: flags & SPILLWAY_BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT != 0,
                                rescanning: flags & SPILLWAY_BTRFS_QGROUP_STATUS_FLAG_RESCAN != 0)
    }

    /// Qgroup `id`'s committed numbers and limit.
    ///
    /// - Returns: `nil` when quotas are disabled or the qgroup does not exist.
    /// - Throws: ``SystemError``.
    public static func qgroup(_ fd: FileDescriptor, id: UInt64, path: String) throws -> Qgroup? {
        let infoKey = SPILLWAY_BTRFS_QGROUP_INFO_KEY, limitKey = SPILLWAY_BTRFS_QGROUP_LIMIT_KEY
        guard let info = try search(fd, path: path, minType: infoKey, maxType: infoKey, minOffset: id, maxOffset: id,
                                    bufferSize: 4096)?.first else { return nil }
        let limit = try search(fd, path: path, minType: limitKey, maxType: limitKey, minOffset: id, maxOffset: id,
                               bufferSize: 4096)?.first
        return makeQgroup(id: id, info: info, limit: limit)
    }

    /// Every qgroup of the filesystem holding `fd`, by id, in one pass over the quota tree.
    ///
    /// - Returns: `nil` when quotas are disabled.
    /// - Throws: ``SystemError``.
    public static func allQgroups(_ fd: FileDescriptor, path: String) throws -> [UInt64: Qgroup]? {
        guard let items = try search(fd, path: path, minType: SPILLWAY_BTRFS_QGROUP_INFO_KEY,
                                     maxType: SPILLWAY_BTRFS_QGROUP_LIMIT_KEY, bufferSize: 65536) else { return nil }
        var limits: [UInt64: Item] = [:]
        for item in items where item.type == SPILLWAY_BTRFS_QGROUP_LIMIT_KEY { limits[item.offset] = item }
        var result: [UInt64: Qgroup] = [:]
        for item in items where item.type == SPILLWAY_BTRFS_QGROUP_INFO_KEY {
            if let qgroup = makeQgroup(id: item.offset, info: item, limit: limits[item.offset]) { result[item.offset] = qgroup }
        }
        return result
    }

    /// Builds a qgroup from its info item (generation, rfer, rfer_cmpr, excl, excl_cmpr) and
    /// limit item (flags, max_rfer, max_excl, rsv_rfer, rsv_excl), both little-endian u64s.
    static func makeQgroup(id: UInt64, info: Item, limit: Item?) -> Qgroup? {
        guard let referenced = info.field(at: 8), let exclusive = info.field(at: 24) else { return nil }
        return Qgroup(id: id, referenced: referenced, exclusive: exclusive,
                      limitFlags: limit?.field(at: 0) ?? 0, maxReferenced: limit?.field(at: 8) ?? 0,
                      maxExclusive: limit?.field(at: 16) ?? 0)
    }
}
