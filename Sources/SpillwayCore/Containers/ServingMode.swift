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
    /// A mode asked for by annotation or environment wins. Otherwise the container's program is
    /// served as ``ProgramServing/rule(for:)-(ProgramKind)`` says: a static or Go program gets
    /// the FUSE union. A program the preload library serves gets the union too when the image
    /// holds a program it may start (named on its command line or in its entrypoint script, or on
    /// its `PATH`) whose row says `startedLaterMeansFuse` (a Go program): a shell or supervisor may
    /// start that one later, and a container's mode is fixed when it is created, so the union,
    /// which serves every program, is chosen. A program that could not be read
    /// (`program == nil`) gets the preload library: the launcher runs it as is and says so.
    ///
    /// - Parameters:
    ///   - program: what the container's program is, as read from its root filesystem.
    ///   - annotations: the OCI spec's `annotations`.
    ///   - environment: the process's `env` entries (`NAME=value`).
    ///   - imageProgram: finds, in the container's image, the first program the container may
    ///     start for which the predicate holds (its path and kind); called only when it can
    ///     change the mode.
    /// - Throws: ``InputError`` for an asked-for mode that is neither `preload` nor `fuse`.
    public static func choose(program: ProgramKind?, annotations: [String: String], environment: [String],
                              imageProgram: ((ProgramKind) -> Bool) -> (path: String, kind: ProgramKind)? = { _ in nil })
        throws(InputError) -> (mode: ServingMode, reason: String)
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
        guard let program else { return (.preload, "the program could not be read") }
        let rule = ProgramServing.rule(for: program)
        if rule.serving == .fuse { return (.fuse, "the program is \(program): \(rule.why)") }
        if let found = imageProgram({ ProgramServing.rule(for: $0).startedLaterMeansFuse }) {
            return (.fuse, "the program is \(program), but the image holds \(found.path), \(found.kind), which it may start: "
                + ProgramServing.rule(for: found.kind).why)
        }
        return (.preload, "the program is \(program): \(rule.why)")
    }
}
