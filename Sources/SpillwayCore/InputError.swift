/// Bad input from an operator (a CLI argument, a config value, a size): a one-line message
/// that names the input, says what was wrong and what is allowed.
public struct InputError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { message }
}
