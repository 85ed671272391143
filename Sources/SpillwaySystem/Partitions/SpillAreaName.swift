import SpillwayCore

/// A container id used as a spill area's name on the sub disk: one directory entry, never `.`,
/// `..`, hidden or holding a `/`, by the one id rule (``ContainerID``).
public enum SpillAreaName {
    /// The longest id accepted, in bytes.
    public static let maxBytes = ContainerID.maxBytes

    /// Checks `id`.
    ///
    /// - Throws: ``InputError`` naming the id, what is wrong and what is allowed.
    public static func validate(_ id: String) throws(InputError) {
        try ContainerID.validate(id)
    }

    /// Whether `id` passes ``validate(_:)``.
    public static func isValid(_ id: String) -> Bool {
        ContainerID.isValid(id)
    }
}
