/// How a container engine's id (Docker, containerd and CRI-O use 64 hex digits) becomes the id
/// Spillway manages the container by. A slot holds at most 63 bytes of id, so a 64-digit id is
/// shortened to its first 12 digits, as `docker ps` shows it; any other id that Spillway accepts
/// is kept as it is. The runtime wrapper and Docker discovery both use this, so they agree.
public enum EngineContainerID {
    /// Digits kept of a full-length hexadecimal id.
    public static let shortLength = 12

    /// The Spillway id for the engine's `id`.
    ///
    /// - Throws: ``InputError`` when `id` is neither a full hexadecimal id nor a valid Spillway id.
    public static func spillwayID(for id: String) throws(InputError) -> String {
        if isFullHexID(id) { return String(id.prefix(shortLength)) }
        try ContainerRegistration.validate(id: id)
        return id
    }

    /// Is `id` 64 lowercase hexadecimal digits (a Docker, containerd or CRI-O container id)?
    public static func isFullHexID(_ id: String) -> Bool {
        id.utf8.count == 64 && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
