/// Why a file is not a usable slot (see `CShim/include/spillway_slot.h`).
public enum SlotDamage: Equatable, Sendable {
    /// The file is not one page long (truncated, or grown), or not a regular file.
    case wrongSize(Int64)
    /// The first eight bytes are not `SPILLWAY`.
    case badMagic(UInt64)
    case badVersion(UInt32)
    case badHeaderSize(UInt32)
    /// The state word is none of `normal`, `spilling`, `draining`.
    case unknownState(UInt32)
    /// The generation stayed odd: an update never finished.
    case inconsistent

    /// One phrase for the operator: "is 0 bytes long instead of 4096".
    public var problem: String {
        switch self {
        case .wrongSize(let size): "is not a slot file (\(size) bytes long instead of \(SlotDamage.pageSize))"
        case .badMagic(let magic): "is not a slot file (magic 0x\(String(magic, radix: 16)) instead of SPILLWAY)"
        case .badVersion(let version): "is slot version \(version), not one this build reads"
        case .badHeaderSize(let size): "has a header of \(size) bytes, too short for this build"
        case .unknownState(let state): "holds unknown state \(state)"
        case .inconsistent: "holds no consistent slot (an update never finished)"
        }
    }

    /// A short machine-readable name: `truncated`, `corrupt`, `inconsistent`.
    public var reason: String {
        switch self {
        case .wrongSize(let size): size < SlotDamage.pageSize ? "truncated" : "wrong_size"
        case .badMagic, .badVersion, .badHeaderSize, .unknownState: "corrupt"
        case .inconsistent: "inconsistent"
        }
    }

    /// The size of a slot file (`SPILLWAY_SLOT_FILE_SIZE`).
    public static let pageSize: Int64 = 4096
}
