import Foundation
import SpillwayTestSupport
import Testing

/// CShim's build output: preload libraries that need only libc, and a static launcher.
@Suite("CShim artifacts")
struct ArtifactTests {
    static let libraries = [Paths.glibcLibrary, Paths.muslLibrary]
    static let allowedNeeded: Set<String> = ["libc.so.6", "libc.so", "ld-linux-x86-64.so.2", "ld-musl-x86_64.so.1"]
    /// Every symbol a preload library may export: the hooks listed in CShim/spillway.map.
    static let hooks: Set<String> = {
        let map = (try? String(contentsOf: Paths.packageRoot.appendingPathComponent("CShim/spillway.map"), encoding: .utf8)) ?? ""
        let global = map.components(separatedBy: "global:").dropFirst().first?.components(separatedBy: "local:").first ?? ""
        return Set(global.split(whereSeparator: { ";\n ".contains($0) }).map(String.init).filter { !$0.isEmpty })
    }()

    @Test(arguments: libraries)
    func preloadLibraryNeedsOnlyLibc(library: String) throws {
        let dynamic = try Command.check(["readelf", "-d", library])
        let needed = dynamic.split(separator: "\n").filter { $0.contains("(NEEDED)") }.compactMap { line -> String? in
            guard let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        }
        #expect(!needed.isEmpty)
        #expect(Set(needed).isSubset(of: Self.allowedNeeded), "\(library) needs \(needed)")
    }

    @Test(arguments: libraries)
    func preloadLibraryExportsOnlyHooks(library: String) throws {
        let symbols = try Command.check(["nm", "-D", "--defined-only", library])
            .split(separator: "\n").compactMap { $0.split(separator: " ").last.map(String.init) }
        #expect(Set(symbols).isSubset(of: Self.hooks), "unexpected exports: \(Set(symbols).subtracting(Self.hooks))")
        #expect(Set(["open", "openat", "creat", "fopen", "stat", "fstatat", "access"]).isSubset(of: Set(symbols)))
    }

    @Test func launcherIsStatic() throws {
        let description = try Command.check(["file", Paths.launcher])
        #expect(description.contains("statically linked"), "\(description)")
        let dynamic = try Command.run(["readelf", "-d", Paths.launcher])
        #expect(!dynamic.stdout.contains("(NEEDED)"))
    }

    @Test func launcherPicksTheLibraryForTheProgram() throws {
        let libDir = Paths.shimBuild.path
        let env = ["SPILLWAY_LIB_DIR": libDir]
        // With the preload tree built (make -C CShim), LD_PRELOAD names it: one value that the
        // glibc loader expands ($LIB) and the musl loader takes literally, so children of
        // either C library find their build.
        let glibc = try Command.check([Paths.launcher, "sh", "-c", "echo $LD_PRELOAD $SPILLWAY_PROGRAM"], environment: env)
        #expect(glibc.trimmingCharacters(in: .whitespacesAndNewlines) == "\(libDir)/preload/$LIB/libspillway.so glibc")
        let found = try Command.check([Paths.launcher, "sh", "-c", "grep -c libspillway /proc/$$/maps"], environment: env)
        #expect((Int(found.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) > 0, "the library is loaded: \(found)")
        let busybox = try Command.check([Paths.launcher, "/bin/busybox", "sh", "-c", "echo ${LD_PRELOAD:-none} $SPILLWAY_PROGRAM"], environment: env)
        #expect(busybox.trimmingCharacters(in: .whitespacesAndNewlines) == "none static")
        let missing = try Command.run([Paths.launcher, "no-such-program-here"], environment: env)
        #expect(missing.status == 127)
        #expect(missing.stderr.contains("no-such-program-here"))
    }
}
