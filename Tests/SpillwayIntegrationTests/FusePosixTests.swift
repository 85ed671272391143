import Foundation
import SpillwaySystem
import SpillwayTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The FUSE union against plain ext4 call by call (issue 16): files unlinked or replaced by a
/// rename while open keep working through every descriptor call, a seeded random sequence of
/// 100,000 calls from four processes gives exactly ext4's results, long relative paths work,
/// and the server is still serving at the end.
@Suite("FUSE union POSIX fidelity", .serialized)
struct FusePosixTests {
    /// Three branches for a test: `tree` (main disk, ext4), `spill` (ext4), `plain` (a plain
    /// ext4 directory, the reference), the slot in `state`, the union mounted.
    static func withUnion(state: String, _ body: (_ tree: String, _ spill: String, _ plain: String, _ slot: String,
                                                   _ mount: FuseUnionTests.Mount) throws -> Void) throws {
        try #require(getuid() == 0, "these tests mount loop filesystems and FUSE and must run as root")
        try withLoopFilesystems(["ext4", "ext4"], megabytes: 256) { filesystems in
            let tree = filesystems[0].mountPoint + "/tree", spill = filesystems[1].mountPoint + "/spill"
            let plain = filesystems[0].mountPoint + "/plain"
            for dir in [tree, spill, plain] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            let slot = filesystems[1].mountPoint + "/slot"
            try Command.check([Paths.spillway, "slot", "create", slot, "--state", state])
            let mount = try FuseUnionTests.Mount(tree: tree, spill: spill, slot: slot, at: filesystems[1].mountPoint + "/union")
            defer { mount.unmount() }
            try body(tree, spill, plain, slot, mount)
        }
    }

    /// The names libfuse gives files unlinked while open, at the top of `branch`.
    static func openUnlinkedNames(in branch: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: branch)) ?? []).filter { $0.hasPrefix(".fuse_hidden") }
    }

    // MARK: - Files unlinked or replaced while open

    /// Every descriptor call on a file unlinked while open, on one replaced by a rename while
    /// open, and on one unlinked while opened twice; a file unlinked from a directory that is
    /// then removed. Each line is one call and what it gave.
    static let openUnlinkedScript = """
        import errno, os, sys
        d = sys.argv[1]
        def show(label, f):
            try: print(label, 'ok', f())
            except OSError as e: print(label, errno.errorcode[e.errno])
        def st(fd):
            s = os.fstat(fd)
            return (s.st_size, s.st_nlink, oct(s.st_mode), s.st_uid, s.st_gid)
        # unlinked while open for reading and writing
        fd = os.open(d + '/kept', os.O_RDWR)
        show('pwrite', lambda: os.pwrite(fd, b'hello', 0))
        show('unlink', lambda: os.unlink(d + '/kept'))
        show('pread', lambda: os.pread(fd, 100, 0))
        show('fstat', lambda: st(fd))
        show('write', lambda: os.write(fd, b'more'))
        show('ftruncate', lambda: os.ftruncate(fd, 3))
        show('fstat-truncated', lambda: st(fd))
        show('pwrite-past-end', lambda: os.pwrite(fd, b'tail', 10))
        show('pread-all', lambda: os.pread(fd, 100, 0))
        show('fchmod', lambda: os.fchmod(fd, 0o600))
        show('fchown', lambda: os.fchown(fd, 1000, 1001))
        show('fstat-changed', lambda: st(fd))
        show('futimens', lambda: os.utime(fd, ns=(1_000_000_000_000_000_000, 1_500_000_000_000_000_000)))
        show('mtime', lambda: os.fstat(fd).st_mtime_ns)
        show('fsync', lambda: os.fsync(fd))
        show('fdatasync', lambda: os.fdatasync(fd))
        show('lseek-end', lambda: os.lseek(fd, 0, os.SEEK_END))
        show('listed', lambda: sorted(os.listdir(d)))
        show('stat-name', lambda: os.stat(d + '/kept'))
        show('close', lambda: os.close(fd))
        # unlinked while open read-only: fstat is st_nlink 0, not ESTALE
        ro = os.open(d + '/readonly', os.O_RDONLY)
        show('unlink-ro', lambda: os.unlink(d + '/readonly'))
        show('fstat-ro', lambda: st(ro))
        show('read-ro', lambda: os.read(ro, 100))
        show('ftruncate-ro', lambda: os.ftruncate(ro, 0))
        show('close-ro', lambda: os.close(ro))
        # replaced by a rename while open
        victim = os.open(d + '/victim', os.O_RDWR)
        with open(d + '/newer', 'w') as f: f.write('the new file')
        show('rename-over', lambda: os.rename(d + '/newer', d + '/victim'))
        show('pread-old', lambda: os.pread(victim, 100, 0))
        show('fstat-old', lambda: st(victim))
        show('pwrite-old', lambda: os.pwrite(victim, b'OLD', 0))
        show('ftruncate-old', lambda: os.ftruncate(victim, 2))
        show('fchmod-old', lambda: os.fchmod(victim, 0o640))
        show('fstat-old-changed', lambda: st(victim))
        show('read-new', lambda: open(d + '/victim').read())
        show('stat-new', lambda: (os.stat(d + '/victim').st_size, os.stat(d + '/victim').st_nlink, oct(os.stat(d + '/victim').st_mode)))
        show('close-old', lambda: os.close(victim))
        # unlinked while open twice: the other descriptor still works after one closes
        a = os.open(d + '/twice', os.O_RDWR)
        b = os.open(d + '/twice', os.O_RDONLY)
        show('unlink-twice', lambda: os.unlink(d + '/twice'))
        show('close-a', lambda: os.close(a))
        show('fstat-b', lambda: st(b))
        show('read-b', lambda: os.pread(b, 100, 0))
        show('close-b', lambda: os.close(b))
        # a new file under the unlinked name, while the old one is open
        old = os.open(d + '/reused', os.O_RDWR)
        show('unlink-reused', lambda: os.unlink(d + '/reused'))
        with open(d + '/reused', 'w') as f: f.write('second')
        show('pread-first', lambda: os.pread(old, 100, 0))
        show('read-second', lambda: open(d + '/reused').read())
        show('close-first', lambda: os.close(old))
        # created, unlinked, then its directory removed: the descriptor still reads and writes
        os.mkdir(d + '/sub')
        sub = os.open(d + '/sub/temp', os.O_RDWR | os.O_CREAT, 0o644)
        show('write-temp', lambda: os.write(sub, b'temporary'))
        show('unlink-temp', lambda: os.unlink(d + '/sub/temp'))
        show('rmdir-sub', lambda: os.rmdir(d + '/sub'))
        show('pread-temp', lambda: os.pread(sub, 100, 0))
        show('pwrite-temp', lambda: os.pwrite(sub, b'T', 0))
        show('close-temp', lambda: os.close(sub))
        show('listed-end', lambda: sorted(os.listdir(d)))
        """

    /// The files the script finds in its directory, made outside the union (on the main disk).
    static func prepareOpenUnlinked(in dir: String) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for (name, text) in [("kept", "0123456789"), ("readonly", "read only"), ("victim", "the old file"), ("twice", "two handles"),
                             ("reused", "first")] {
            try Data(text.utf8).write(to: URL(fileURLWithPath: dir + "/" + name))
        }
    }

    /// The script prints the same lines through the union as on plain ext4, with the files on
    /// the main disk while `normal` and `spilling` (where the first write moves them), and
    /// in the spill area; afterwards no `.fuse_hidden…` name is left in either branch, and
    /// the server still serves.
    @Test(arguments: ["normal", "spilling"])
    func everyDescriptorCallOnAnOpenUnlinkedFileIsExt4s(state: String) throws {
        try Self.withUnion(state: state) { tree, spill, plain, _, mount in
            try Self.prepareOpenUnlinked(in: plain + "/run")
            let expected = try Command.run(["python3", "-c", Self.openUnlinkedScript, plain + "/run"])
            #expect(expected.status == 0 && expected.stdout.contains("fstat-ro ok (9, 0, '0o100644', 0, 0)"), "\(expected)")
            // On the main disk, and (a second run) in the spill area.
            try Self.prepareOpenUnlinked(in: tree + "/main")
            try Self.prepareOpenUnlinked(in: spill + "/spilled")
            for dir in ["main", "spilled"] {
                let union = try Command.run(["python3", "-c", Self.openUnlinkedScript, mount.point + "/" + dir])
                #expect(union.status == 0, "\(dir): \(union)")
                #expect(union.stdout == expected.stdout, "\(dir) through the union:\n\(union.stdout)\non ext4:\n\(expected.stdout)")
            }
            #expect(Self.openUnlinkedNames(in: tree).isEmpty && Self.openUnlinkedNames(in: spill).isEmpty,
                    "left behind: \(Self.openUnlinkedNames(in: tree)) \(Self.openUnlinkedNames(in: spill))")
            #expect(FuseUnionTests.isMounted(mount.point), "the server is gone")
            #expect((try? FileManager.default.contentsOfDirectory(atPath: mount.point)).map(Set.init) == ["main", "spilled"])
        }
    }

    /// A server killed while a file unlinked through it is open leaves the file's
    /// `.fuse_hidden…` name in the branch; the next mount removes it (and only such names).
    @Test func theNextMountRemovesWhatAKilledServerKeptForOpenUnlinkedFiles() throws {
        try Self.withUnion(state: "normal") { tree, spill, _, slot, mount in
            try Data("x".utf8).write(to: URL(fileURLWithPath: tree + "/doomed"))
            try Data("y".utf8).write(to: URL(fileURLWithPath: spill + "/.fuse_hiddenNOTOURS"))
            let fd = open(mount.point + "/doomed", O_RDONLY)
            try #require(fd >= 0)
            defer { close(fd) }
            #expect(unlink(mount.point + "/doomed") == 0)
            #expect(Self.openUnlinkedNames(in: tree).count == 1, "libfuse did not keep the open file: \(Self.openUnlinkedNames(in: tree))")
            let listed = (try? FileManager.default.contentsOfDirectory(atPath: mount.point)) ?? ["?"]
            #expect(listed == [".fuse_hiddenNOTOURS"], "the union lists \(listed)")
            var st = stat()
            #expect(fstat(fd, &st) == 0 && st.st_nlink == 0 && st.st_size == 1, "fstat: \(errno) nlink \(st.st_nlink)")
            let pid = try #require(FuseUnionTests.serverPid(of: mount.point))
            kill(pid, SIGKILL)
            #expect(waitUntil(seconds: 10) { !FuseUnionTests.isRunning(pid) }, "the killed server still runs")
            mount.unmount()
            #expect(Self.openUnlinkedNames(in: tree).count == 1, "nothing was left behind to clean")
            let again = try FuseUnionTests.Mount(tree: tree, spill: spill, slot: slot, at: mount.point)
            defer { again.unmount() }
            #expect(Self.openUnlinkedNames(in: tree).isEmpty, "the leftover is still there")
            #expect(Self.openUnlinkedNames(in: spill) == [".fuse_hiddenNOTOURS"], "a name that is not libfuse's went too")
        }
    }

    // MARK: - A random sequence against ext4

    /// posix-ops: 100,000 calls (open, write, pwrite, read, pread, ftruncate, fstat, fchmod,
    /// fchown, futimens, fsync, lseek, close, unlink and rename of open files, mkdir, rmdir)
    /// from four processes, each on its own names, once on plain ext4 and once through the union
    /// while `spilling` (the files start on the main disk and move): every result, errno, byte
    /// read and fstat field is the same, and the server is still serving.
    @Test func aRandomSequenceFromFourProcessesGivesExt4sResultsWhileSpilling() throws {
        let seed = ProcessInfo.processInfo.environment["POSIX_OPS_SEED"] ?? "20261204"
        try Self.withUnion(state: "spilling") { tree, spill, plain, _, mount in
            let program = Paths.testProgram("posix-ops")
            let logs = (plain: plain + "-logs", union: tree + "-logs")
            for dir in [logs.plain, logs.union] { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            try Command.check([program, "prepare", plain, "4"])
            try Command.check([program, "prepare", tree, "4"])
            let expected = try Command.run([program, "run", plain, seed, "100000", "4", logs.plain])
            try #require(expected.status == 0, "\(expected)")
            let pid = try #require(FuseUnionTests.serverPid(of: mount.point))
            let union = try Command.run([program, "run", mount.point, seed, "100000", "4", logs.union])
            #expect(union.status == 0, "\(union)")
            #expect(FuseUnionTests.isRunning(pid) && FuseUnionTests.isMounted(mount.point), "the server did not survive")
            func digests(_ out: String) -> [String] { out.split(separator: "\n").map(String.init).sorted() }
            #expect(digests(expected.stdout).count == 4)
            if digests(union.stdout) != digests(expected.stdout) {
                // The first call whose result differs, in each process that differs.
                for index in 0..<4 {
                    let a = (try? String(contentsOfFile: "\(logs.plain)/log.\(index)", encoding: .utf8))?.split(separator: "\n") ?? []
                    let b = (try? String(contentsOfFile: "\(logs.union)/log.\(index)", encoding: .utf8))?.split(separator: "\n") ?? []
                    if let first = zip(a, b).first(where: { $0 != $1 }) {
                        Issue.record("process \(index): ext4 \"\(first.0)\", union \"\(first.1)\"")
                    } else if a.count != b.count {
                        Issue.record("process \(index): ext4 logged \(a.count) calls, the union \(b.count)")
                    }
                }
            }
            // The spill area took the files (the run did exercise moves), and nothing is left
            // for descriptors that are all closed now.
            #expect(((try? FileManager.default.contentsOfDirectory(atPath: spill + "/p0")) ?? []).count > 0, "nothing moved")
            #expect(Self.openUnlinkedNames(in: tree).isEmpty && Self.openUnlinkedNames(in: spill).isEmpty)
        }
    }

    // MARK: - Long paths

    /// From a working directory more than 4,096 bytes deep in the mount, relative paths of up
    /// to 4,095 bytes work (mkdir, create, write, read, stat, rename, listing, unlink, rmdir)
    /// and 4,096 bytes give ENAMETOOLONG, exactly as on ext4.
    static let longPathScript = """
        import errno, os, sys
        os.chdir(sys.argv[1])
        def show(label, f):
            try: print(label, 'ok', f())
            except OSError as e: print(label, errno.errorcode[e.errno])
        name = 'n' * 200
        for _ in range(22):
            os.mkdir(name)
            os.chdir(name)
        rel = '/'.join([name] * 20)
        leaf = 'f' * (4095 - len(rel) - 1)
        path = rel + '/' + leaf
        print('length', len(path), len(leaf))
        show('makedirs', lambda: os.makedirs(rel))
        show('create', lambda: os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)))
        show('write', lambda: open(path, 'w').write('deep'))
        show('read', lambda: open(path).read())
        show('stat', lambda: (os.stat(path).st_size, oct(os.stat(path).st_mode)))
        show('chmod', lambda: os.chmod(path, 0o600))
        show('xattr', lambda: os.listxattr(path))
        show('rename', lambda: os.rename(path, path[:-1] + 'g'))
        show('listed', lambda: [len(n) for n in os.listdir(rel)])
        show('too-long', lambda: os.open(path + 'x', os.O_RDONLY))
        show('too-long-create', lambda: os.open(rel + '/' + 'h' * (4096 - len(rel) - 1), os.O_WRONLY | os.O_CREAT, 0o644))
        show('unlink', lambda: os.unlink(path[:-1] + 'g'))
        show('rmdir', lambda: os.rmdir(rel))
        """

    @Test(arguments: ["normal", "spilling"])
    func longRelativePathsFromADeepDirectoryWorkAsOnExt4(state: String) throws {
        try Self.withUnion(state: state) { _, _, plain, _, mount in
            let expected = try Command.run(["python3", "-c", Self.longPathScript, plain])
            #expect(expected.status == 0 && expected.stdout.contains("read ok deep") && expected.stdout.contains("too-long ENAMETOOLONG"),
                    "\(expected)")
            let union = try Command.run(["python3", "-c", Self.longPathScript, mount.point])
            #expect(union.status == 0, "\(union)")
            #expect(union.stdout == expected.stdout, "through the union:\n\(union.stdout)\non ext4:\n\(expected.stdout)")
        }
    }
}
