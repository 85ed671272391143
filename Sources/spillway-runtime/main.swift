// spillway-runtime: the OCI runtime wrapper dockerd, containerd or CRI-O call instead of runc.
//
// Every command is passed to runc unchanged. (Registering the container with the daemon and
// injecting the preload library on `create` comes with the container integration.) The runc
// binary is SPILLWAY_RUNC, or `runc` on PATH.
#if canImport(Glibc)
import Glibc
#endif
import SpillwaySystem

let arguments = CommandLine.arguments
let runcName = getenv("SPILLWAY_RUNC").map { String(cString: $0) } ?? "runc"
guard let runc = ProcessReplacement.resolve(runcName) else {
    StandardError.print("spillway-runtime: cannot find runc ('\(runcName)'): install runc or set SPILLWAY_RUNC to its path")
    exit(127)
}
do {
    try ProcessReplacement.exec(runc, arguments: [runc] + arguments.dropFirst())
} catch {
    StandardError.print("spillway-runtime: \(error)")
    exit(126)
}
