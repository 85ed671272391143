/// How Spillway serves each kind of program: the one rule table. `spillway inspect`, the
/// runtime wrapper's choice of mode (``ServingMode/choose(program:annotations:environment:imageProgram:)``)
/// and, mirrored in C, the launcher (`spillway_program_serving` in
/// `CShim/include/spillway_program.h`) follow it; a test checks that C and Swift agree on
/// every row.
public enum ProgramServing: Equatable, Sendable, CustomStringConvertible {
    /// The preload library of that file name, loaded into the program's processes.
    case preloadLibrary(String)
    /// The container's FUSE union, as its root filesystem.
    case fuse

    /// One row: how a kind is served, why, and whether such a program in the image that the
    /// container may start later (named on its command line or in its entrypoint script, or on
    /// its `PATH`) makes the whole container FUSE-served: a shell or a supervisor may start it
    /// after the container's mode is fixed, and a preload-served container cannot serve it then.
    public struct Rule: Sendable, Equatable {
        public let serving: ProgramServing
        public let why: String
        public let startedLaterMeansFuse: Bool
    }

    /// The row of a kind (a switch, so every kind has one).
    public static func rule(for programClass: ProgramKind.Class) -> Rule {
        switch programClass {
        case .glibc:
            Rule(serving: .preloadLibrary("libspillway.so"),
                 why: "its file calls go through glibc, where libspillway.so hooks them", startedLaterMeansFuse: false)
        case .musl:
            Rule(serving: .preloadLibrary("libspillway-musl.so"),
                 why: "its file calls go through musl, where libspillway-musl.so hooks them", startedLaterMeansFuse: false)
        case .staticBinary:
            // Not for the image scan: every Debian image has a static ldconfig, and the static
            // C programs in an image are tools (ldconfig, busybox), rarely its writers.
            Rule(serving: .fuse, why: "a program without a dynamic loader loads no preload library", startedLaterMeansFuse: false)
        case .go:
            Rule(serving: .fuse, why: "Go makes its own system calls, with cgo or without, and no preload library sees them",
                 startedLaterMeansFuse: true)
        }
    }

    /// The row of `kind`.
    public static func rule(for kind: ProgramKind) -> Rule { rule(for: kind.programClass) }

    public var preloadLibrary: String? {
        if case .preloadLibrary(let name) = self { return name }
        return nil
    }

    public var description: String {
        switch self {
        case .preloadLibrary(let name): name
        case .fuse: "the FUSE union"
        }
    }
}
