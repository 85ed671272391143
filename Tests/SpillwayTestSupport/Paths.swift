import Foundation

/// Where the package's build outputs are, for tests that run them.
public enum Paths {
    /// The package's root directory.
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// CShim's build directory (made by `make -C CShim`, which `tools/build` runs).
    public static var shimBuild: URL { packageRoot.appendingPathComponent("CShim/build") }

    public static var glibcLibrary: String { shimBuild.appendingPathComponent("libspillway.so").path }
    public static var muslLibrary: String { shimBuild.appendingPathComponent("libspillway-musl.so").path }
    public static var launcher: String { shimBuild.appendingPathComponent("spillway-entry").path }

    /// A small C test program from CShim/tests, built for glibc or musl.
    public static func testProgram(_ name: String) -> String {
        shimBuild.appendingPathComponent("tests/\(name)").path
    }

    /// The `spillway` executable of the build these tests belong to.
    public static var spillway: String { executable("spillway") }

    /// An executable product of this package, from the same build configuration as the tests.
    public static func executable(_ name: String) -> String {
        // The test bundle lives next to the products: .build/<triple>/<config>/.
        let testBinary = URL(fileURLWithPath: CommandLine.arguments.first ?? "")
        var dir = testBinary.deletingLastPathComponent()
        while !dir.path.isEmpty, dir.path != "/" {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate.path }
            dir.deleteLastPathComponent()
        }
        return packageRoot.appendingPathComponent(".build/debug/\(name)").path
    }
}
