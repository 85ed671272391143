/// What a program needs to be reached by Spillway, from its ELF program headers.
public enum ProgramKind: Equatable, Sendable, CustomStringConvertible {
    /// Dynamically linked against glibc: served by `libspillway.so`.
    case glibc(interpreter: String)
    /// Dynamically linked against musl: served by `libspillway-musl.so`.
    case musl(interpreter: String)
    /// No program interpreter: no preload library reaches it; the FUSE fallback serves it.
    case staticBinary

    /// Classifies a program by its `PT_INTERP`, or `nil` for a static program.
    public init(interpreter: String?) {
        guard let interpreter else {
            self = .staticBinary
            return
        }
        self = interpreter.contains("ld-musl") ? .musl(interpreter: interpreter) : .glibc(interpreter: interpreter)
    }

    /// The preload library file that serves this kind, if any.
    public var preloadLibrary: String? {
        switch self {
        case .glibc: "libspillway.so"
        case .musl: "libspillway-musl.so"
        case .staticBinary: nil
        }
    }

    public var description: String {
        switch self {
        case .glibc(let interpreter): "dynamic (glibc, \(interpreter))"
        case .musl(let interpreter): "dynamic (musl, \(interpreter))"
        case .staticBinary: "static"
        }
    }
}
