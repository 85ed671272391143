/// Bad input to the FUSE union (a branch, the slot, the mount point), or a mount that failed:
/// one line naming the input, what is wrong with it and what to do.
public struct FuseUnionError: Error, Sendable, CustomStringConvertible {
    /// The input as the operator gave it, e.g. `--tree /srv/c1`.
    public let input: String
    public let problem: String
    public let fix: String

    public init(input: String, problem: String, fix: String) {
        self.input = input
        self.problem = problem
        self.fix = fix
    }

    public var description: String { "\(input): \(problem); \(fix)" }
}
