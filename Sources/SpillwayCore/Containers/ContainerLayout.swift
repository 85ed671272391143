/// Where Spillway's pieces appear inside a managed container. Everything is under one
/// directory, `/.spillway`, which the preload library never redirects.
public enum ContainerLayout {
    /// The directory that holds everything below.
    public static let base = "/.spillway"
    /// The installed `lib_dir` (preload libraries, the `$LIB` preload tree), read-only.
    public static let libDir = base + "/lib"
    /// The launcher, read-only: put in front of the container's program.
    public static let launcher = base + "/bin/spillway-entry"
    /// The container's slot file, read-only.
    public static let slot = base + "/slot"
    /// The container's spill area on the sub disk, read-write.
    public static let spill = base + "/spill"
    /// The directory holding the container's ask socket (read-only; the socket accepts any user).
    public static let ask = base + "/ask"
    /// The ask socket itself (CShim/include/spillway_slot.h, `SPILLWAY_ASK_CONTAINER_PATH`).
    public static let askSocket = ask + "/sock"
    /// The managed tree: the container's whole root filesystem.
    public static let root = "/"

    /// The environment the preload library and the launcher read (see CShim/src/init.c and
    /// CShim/launcher/entry.c).
    public static let environment: [(String, String)] = [
        ("SPILLWAY_SLOT", slot),
        ("SPILLWAY_SPILL", spill),
        ("SPILLWAY_ROOT", root),
        ("SPILLWAY_LIB_DIR", libDir),
        ("SPILLWAY_ASK", askSocket),
    ]
}
