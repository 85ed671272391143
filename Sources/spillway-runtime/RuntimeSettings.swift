#if canImport(Glibc)
import Glibc
#endif
import SpillwayCore

/// The wrapper's settings: each `--spillway-NAME` flag, else its environment variable, else the
/// default.
struct RuntimeSettings {
    /// The daemon's control socket: `--spillway-socket`, `$SPILLWAY_SOCKET`, `/run/spillway/spillway.sock`.
    var socket: String
    /// runc: `--spillway-runc`, `$SPILLWAY_RUNC`, `runc` on PATH.
    var runc: String
    /// The installed libraries and launcher: `--spillway-lib-dir`, `$SPILLWAY_LIB_DIR`, `/usr/local/lib/spillway`.
    var libDir: String
    /// `--spillway-if-unreachable`, `$SPILLWAY_IF_UNREACHABLE`, `start`.
    var ifUnreachable: UnreachablePolicy

    init(_ flags: RuntimeOptions) {
        func env(_ name: String) -> String? {
            guard let value = getenv(name).map({ String(cString: $0) }), !value.isEmpty else { return nil }
            return value
        }
        socket = flags.socket ?? env(ControlAPI.socketEnvironment) ?? ControlAPI.defaultSocket
        runc = flags.runc ?? env("SPILLWAY_RUNC") ?? "runc"
        libDir = flags.libDir ?? env("SPILLWAY_LIB_DIR") ?? DaemonConfiguration.defaultLibDir
        ifUnreachable = flags.ifUnreachable ?? env("SPILLWAY_IF_UNREACHABLE").flatMap(UnreachablePolicy.init(rawValue:)) ?? .start
    }
}
