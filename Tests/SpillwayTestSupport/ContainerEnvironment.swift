import Foundation
import SpillwaySystem

/// A whole container host for tests: a ``DaemonFixture`` (btrfs main disk with quotas, btrfs
/// sub disk, the spillway daemon with Docker discovery on) and a ``PrivateDockerd`` whose data
/// root is on that main disk, with `spillway-runtime` registered as the runtime `spillway`.
/// ``destroy()`` stops dockerd first, then the daemon, then removes the disks.
public final class ContainerEnvironment: @unchecked Sendable {
    public let daemon: DaemonFixture
    public let dockerd: PrivateDockerd

    /// - Parameter dockerdArguments: more dockerd options (``UserNamespaceRemap/dockerdArguments()``).
    public init(mainMegabytes: Int = 2048, subMegabytes: Int = 1024, extraConfig: String = "", dockerdArguments: [String] = []) throws {
        dockerd = try PrivateDockerd()
        do {
            daemon = try DaemonFixture(
                mainMegabytes: mainMegabytes, subMegabytes: subMegabytes, dockerSocket: dockerd.socket,
                extraConfig: "lib_dir = \"\(Paths.shimBuild.path)\"\n" + extraConfig)
        } catch {
            dockerd.destroy()
            throw error
        }
        do {
            try daemon.start()
            try dockerd.start(dataRoot: daemon.main.mountPoint + "/docker", runtimes: [
                "spillway": (Paths.executable("spillway-runtime"),
                             ["--spillway-socket=\(daemon.socket)", "--spillway-lib-dir=\(Paths.shimBuild.path)"]),
            ], extraArguments: dockerdArguments)
        } catch {
            destroy()
            throw error
        }
    }

    /// `docker run --rm --network none --runtime RUNTIME --storage-opt size=SIZE ARGS...`.
    public func run(runtime: String = "spillway", size: String, name: String? = nil, _ arguments: [String]) throws -> HostCommand.Result {
        var argv = ["run", "--network", "none", "--runtime", runtime, "--storage-opt", "size=" + size]
        if let name { argv += ["--name", name] }
        return try dockerd.docker(argv + arguments)
    }

    /// Stops dockerd and the daemon and removes everything; safe to call twice.
    public func destroy() {
        dockerd.destroy()
        daemon.destroy()
    }

    deinit { destroy() }
}

/// Runs `body` with a ``ContainerEnvironment`` and always cleans up.
public func withContainerEnvironment<T>(
    mainMegabytes: Int = 2048, subMegabytes: Int = 1024, extraConfig: String = "", dockerdArguments: [String] = [],
    _ body: (ContainerEnvironment) throws -> T
) throws -> T {
    let environment = try ContainerEnvironment(mainMegabytes: mainMegabytes, subMegabytes: subMegabytes, extraConfig: extraConfig,
                                               dockerdArguments: dockerdArguments)
    defer { environment.destroy() }
    return try body(environment)
}

/// Container images the tests share, built once per test run.
public enum ContainerImages {
    /// Where images and caches live across runs (CI may keep it).
    public static let cacheDirectory = "/var/cache/spillway-test"

    /// A tar of this host's tools (``RootFilesystemImage/defaultPrograms``), sqlite3, the musl
    /// loader and the given musl program, built at the first call of this run.
    public static func hostTools() throws -> String {
        try hostToolsResult.get()
    }

    private static let hostToolsResult: Result<String, Error> = Result {
        try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
        let tarball = cacheDirectory + "/host-tools.tar"
        var extras: [String] = []
        if FileManager.default.fileExists(atPath: "/lib/ld-musl-x86_64.so.1") { extras.append("/lib/ld-musl-x86_64.so.1") }
        try RootFilesystemImage.build(tarball: tarball, scratch: cacheDirectory,
                                      programs: RootFilesystemImage.defaultPrograms + ["sqlite3"], extraFiles: extras)
        return tarball
    }

    /// A tar of static programs only, as distroless and Go images are: busybox-static (with
    /// `sh`, `dd`, `sha256sum`, ... as links to it) and `static-writer`, a C program built with
    /// `cc -static` from the test fixtures. No dynamic loader: no preload library can run here.
    public static func busyboxStatic() throws -> String {
        try busyboxResult.get()
    }

    private static let busyboxResult: Result<String, Error> = Result {
        try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
        let tarball = cacheDirectory + "/busybox-static.tar"
        let tree = cacheDirectory + "/busybox-\(getpid())"
        defer { try? FileManager.default.removeItem(atPath: tree) }
        let source = Paths.packageRoot.appendingPathComponent("Tests/SpillwayIntegrationTests/Fixtures/static_writer.c").path
        var script = "set -e; mkdir -p '\(tree)/bin' '\(tree)/tmp' '\(tree)/etc' '\(tree)/proc' '\(tree)/sys' '\(tree)/dev'\n"
        script += "cp /bin/busybox '\(tree)/bin/busybox'\n"
        script += "cc -static -O2 -o '\(tree)/bin/static-writer' '\(source)'\n"
        for applet in ["sh", "dd", "sha256sum", "sync", "cat", "ls", "mkdir", "rm", "sleep", "echo", "stat", "wc", "head"] {
            script += "ln -s busybox '\(tree)/bin/\(applet)'\n"
        }
        script += "echo 'root:x:0:0:root:/:/bin/sh' > '\(tree)/etc/passwd'\n"
        script += "tar -C '\(tree)' -cf '\(tarball)' .\n"
        try Command.check(["sh", "-c", script])
        return tarball
    }

    /// Debian 12 minbase with python3 and sqlite3 (debootstrap from the Debian mirror), cached
    /// as a tar in ``cacheDirectory`` across runs.
    public static func bookworm() throws -> String {
        try bookwormResult.get()
    }

    private static let bookwormResult: Result<String, Error> = Result {
        try debootstrapped(tarball: "bookworm-python3-sqlite3.tar", packages: ["python3", "sqlite3"])
    }

    /// Debian 12 minbase with the programs people write files with (gawk, sed, gzip, sort),
    /// python3, sqlite3, musl's loader (so musl-linked test programs run) and an unprivileged user
    /// `app` (uid and gid 1000) made in the image as production images make theirs.
    public static func bookwormApps() throws -> String {
        try bookwormAppsResult.get()
    }

    /// The uid and gid of the user ``bookwormApps()`` makes.
    public static let appUser = (name: "app", uid: 1000, gid: 1000)

    private static let bookwormAppsResult: Result<String, Error> = Result {
        try debootstrapped(tarball: "bookworm-apps.tar", packages: ["python3", "sqlite3", "gawk", "musl"],
                           setup: "groupadd -g \(appUser.gid) \(appUser.name) && useradd -m -u \(appUser.uid) -g \(appUser.gid) \(appUser.name)")
    }

    /// Debian 12 minbase with PostgreSQL 15 (server, client and pgbench; the `postgres` user the
    /// package makes).
    public static func bookwormPostgres() throws -> String {
        try bookwormPostgresResult.get()
    }

    private static let bookwormPostgresResult: Result<String, Error> = Result {
        try debootstrapped(tarball: "bookworm-postgresql-15.tar", packages: ["postgresql-15", "postgresql-client-15"])
    }

    /// The one way the tests make a Debian image: `debootstrap --variant=minbase bookworm` with
    /// the given packages, then `setup` run in the tree with chroot, tarred into ``cacheDirectory``
    /// once (kept across runs; the name says what is in it).
    public static func debootstrapped(tarball name: String, packages: [String], setup: String? = nil) throws -> String {
        let tarball = cacheDirectory + "/" + name
        if FileManager.default.fileExists(atPath: tarball) { return tarball }
        try FileManager.default.createDirectory(atPath: cacheDirectory, withIntermediateDirectories: true)
        let tree = cacheDirectory + "/tree-\(getpid())-\(name)"
        defer { try? FileManager.default.removeItem(atPath: tree) }
        try Command.check(["debootstrap", "--variant=minbase", "--include=" + packages.joined(separator: ","), "bookworm", tree,
                           "http://deb.debian.org/debian"])
        if let setup { try Command.check(["chroot", tree, "/bin/sh", "-c", setup]) }
        try Command.check(["tar", "-C", tree, "-cf", tarball + ".tmp", "."])
        try FileManager.default.moveItem(atPath: tarball + ".tmp", toPath: tarball)
        return tarball
    }
}
