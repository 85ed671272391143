/// What a program is, for Spillway: read from its ELF headers by the one C reader
/// (`CShim/include/spillway_program.h`, the same the launcher and the preload library's exec
/// hooks use), served as ``ProgramServing/rules`` says.
public enum ProgramKind: Equatable, Sendable, CustomStringConvertible {
    /// Dynamically linked against glibc.
    case glibc(interpreter: String)
    /// Dynamically linked against musl.
    case musl(interpreter: String)
    /// No program interpreter, and not Go.
    case staticBinary
    /// A Go program (its Go build-id note or `.go.buildinfo` section): with cgo it names a
    /// dynamic loader, without it none.
    case go(interpreter: String?)

    /// The kind without its details: the row of ``ProgramServing/rules``. The raw values are the C
    /// reader's `SPILLWAY_PROGRAM_*`.
    public enum Class: UInt32, CaseIterable, Sendable {
        case glibc = 1
        case musl = 2
        case staticBinary = 3
        case go = 4

        /// The value of `SPILLWAY_PROGRAM` the launcher sets for this kind.
        public var environmentValue: String {
            switch self {
            case .glibc: "glibc"
            case .musl: "musl"
            case .staticBinary: "static"
            case .go: "go"
            }
        }
    }

    /// A kind as the C reader reports it: its class number and the `PT_INTERP` it read (empty
    /// when there is none); nil for a number that is no class (the file was not readable).
    public init?(classNumber: UInt32, interpreter: String) {
        switch Class(rawValue: classNumber) {
        case .glibc?: self = .glibc(interpreter: interpreter)
        case .musl?: self = .musl(interpreter: interpreter)
        case .staticBinary?: self = .staticBinary
        case .go?: self = .go(interpreter: interpreter.isEmpty ? nil : interpreter)
        case nil: return nil
        }
    }

    public var programClass: Class {
        switch self {
        case .glibc: .glibc
        case .musl: .musl
        case .staticBinary: .staticBinary
        case .go: .go
        }
    }

    /// The preload library file that serves this kind, if one does.
    public var preloadLibrary: String? { ProgramServing.rule(for: self).serving.preloadLibrary }

    public var description: String {
        switch self {
        case .glibc(let interpreter): "dynamic (glibc, \(interpreter))"
        case .musl(let interpreter): "dynamic (musl, \(interpreter))"
        case .staticBinary: "statically linked"
        case .go(let interpreter?): "Go (cgo, dynamic loader \(interpreter))"
        case .go(nil): "Go (no cgo, statically linked)"
        }
    }
}
