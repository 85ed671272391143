import Foundation

/// The Go test program (Tests/SpillwayIntegrationTests/Fixtures/go_writer) built with the
/// host's Go (Debian's golang-go) once per test run: with cgo (linked against glibc, a
/// `PT_INTERP`) and without (static). Go writes with its own system calls either way.
public enum GoPrograms {
    /// The two builds: `cgo` and `static`.
    public enum Build: String, CaseIterable, Sendable {
        case cgo
        case `static`

        /// The program's name in test images (`/usr/local/bin/NAME`).
        public var programName: String { "go-writer-" + rawValue }
    }

    /// The path of `build`, built at the first call of this run.
    public static func path(_ build: Build) throws -> String {
        try built.get() + "/" + build.programName
    }

    /// The log the Go image holds before any container runs (`/var/log/go-writer.log`), which
    /// the tests append to: 20,000 numbered lines.
    public static let logInImage = "/var/log/go-writer.log"
    /// Where ``ContainerImages/bookwormGo()`` holds the cgo build a second time, on no `PATH`.
    public static let offPath = "/opt/go/go-writer-cgo"
    public static let initialLog = (1...20_000).map { "go-writer log line \($0)\n" }.joined()

    /// rename(2), replacing `destination`, or the errno as an error.
    static func renameIntoPlace(_ source: String, _ destination: String) throws {
        guard rename(source, destination) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    private static let built: Result<String, Error> = Result {
        // Fixed names in the cache, each written under a temporary name and renamed into
        // place, so test processes running at once never see half a program.
        let directory = ContainerImages.cacheDirectory + "/go-writer"
        try FileManager.default.createDirectory(atPath: directory + "/gocache", withIntermediateDirectories: true)
        let source = Paths.packageRoot.appendingPathComponent("Tests/SpillwayIntegrationTests/Fixtures/go_writer").path
        for build in Build.allCases {
            let temporary = directory + "/.\(build.programName).\(getpid())"
            try Command.check(["go", "build", "-o", temporary, "."], environment: [
                "CGO_ENABLED": build == .cgo ? "1" : "0", "GO111MODULE": "off", "GOCACHE": directory + "/gocache",
                "GOPATH": directory + "/gopath", "HOME": directory,
            ], directory: source)
            try renameIntoPlace(temporary, directory + "/" + build.programName)
        }
        return directory
    }
}

extension ContainerImages {
    /// ``bookworm()`` with both builds of the Go test program added as
    /// `/usr/local/bin/go-writer-cgo` and `/usr/local/bin/go-writer-static` (the Go programs on
    /// the image's `PATH`) and ``GoPrograms/initialLog`` as ``GoPrograms/logInImage``. Made
    /// once per test run (the Go builds are this run's).
    public static func bookwormGo() throws -> String {
        try bookwormGoResult.get()
    }

    private static let bookwormGoResult: Result<String, Error> = Result {
        let base = try bookworm()
        let tarball = cacheDirectory + "/bookworm-go-writer.tar"
        let stage = cacheDirectory + "/go-image-\(getpid())"
        try FileManager.default.createDirectory(atPath: stage + "/usr/local/bin", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: stage) }
        try FileManager.default.createDirectory(atPath: stage + "/var/log", withIntermediateDirectories: true)
        try GoPrograms.initialLog.write(toFile: stage + GoPrograms.logInImage, atomically: false, encoding: .utf8)
        var members = ["." + GoPrograms.logInImage]
        for build in GoPrograms.Build.allCases {
            try Command.check(["install", "-m", "0755", try GoPrograms.path(build), stage + "/usr/local/bin/" + build.programName])
            members.append("./usr/local/bin/" + build.programName)
        }
        // The cgo build once more outside every PATH, for a shell to start by its full name.
        try FileManager.default.createDirectory(atPath: stage + "/opt/go", withIntermediateDirectories: true)
        try Command.check(["install", "-m", "0755", try GoPrograms.path(.cgo), stage + GoPrograms.offPath])
        members += ["./opt/go", "." + GoPrograms.offPath]
        try Command.check(["cp", base, stage + ".tar"])
        try Command.check(["tar", "-C", stage, "--no-recursion", "-rf", stage + ".tar"] + members)
        try GoPrograms.renameIntoPlace(stage + ".tar", tarball)
        return tarball
    }
}
