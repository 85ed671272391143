// spillway-runtime: the OCI runtime wrapper dockerd, containerd or CRI-O call instead of runc.
//
// On `create` (and `run`) it registers the container with the spillway daemon, rewrites the
// bundle's config.json (bind mounts of the libraries, launcher, slot and spill area under
// /.spillway, the launcher in front of the program, the SPILLWAY_* environment) and then runs
// runc with the original arguments. `exec --process` (docker exec, kubectl exec) gives the new
// process what the container's first process got. A statically linked program (or a container asking for it
// with the spillway.mode=fuse annotation or SPILLWAY_MODE=fuse) gets the daemon's FUSE union as
// its root filesystem instead; `delete` has the daemon unmount it. Every other command goes to
// runc unchanged. If the daemon
// cannot be reached the container starts unmanaged with one log line, or, with
// --spillway-if-unreachable=refuse, is refused. Options: docs/CONTAINERS.md.
#if canImport(Glibc)
import Glibc
#endif
import SpillwayCore
import SpillwaySystem

let invocation: RuntimeInvocation
do {
    invocation = try RuntimeInvocation.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    StandardError.print("spillway-runtime: \(error)")
    exit(2)
}
let options = RuntimeSettings(invocation.options)

if invocation.createsContainer {
    switch await RuntimePreparation(invocation: invocation, settings: options).run() {
    case .managed:
        break
    case .unmanaged(let reason):
        let id = invocation.containerID ?? "?"
        if options.ifUnreachable == .refuse {
            RuntimeLog.write("spillway-runtime: refusing to create container \(id): \(reason) (--spillway-if-unreachable=refuse)",
                             level: "error", invocation: invocation)
            exit(1)
        }
        RuntimeLog.write("spillway-runtime: container \(id) starts unmanaged: \(reason)", level: "warning", invocation: invocation)
    }
}

if invocation.deletesContainer, let id = invocation.containerID,
   let problem = await RuntimePreparation.release(containerID: id, settings: options) {
    RuntimeLog.write("spillway-runtime: \(problem)", level: "warning", invocation: invocation)
}

guard let runc = ProcessReplacement.resolve(options.runc) else {
    StandardError.print("spillway-runtime: cannot find runc ('\(options.runc)'): install runc, or give its path with --spillway-runc or SPILLWAY_RUNC")
    exit(127)
}
if invocation.execsProcess, let problem = ExecPreparation(invocation: invocation, runc: runc).run() {
    RuntimeLog.write("spillway-runtime: \(problem); the process runs unmanaged", level: "warning", invocation: invocation)
}
do {
    try ProcessReplacement.exec(runc, arguments: [runc] + invocation.runcArguments)
} catch {
    StandardError.print("spillway-runtime: \(error)")
    exit(126)
}
