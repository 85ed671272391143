#if canImport(Glibc)
import Glibc
#endif
import CFuse3
import CFuseLoop
import SpillwayCore

/// Mounts a ``UnionFilesystem`` and serves it with CFuseLoop's multi-threaded loop (libfuse's
/// request handling, workers that poll while requests come back to back) until it is
/// unmounted (or the process gets SIGTERM, SIGINT or SIGHUP).
public enum UnionServer {
    /// The mount options: the kernel checks permissions (`default_permissions`) and every user of
    /// the container, root included, may use the mount (`allow_other`).
    static let options = "default_permissions,allow_other,fsname=spillway,subtype=spillway"

    /// The worker threads: twice the online CPUs, at least 4 and at most 64, made as requests
    /// need them and all kept (a worker that ends costs a thread start the next time two
    /// requests overlap).
    static let workers: UInt32 = UInt32(min(64, max(4, 2 * sysconf(Int32(_SC_NPROCESSORS_ONLN)))))

    /// How long an idle worker polls /dev/fuse for the next request by default, in µs
    /// (`spillway fuse mount --poll-us`; CFuseLoop's spillway_fuse_loop.h).
    public static let defaultPollMicroseconds = 50

    /// The longest polling window `--poll-us` takes, in µs.
    public static let maxPollMicroseconds = 1000

    /// Mounts `union` at `mountPoint` and serves it; in the background (the parent returns once
    /// the mount is up, printing nothing) unless `foreground`.
    ///
    /// While requests come back to back, one idle worker at a time polls /dev/fuse for up to
    /// `pollMicroseconds` before it sleeps, sparing the caller the wake-up of a sleeping worker
    /// (0: never poll).
    ///
    /// - Returns: the loop's exit status (0 after a clean unmount) — in the serving process.
    /// - Throws: ``FuseUnionError`` when libfuse refuses the options or the mount; nothing is
    ///   left mounted then.
    public static func serve(_ union: UnionFilesystem, at mountPoint: String, foreground: Bool, debug: Bool = false,
                             pollMicroseconds: Int = defaultPollMicroseconds) throws(FuseUnionError) -> Int32 {
        servedUnion = union
        // Files a server that was killed kept for descriptors that died with it.
        union.removeLeftoverOpenUnlinkedFiles()
        umask(0)
        var argv = ["spillway-fuse", "-o", options]
        if debug { argv.append("-d") }
        var cArgs = argv.map { strdup($0) }
        defer { cArgs.forEach { free($0) } }
        var ops = UnionOperations.make()
        let fuse: OpaquePointer? = cArgs.withUnsafeMutableBufferPointer { buffer in
            var args = fuse_args(argc: Int32(buffer.count), argv: buffer.baseAddress, allocated: 0)
            defer { fuse_opt_free_args(&args) }
            return spw_fuse_new(&args, &ops, nil)
        }
        guard let fuse else {
            throw FuseUnionError(input: mountPoint, problem: "libfuse refused the options \(options)", fix: "check that libfuse3 is 3.12 or newer")
        }
        servedFuse = fuse
        guard fuse_mount(fuse, mountPoint) == 0 else {
            fuse_destroy(fuse)
            throw FuseUnionError(input: mountPoint, problem: "cannot be mounted on (fuse_mount failed; see the line above)",
                                 fix: "run as root with /dev/fuse available, on a directory nothing is mounted on")
        }
        if fuse_daemonize(foreground ? 1 : 0) != 0 {
            fuse_unmount(fuse)
            fuse_destroy(fuse)
            throw FuseUnionError(input: mountPoint, problem: "could not start serving in the background", fix: "try --foreground")
        }
        if !foreground { closeInheritedChannels() }
        let session = fuse_get_session(fuse)
        fuse_set_signal_handlers(session)
        // The thread that runs `spillway fuse mount` may have these blocked (a Dispatch worker
        // has), and the background server is a fork of it: a SIGTERM would wait forever.
        var ending = sigset_t()
        sigemptyset(&ending)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&ending, signal) }
        pthread_sigmask(SIG_UNBLOCK, &ending, nil)
        let rc = spw_fuse_serve(fuse, workers, Int64(pollMicroseconds) * 1000)
        fuse_remove_signal_handlers(session)
        fuse_unmount(fuse)
        fuse_destroy(fuse)
        return rc
    }

    /// Closes the pipes and sockets the background server inherited from whoever started
    /// `spillway fuse mount` (fd 3 and up): a caller waiting for its child's output or exit
    /// through one (Foundation's Process does) would otherwise wait for the server to end.
    /// The server's own descriptors are directories, /dev/fuse and anonymous inodes.
    static func closeInheritedChannels() {
        guard let dir = opendir("/proc/self/fd") else { return }
        let own = dirfd(dir)
        var doomed: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard let fd = Int32(name), fd > 2, fd != own else { continue }
            var st = stat()
            if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFSOCK || (st.st_mode & S_IFMT) == S_IFIFO { doomed.append(fd) }
        }
        closedir(dir)
        doomed.forEach { close($0) }
    }
}
