import CFuse3

/// The libfuse3 this build is linked against.
public enum FuseLibrary {
    /// libfuse's package version, e.g. `3.14.0`.
    ///
    /// The corresponding C function is `fuse_pkgversion`.
    public static var version: String {
        String(cString: fuse_pkgversion())
    }
}
