import ArgumentParser
import SpillwayFuse

#if canImport(Glibc)
import Glibc
#endif

/// `spillway fuse mount|unmount`: the FUSE union for statically linked programs, which no
/// preload library reaches (spec section 2, "Statically linked programs"; docs/FUSE.md).
struct FuseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fuse",
        abstract: "Mount and unmount the FUSE union of a container's tree and its spill area.",
        subcommands: [Mount.self, Unmount.self]
    )

    struct Mount: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mount the union of --tree and --spill at MOUNTPOINT, following the slot's state.",
            discussion: """
                Serves until unmounted. Runs in the background unless --foreground; prints \
                nothing on success. MOUNTPOINT may be the tree itself: the branches are held \
                open before the mount covers them.
                """
        )

        @Option(help: "The container's tree on the main disk (a directory).")
        var tree: String

        @Option(help: "The container's spill area on the sub disk (a directory).")
        var spill: String

        @Option(help: "The container's slot file (see `spillway slot create`).")
        var slot: String

        @Argument(help: "Where to mount the union (an existing directory).")
        var mountPoint: String

        @Flag(help: "Serve in this process instead of in the background.")
        var foreground = false

        @Flag(help: "Print every FUSE request (libfuse's -d); implies --foreground.")
        var debug = false

        @Option(name: .customLong("poll-us"),
                help: "While requests come back to back, how long an idle worker polls for the next one before it sleeps, in µs (0 to \(UnionServer.maxPollMicroseconds); 0: never).")
        var pollMicroseconds = UnionServer.defaultPollMicroseconds

        func run() throws {
            guard (0...UnionServer.maxPollMicroseconds).contains(pollMicroseconds) else {
                throw FuseUnionError(input: "--poll-us \(pollMicroseconds)", problem: "is out of range",
                                     fix: "give 0 (never poll) to \(UnionServer.maxPollMicroseconds) µs")
            }
            var st = stat()
            guard stat(mountPoint, &st) == 0 else {
                throw FuseUnionError(input: "MOUNTPOINT \(mountPoint)", problem: "does not exist", fix: "create the directory first")
            }
            guard (st.st_mode & S_IFMT) == S_IFDIR else {
                throw FuseUnionError(input: "MOUNTPOINT \(mountPoint)", problem: "is not a directory", fix: "give a directory to mount on")
            }
            let watch = try SlotWatch(path: slot)
            let union = try UnionFilesystem(tree: tree, spill: spill, slot: watch)
            if try sameDirectory(tree, spill) {
                throw FuseUnionError(input: "--spill \(spill)", problem: "is the same directory as --tree", fix: "give the spill area on the sub disk")
            }
            let rc = try UnionServer.serve(union, at: mountPoint, foreground: foreground || debug, debug: debug,
                                             pollMicroseconds: pollMicroseconds)
            Glibc.exit(rc == 0 ? 0 : 1)
        }

        private func sameDirectory(_ a: String, _ b: String) throws -> Bool {
            var x = stat(), y = stat()
            return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
        }
    }

    struct Unmount: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Unmount a union mounted with `spillway fuse mount`.")

        @Argument(help: "The mount point.")
        var mountPoint: String

        @Flag(help: "Detach it now even if programs still use it (umount -l).")
        var lazy = false

        func run() throws {
            if umount2(mountPoint, lazy ? Int32(MNT_DETACH) : 0) != 0 {
                let err = errno
                let fix = err == EBUSY ? "stop the programs using it, or pass --lazy"
                    : err == EINVAL ? "give the directory a union is mounted on" : "run as root"
                throw FuseUnionError(input: "MOUNTPOINT \(mountPoint)", problem: "cannot be unmounted (\(String(cString: strerror(err))))", fix: fix)
            }
        }
    }
}
