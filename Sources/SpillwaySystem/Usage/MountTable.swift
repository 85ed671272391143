/// The mounts this process sees, from /proc/self/mountinfo.
public struct MountTable: Sendable {
    /// One line of mountinfo (proc(5)).
    public struct Entry: Sendable, Equatable {
        /// The mount's id (statx `STATX_MNT_ID` gives the same number).
        public var mountID: UInt64
        /// The parent mount's id.
        public var parentID: UInt64
        /// The device number st_dev reports for files on it (anonymous for btrfs and overlay).
        public var major: UInt32
        /// The minor half of that device number.
        public var minor: UInt32
        /// The directory of the filesystem mounted here (for bind mounts, not "/").
        public var root: String
        /// Where it is mounted.
        public var mountPoint: String
        /// Per-mount options: `rw`, `nosuid`, `nodev`, …
        public var mountOptions: [String]
        /// `ext4`, `btrfs`, `overlay`, …
        public var filesystemType: String
        /// The mount source: a device such as /dev/loop3, or a name.
        public var source: String
        /// Per-superblock options: `upperdir=…` for overlay, `subvolid=…` for btrfs.
        public var superOptions: [String]

        /// The value of super option `name=` (for overlay: `upperdir`, `lowerdir`, `workdir`).
        public func superOption(_ name: String) -> String? {
            let prefix = name + "="
            return superOptions.first(where: { $0.hasPrefix(prefix) }).map { String($0.dropFirst(prefix.count)) }
        }
    }

    /// The mounts, in mountinfo order (a later entry may be mounted over an earlier one).
    public var entries: [Entry]

    /// A table of `entries`.
    public init(entries: [Entry]) {
        self.entries = entries
    }

    /// Reads /proc/self/mountinfo.
    ///
    /// - Throws: ``SystemError`` when it cannot be read.
    public static func current() throws -> MountTable {
        let bytes = try Descriptors.readSmallFile(at: "/proc/self/mountinfo")
        return MountTable(parsing: String(decoding: bytes, as: UTF8.self))
    }

    /// Parses mountinfo text; malformed lines are skipped.
    public init(parsing text: String) {
        entries = text.split(separator: "\n").compactMap(Self.parse(line:))
    }

    /// The entry with mount id `id`.
    public func entry(mountID id: UInt64) -> Entry? { entries.last(where: { $0.mountID == id }) }

    /// The topmost entry mounted at `mountPoint`.
    public func entry(mountPoint: String) -> Entry? { entries.last(where: { $0.mountPoint == mountPoint }) }

    /// Entries whose mount point is `directory` or lies beneath it.
    public func entries(under directory: String) -> [Entry] {
        let prefix = directory.hasSuffix("/") ? directory : directory + "/"
        return entries.filter { $0.mountPoint == directory || $0.mountPoint.hasPrefix(prefix) }
    }

    static func parse(line: Substring) -> Entry? {
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        guard let dash = fields.firstIndex(of: "-"), dash >= 6, fields.count >= dash + 4 else { return nil }
        let device = fields[2].split(separator: ":")
        guard let mountID = UInt64(fields[0]), let parentID = UInt64(fields[1]), device.count == 2,
              let major = UInt32(device[0]), let minor = UInt32(device[1])
        else { return nil }
        return Entry(
            mountID: mountID, parentID: parentID, major: major, minor: minor,
            root: unescape(fields[3]), mountPoint: unescape(fields[4]),
            mountOptions: fields[5].split(separator: ",").map(String.init),
            filesystemType: unescape(fields[dash + 1]), source: unescape(fields[dash + 2]),
            superOptions: splitOptions(fields[dash + 3]))
    }

    /// Splits super options at commas; overlay escapes commas inside values with a backslash.
    static func splitOptions(_ field: Substring) -> [String] {
        var options: [String] = []
        var current: [UInt8] = []
        var escaped = false
        for byte in field.utf8 {
            if escaped {
                current.append(byte)
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                current.append(byte)
                escaped = true
            } else if byte == UInt8(ascii: ",") {
                options.append(unescape(Substring(decoding: current, as: UTF8.self)))
                current = []
            } else {
                current.append(byte)
            }
        }
        if !current.isEmpty { options.append(unescape(Substring(decoding: current, as: UTF8.self))) }
        return options
    }

    /// Undoes the kernel's octal escapes (`\040` for a space) and backslash escapes.
    static func unescape(_ field: Substring) -> String {
        let bytes = Array(field.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "\\"), i + 4 <= bytes.count,
               bytes[(i + 1)..<(i + 4)].allSatisfy({ $0 >= 0x30 && $0 <= 0x37 }) {
                let value = (Int(bytes[i + 1]) - 0x30) * 64 + (Int(bytes[i + 2]) - 0x30) * 8 + (Int(bytes[i + 3]) - 0x30)
                out.append(UInt8(truncatingIfNeeded: value))
                i += 4
            } else if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count {
                out.append(bytes[i + 1])
                i += 2
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
