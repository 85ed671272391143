/// Who stops a spill area from holding more than its partition.
public enum PartitionEnforcement: String, Hashable, Sendable, Codable, CustomStringConvertible {
    /// The kernel: a btrfs qgroup limit (`EDQUOT`) or a loop image's size (`ENOSPC`), for every
    /// writer, whatever system calls it makes.
    case kernel
    /// Spillway's preload library and FUSE union, from the supervisor's measurement of the
    /// area at each poll (a directory partition). A program that makes its own system calls
    /// (or several processes writing between two polls) can pass the cap.
    case library

    /// `kernel` or `library`.
    public var description: String { rawValue }
}
