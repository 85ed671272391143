import SystemPackage

/// A failed system call on a named path: what was being done, where, and why.
///
/// Its description is one line an operator can act on, e.g.
/// `cannot create slot file /run/x/slot: No such file or directory (openat)`.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    /// What Spillway was doing, as a phrase: "create slot file".
    public let action: String
    /// The path it was done to.
    public let path: String
    /// The system call that failed.
    public let syscall: String
    /// The error the kernel returned.
    public let errno: Errno
    /// Advice for the operator, when there is any.
    public let hint: String?

    public init(_ action: String, path: String, syscall: String, errno: Errno, hint: String? = nil) {
        self.action = action
        self.path = path
        self.syscall = syscall
        self.errno = errno
        self.hint = hint
    }

    public var description: String {
        var text = "cannot \(action) \(path): \(errno.description) (\(syscall))"
        if let hint { text += "; \(hint)" }
        return text
    }
}

/// A file exists but is not what Spillway expects there (wrong kind, size, magic or version).
public struct InvalidFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let problem: String

    public init(path: String, problem: String) {
        self.path = path
        self.problem = problem
    }

    public var description: String { "\(path): \(problem)" }
}
