import Foundation
import SpillwayCore
import SpillwaySystem
import SystemPackage

/// Each container's slot, kept as an untrusted file: made or repaired when the container is
/// attached, checked at every poll, repaired in place with a `slot_repaired` event, removed with
/// the container (also when its registration is refused).
extension Supervisor {
    static func slotDirectory(_ configuration: DaemonConfiguration) -> String { configuration.runDir + "/slots" }

    /// Second links of the slots (see ``SupervisedSlot``): private, beside them.
    static func spareSlotDirectory(_ configuration: DaemonConfiguration) -> String { slotDirectory(configuration) + "/.held" }

    /// The run directory's slot directories, private to root (the slot files keep 0644: they
    /// are bind-mounted into containers, whose processes may be any user).
    static func makeSlotDirectories(_ configuration: DaemonConfiguration) throws {
        try makeDirectory(configuration.runDir, mode: 0o700)
        try makePrivateDirectory(slotDirectory(configuration))
        try makePrivateDirectory(spareSlotDirectory(configuration))
    }

    /// Opens or makes `record`'s slot, repairing it (with an event) if it was damaged or
    /// replaced while the daemon was down.
    func keepSlot(for record: StoredContainer) throws -> SupervisedSlot {
        let (slot, faults) = try SupervisedSlot.keep(
            in: FilePath(Self.slotDirectory(configuration)), spares: FilePath(Self.spareSlotDirectory(configuration)),
            name: "\(record.id).slot", snapshot: SlotSnapshot(state: record.slotState, containerID: record.id))
        reportSlotFaults(faults, of: record.id, slot: slot)
        return slot
    }

    /// Checks a container's slot at a poll and repairs what is wrong.
    func checkSlot(_ managed: ManagedContainer) {
        do {
            reportSlotFaults(try managed.slot.verify(), of: managed.record.id, slot: managed.slot)
            if managed.problem?.hasPrefix("cannot repair its slot") == true { managed.problem = nil }
        } catch {
            managed.problem = "cannot repair its slot: \(error)"
            logger.error("slot repair failed", metadata: ["id": "\(managed.record.id)", "error": "\(error)"])
        }
    }

    /// Changes a container's slot, repairing it first if needed.
    func updateSlot(_ managed: ManagedContainer, _ body: (inout SlotSnapshot) -> Void) throws {
        reportSlotFaults(try managed.slot.update(body), of: managed.record.id, slot: managed.slot)
    }

    /// One `slot_repaired` event per repair, naming what was wrong.
    func reportSlotFaults(_ faults: [SlotFault], of id: String, slot: SupervisedSlot) {
        guard !faults.isEmpty else { return }
        let what = faults.map(\.description).joined(separator: "; ")
        logger.warning("slot repaired", metadata: ["id": "\(id)", "found": "\(what)"])
        do {
            try emit(EventRecord(
                timeNanoseconds: Self.now().nanosecondsSinceEpoch, container: id, kind: "slot_repaired",
                to: slot.expected.state, reason: faults.map(\.reason).joined(separator: ","),
                detail: "slot \(slot.path.string) \(what); rewritten in place (inode \(slot.file.inode))"))
        } catch {
            logger.error("cannot record event", metadata: ["error": "\(error)"])
        }
    }

    /// Makes `path` a directory only root can enter: made 0700, or, when it exists, a real
    /// directory (not a symlink) whose mode is set to 0700.
    static func makePrivateDirectory(_ path: String) throws {
        try makeDirectory(path, mode: 0o700)
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw SystemError("open directory", path: path, syscall: "open", errno: Errno(rawValue: errno),
                              hint: "it must be a directory, not a symlink")
        }
        defer { close(fd) }
        if fchmod(fd, 0o700) != 0 {
            throw SystemError("set the mode of directory", path: path, syscall: "fchmod", errno: Errno(rawValue: errno))
        }
    }
}
