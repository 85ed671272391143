import Foundation
import SpillwayCore
import SpillwaySystem

/// Containers in mode `fuse` (statically linked programs, or asked for by hand): the supervisor
/// mounts each one's FUSE union at `run_dir/fuse/ID` (served by `spillway fuse mount`, a process
/// of its own that outlives a restart of the daemon); the runtime wrapper makes that the
/// container's root filesystem. The union follows the container's slot like the preload library
/// does, and the drain works on the branches beneath it.
extension Supervisor {
    static func fuseDirectory(_ configuration: DaemonConfiguration) -> String { configuration.runDir + "/fuse" }

    func fuseMountPoint(_ id: String) -> String { Self.fuseDirectory(configuration) + "/" + id }

    /// Mounts the union of a `fuse` container if it is not mounted yet (every `create` asks).
    ///
    /// - Throws: ``ControlError`` naming the container when the union cannot be mounted.
    func ensureFuseMount(_ managed: ManagedContainer) throws {
        guard managed.record.mode == ServingMode.fuse.rawValue else { return }
        guard let spill = managed.partition?.path.string else {
            throw ControlError.conflict("container '\(managed.record.id)' has no spill area yet, so its FUSE union cannot be mounted")
        }
        let mountPoint = fuseMountPoint(managed.record.id)
        do {
            try Self.makeDirectory(Self.fuseDirectory(configuration), mode: 0o755)
            if try FuseUnionMount.mount(executable: FuseUnionMount.currentExecutable(), tree: managed.record.root, spill: spill,
                                        slot: managed.slot.path.string, at: mountPoint) {
                logger.info("FUSE union mounted", metadata: ["id": "\(managed.record.id)", "at": "\(mountPoint)"])
            }
        } catch {
            throw ControlError.badRequest("cannot mount the FUSE union of '\(managed.record.id)': \(error)")
        }
    }

    /// Unmounts a container's union, if mounted (its `delete`, its removal).
    func releaseFuseMount(_ id: String) {
        do {
            if try FuseUnionMount.unmount(at: fuseMountPoint(id)) {
                logger.info("FUSE union unmounted", metadata: ["id": "\(id)"])
            }
        } catch {
            logger.error("cannot unmount the FUSE union", metadata: ["id": "\(id)", "error": "\(error)"])
        }
    }

    /// The control API's `DELETE /v1/containers/ID/fuse`: the runtime wrapper's `delete`, which
    /// comes for every container the engine removes, managed or not: an unknown one has no union.
    public func releaseFuse(_ nameOrID: String) async throws {
        guard let managed = try? resolve(nameOrID) else { return }
        releaseFuseMount(managed.record.id)
    }

    /// Where the union of `managed` is mounted, if it is.
    func fuseMount(of managed: ManagedContainer) -> String? {
        guard managed.record.mode == ServingMode.fuse.rawValue else { return nil }
        let mountPoint = fuseMountPoint(managed.record.id)
        return FuseUnionMount.isMounted(at: mountPoint) ? mountPoint : nil
    }
}
