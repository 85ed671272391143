/// Docker discovery's decisions, apart from any I/O: which containers Spillway manages, by
/// which id and root, and what an engine event means.
public enum DockerDiscovery {
    /// The label that keeps a container out of Spillway's hands when `false`.
    public static let enableLabel = "spillway.enable"

    /// What to do about one container the engine reports.
    public enum Decision: Sendable, Equatable {
        /// Manage it (register it, or give a known one its Docker name).
        case manage(ContainerRegistration)
        /// Leave it alone, for the reason given (a label, a driver Spillway cannot read, ...).
        case ignore(String)
    }

    /// What an engine event asks for.
    public enum EventAction: Sendable, Equatable {
        /// Inspect the container and manage it (`start`).
        case sync(String)
        /// Forget it: it no longer exists (`destroy`).
        case forget(String)
        /// Nothing to do.
        case none
    }

    /// Does the container's label say to leave it alone?
    public static func isDisabled(_ labels: [String: String]) -> Bool {
        guard let value = labels[enableLabel]?.lowercased() else { return false }
        return ["false", "0", "no", "off"].contains(value)
    }

    /// The container's root filesystem on the host.
    ///
    /// - btrfs: `<data-root>/btrfs/subvolumes/<mount id>` (the engine's mount id of the
    ///   container's layer, read from `<data-root>/image/btrfs/layerdb/mounts/<id>/mount-id`);
    /// - overlay2 and others that report one: `GraphDriver.Data.MergedDir`.
    ///
    /// - Returns: the path, or nil with no way to know it (the caller ignores the container).
    public static func root(of container: DockerContainer, dataRoot: String, mountID: String?) -> String? {
        switch container.graphDriver {
        case "btrfs":
            guard let mountID, SpillAreaNameRules.isPlainName(mountID) else { return nil }
            return dataRoot + "/btrfs/subvolumes/" + mountID
        default:
            if let merged = container.graphDriverData["MergedDir"], merged.hasPrefix("/") { return merged }
            return nil
        }
    }

    /// Where the btrfs driver's mount id of `containerID` is stored, under the data root.
    public static func mountIDPath(dataRoot: String, driver: String, containerID: String) -> String {
        "\(dataRoot)/image/\(driver)/layerdb/mounts/\(containerID)/mount-id"
    }

    /// The decision for `container`, whose root is `root` (nil when unknown).
    ///
    /// Discovery registers containers in mode `monitor`: only those started through
    /// `spillway-runtime` have the preload library and can spill, and the runtime registers
    /// those itself (mode `preload`) before they start.
    public static func decide(_ container: DockerContainer, root: String?) -> Decision {
        if isDisabled(container.labels) {
            return .ignore("labelled \(enableLabel)=\(container.labels[enableLabel] ?? "")")
        }
        guard let id = try? EngineContainerID.spillwayID(for: container.id) else {
            return .ignore("its id '\(container.id)' cannot name a Spillway container")
        }
        guard let root else {
            return .ignore("its root filesystem cannot be found (storage driver \(container.graphDriver ?? "unknown"); Spillway reads btrfs and overlay2)")
        }
        let name = (try? ContainerRegistration.validate(id: container.name)) != nil ? container.name : nil
        return .manage(ContainerRegistration(id: id, root: root, name: name, mode: "monitor"))
    }

    /// What `event` asks for.
    public static func action(for event: DockerEvent) -> EventAction {
        guard event.type == nil || event.type == "container", !event.actorID.isEmpty else { return .none }
        switch event.action {
        case "start": return .sync(event.actorID)
        case "destroy": return .forget(event.actorID)
        default: return .none
        }
    }

    /// Of the managed containers (`known`: Spillway id and root), those that came from this
    /// engine (root under its data root) but that the engine no longer has (`engineIDs`, full
    /// ids): they were removed while the daemon was down.
    public static func vanished(known: [(id: String, root: String)], engineIDs: [String], dataRoot: String) -> [String] {
        let present = Set(engineIDs.compactMap { try? EngineContainerID.spillwayID(for: $0) })
        let prefix = dataRoot.hasSuffix("/") ? dataRoot : dataRoot + "/"
        return known.filter { $0.root.hasPrefix(prefix) && !present.contains($0.id) }.map(\.id).sorted()
    }
}


/// A single path component of letters, digits, `-`, `_` and `.` (not `.`/`..`).
enum SpillAreaNameRules {
    static func isPlainName(_ text: String) -> Bool {
        !text.isEmpty && text != "." && text != ".." && text.utf8.count <= 255 && text.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E
        }
    }
}
