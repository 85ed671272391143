#if canImport(Glibc)
import Glibc
#endif
import CSpillway
import CSpillwaySyscalls
import SpillwayCore
import Synchronization

/// The container's slot, mapped read-only, as the FUSE union reads it: one acquire load of the
/// state per create or open for writing (the same cost as the preload library's hooks).
///
/// The slot is a file the supervisor owns but does not trust (docs/SECURITY.md): if it is
/// truncated while mapped, a load would raise SIGBUS and end the server, and with it every
/// process using the union. A guard (`spillway_slot_guard.h`) turns such a fault into a zero
/// page, which reads as no slot (`normal`, fail open), and maps the file back once the
/// supervisor has repaired it in place.
///
/// After the union rescued a write from `EDQUOT`/`ENOSPC` while the slot said `normal`, it
/// behaves as `spilling` until the supervisor next changes the slot (its generation moves), so
/// new names land where the rescued file went, as the preload library does.
public final class SlotWatch: @unchecked Sendable {
    private let base: UnsafeRawPointer?
    /// The slot file, held for mapping it again after a repair; -1 without a slot.
    private let fd: Int32
    /// The generation at which a rescue happened; `UInt64.max` for none.
    private let rescuedAt = Atomic<UInt64>(UInt64.max)

    /// A slot that never leaves `normal` (for a union with no supervisor).
    public init() {
        base = nil
        fd = -1
    }

    /// Maps the slot file at `path` read-only.
    ///
    /// - Throws: ``FuseUnionError`` naming the file when it cannot be opened or mapped, is not
    ///   a page-sized regular file, or is not a slot of this build (magic, version, state).
    public init(path: String) throws(FuseUnionError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            throw FuseUnionError(input: "--slot \(path)", problem: "cannot be opened (\(String(cString: strerror(errno))))",
                                 fix: "create it with `spillway slot create \(path)`")
        }
        var st = stat()
        let size = Int(SPILLWAY_SLOT_FILE_SIZE)
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size == off_t(size) else {
            close(fd)
            throw FuseUnionError(input: "--slot \(path)", problem: "is not a slot file (a slot is a regular file of exactly \(size) bytes)",
                                 fix: "give the file `spillway slot create` made")
        }
        guard let mapped = mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), mapped != MAP_FAILED else {
            close(fd)
            throw FuseUnionError(input: "--slot \(path)", problem: "cannot be mapped (\(String(cString: strerror(errno))))",
                                 fix: "give a slot file on a local filesystem")
        }
        guard spillway_slot_is_valid(mapped.assumingMemoryBound(to: spillway_slot.self), size) != 0 else {
            munmap(mapped, size)
            close(fd)
            throw FuseUnionError(input: "--slot \(path)", problem: "is not a slot of this version (bad magic, version or state)",
                                 fix: "recreate it with `spillway slot create`")
        }
        base = UnsafeRawPointer(mapped)
        self.fd = fd
        spillway_slot_guard_install(mapped, size)
    }

    private static let generationOffset = MemoryLayout<spillway_slot>.offset(of: \spillway_slot.generation)!

    private var slot: UnsafePointer<spillway_slot>? { base?.assumingMemoryBound(to: spillway_slot.self) }

    /// The state the union acts on now: the slot's, or `spilling` after a rescue the supervisor
    /// has not answered yet. An unknown state reads as `normal` (fail open).
    public var state: SlotState {
        guard let slot else { return rescuedAt.load(ordering: .relaxed) == 0 ? .spilling : .normal }
        if spillway_slot_guard_tripped() != 0 { spillway_slot_guard_restore(fd) }
        let raw = spillway_slot_state(slot)
        if raw == SlotState.normal.rawValue {
            let rescued = rescuedAt.load(ordering: .relaxed)
            if rescued != UInt64.max,
               rescued == UnsafeRawPointer(slot).load(fromByteOffset: Self.generationOffset, as: UInt64.self) {
                return .spilling
            }
            return .normal
        }
        return SlotState(rawValue: raw) ?? .normal
    }

    /// This union's bytes added to the spill area since the supervisor last measured it, for a
    /// cap the kernel does not enforce (`SPILLWAY_SLOT_FLAG_LIBRARY_CAP`).
    private let ledger: UnsafeMutablePointer<spillway_cap_ledger> = {
        let pointer = UnsafeMutablePointer<spillway_cap_ledger>.allocate(capacity: 1)
        pointer.initialize(to: spillway_cap_ledger())
        return pointer
    }()

    /// How many of `growth` new spill-area bytes may be written now, charged to this union's
    /// ledger (`spillway_cap_take`, the rule the preload library applies; a refusal that may
    /// count the union's own bytes twice waits for the supervisor's next measurement first);
    /// `nil` when the slot does not ask the union to enforce the cap.
    public func takeSpillRoom(_ growth: UInt64) -> UInt64? {
        guard let slot else { return nil }
        var view = spillway_slot_view()
        guard spillway_slot_read(slot, &view, 64) != 0, view.flags & SPILLWAY_SLOT_FLAG_LIBRARY_CAP != 0,
              view.spill_limit != 0
        else { return nil }
        let granted = spillway_cap_take(ledger, view.spill_limit, view.spill_used, view.spill_epoch, growth)
        guard granted < growth, spillway_cap_should_remeasure(ledger, view.spill_epoch) != 0 else { return granted }
        // The refusal may count bytes the last measurement holds already: ask a fresh one.
        spillway_cap_refund(ledger, granted)
        let epoch = view.spill_epoch
        var waited: UInt32 = 0
        while waited < SPILLWAY_CAP_REMEASURE_WAIT_MS {
            guard spillway_slot_read(slot, &view, 64) != 0, view.spill_epoch == epoch else { break }
            usleep(10_000)
            waited += 10
        }
        return spillway_cap_take(ledger, view.spill_limit, view.spill_used, view.spill_epoch, growth)
    }

    /// Charges `bytes` added without asking (a file the union moved into the spill area).
    public func chargeSpillRoom(_ bytes: UInt64) {
        guard takeSpillRoom(0) != nil else { return }
        spillway_cap_charge(ledger, bytes)
    }

    /// Gives back `bytes` taken with ``takeSpillRoom(_:)`` that were not written.
    public func refundSpillRoom(_ bytes: UInt64) {
        spillway_cap_refund(ledger, bytes)
    }

    /// Records that a write was rescued into the spill area at the slot's current generation.
    public func noteRescue() {
        guard let slot else { rescuedAt.store(0, ordering: .relaxed); return }
        let generation = UnsafeRawPointer(slot).load(fromByteOffset: Self.generationOffset, as: UInt64.self)
        rescuedAt.store(generation, ordering: .relaxed)
    }
}
