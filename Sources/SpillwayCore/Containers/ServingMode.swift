/// How a container created by the runtime wrapper is served: by the preload library in its
/// processes, or by the FUSE union as its root filesystem (for programs no preload library
/// reaches).
public enum ServingMode: String, Sendable, Equatable, CaseIterable {
    case preload
    case fuse

    /// The OCI annotation (`docker run --annotation`, a Kubernetes pod annotation) and the
    /// environment variable of the container (`docker run -e`) that choose the mode by hand.
    public static let annotation = "spillway.mode"
    public static let environmentVariable = "SPILLWAY_MODE"

    /// The mode for a container, and why.
    ///
    /// A mode asked for by annotation or environment wins; otherwise a static program (which
    /// ignores `LD_PRELOAD`) gets the FUSE union and everything else the preload library. A
    /// program that could not be read (`program == nil`) gets the preload library: the launcher
    /// runs it as is and says so.
    ///
    /// - Parameters:
    ///   - program: what the container's program is, as read from its root filesystem.
    ///   - annotations: the OCI spec's `annotations`.
    ///   - environment: the process's `env` entries (`NAME=value`).
    /// - Throws: ``InputError`` for an asked-for mode that is neither `preload` nor `fuse`.
    public static func choose(program: ProgramKind?, annotations: [String: String], environment: [String]) throws(InputError)
        -> (mode: ServingMode, reason: String)
    {
        let prefix = environmentVariable + "="
        let asked: (String, String)? = annotations[annotation].map { ($0, "annotation \(annotation)") }
            ?? environment.last(where: { $0.hasPrefix(prefix) }).map { (String($0.dropFirst(prefix.count)), "environment \(environmentVariable)") }
        if let (value, source) = asked {
            guard let mode = ServingMode(rawValue: value) else {
                throw InputError("\(source) is '\(value)'; use preload or fuse")
            }
            return (mode, "asked for by \(source)")
        }
        switch program {
        case .staticBinary?: return (.fuse, "the program is statically linked")
        case .glibc?, .musl?: return (.preload, "the program is \(program!)")
        case nil: return (.preload, "the program could not be read")
        }
    }
}
