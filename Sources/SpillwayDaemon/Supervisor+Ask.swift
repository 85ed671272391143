import SpillwayCore
import SpillwaySystem
import SystemPackage

/// A container's spill area made usable for every user of the container, and its ask socket.
extension Supervisor {
    /// Gives the spill area's top the owner and mode of the container's root and opens (or
    /// re-points) its ask socket; a failure is the container's `problem`, not a refusal (it
    /// still spills for root).
    func prepareSpillArea(_ managed: ManagedContainer) {
        guard let partition = managed.partition else { return }
        do {
            try SpillTop.shape(partition.path, like: FilePath(managed.record.root))
            try ask.open(id: managed.record.id, root: managed.record.root, spill: partition.path.string)
            if managed.problem?.hasPrefix("cannot prepare its spill area") == true { managed.problem = nil }
        } catch {
            managed.problem = "cannot prepare its spill area for non-root users: \(error)"
            logger.error("spill area not prepared", metadata: ["id": "\(managed.record.id)", "error": "\(error)"])
        }
    }
}
