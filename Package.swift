// swift-tools-version: 6.0
//
// Spillway's Swift side: the supervisor libraries and the `spillway` and
// `spillway-runtime` executables. The preload libraries and the launcher are
// C and are built by CShim's own Makefile (SwiftPM would link libswiftCore
// into them); SwiftPM only compiles CShim's slot header, through CSpillway.
import PackageDescription

let package = Package(
    name: "Spillway",
    products: [
        .executable(name: "spillway", targets: ["spillway"]),
        .executable(name: "spillway-runtime", targets: ["spillway-runtime"]),
        .library(name: "SpillwayCore", targets: ["SpillwayCore"]),
        .library(name: "SpillwaySystem", targets: ["SpillwaySystem"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.20.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        // The one slot layout, shared with the C preload library.
        .target(
            name: "CSpillway",
            path: "CShim",
            sources: ["swiftpm/CSpillway.c"],
            publicHeadersPath: "include"
        ),
        // syscall(2) wrappers Swift cannot call directly (openat2, renameat2).
        .target(name: "CSpillwaySyscalls"),
        .systemLibrary(
            name: "CFuse3",
            path: "Sources/CFuse3",
            pkgConfig: "fuse3",
            providers: [.apt(["libfuse3-dev"])]
        ),
        // Pure decisions: states, sizes, policy, planning. No I/O.
        .target(
            name: "SpillwayCore",
            dependencies: [.product(name: "TOMLKit", package: "TOMLKit")]
        ),
        // Syscall wrappers and the code that touches files, mappings and ELF.
        .target(
            name: "SpillwaySystem",
            dependencies: [
                "SpillwayCore",
                "CSpillway",
                "CSpillwaySyscalls",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The FUSE union (static binaries); libfuse3 through C interop.
        .target(name: "CFuseLoop", dependencies: ["CFuse3"]),
        .target(name: "SpillwayFuse", dependencies: ["CFuse3", "CFuseLoop", "CSpillway", "CSpillwaySyscalls", "SpillwayCore"]),
        // The Docker Engine API over its unix socket (discovery).
        .target(
            name: "SpillwayDocker",
            dependencies: [
                "SpillwayCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The supervisor: monitoring, slots, partitions, state, control API, notifications.
        .target(
            name: "SpillwayDaemon",
            dependencies: [
                "SpillwayCore",
                "SpillwaySystem",
                "SpillwayDocker",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The operator's side of the control API (a unix socket, HTTP and JSON).
        .target(
            name: "SpillwayClient",
            dependencies: [
                "SpillwayCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .executableTarget(
            name: "spillway",
            dependencies: [
                "SpillwayCore",
                "SpillwaySystem",
                "SpillwayDaemon",
                "SpillwayClient",
                "SpillwayFuse",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "spillway-runtime",
            dependencies: ["SpillwayCore", "SpillwaySystem", "SpillwayClient"]
        ),
        // Helpers for tests that run real programs, loop devices and mounts.
        .target(name: "SpillwayTestSupport", dependencies: ["SpillwaySystem"], path: "Tests/SpillwayTestSupport"),
        .testTarget(name: "SpillwayCoreTests", dependencies: ["SpillwayCore"]),
        .testTarget(
            name: "SpillwaySystemTests",
            dependencies: ["SpillwaySystem", "CSpillway", "CFuseLoop", "SpillwayTestSupport"]
        ),
        .testTarget(
            name: "SpillwayIntegrationTests",
            dependencies: ["SpillwaySystem", "SpillwayCore", "SpillwayFuse", "CSpillway", "SpillwayTestSupport"],
            exclude: ["Fixtures"]
        ),
    ]
)
