/// The one rule for the id Spillway manages a container by, wherever an id comes in (`spillway
/// register`, the control API, the runtime wrapper, Docker discovery, a slot, a spill area's
/// name on the sub disk).
///
/// An id is 1 to ``maxBytes`` ASCII letters, digits, `.`, `_` or `-`, starting with a letter or
/// digit. So it fits a slot (63 bytes and a NUL), is one directory entry that is never `.`,
/// `..` or hidden, and never reads as a command-line option (`-rf`). Docker names and short
/// ids qualify; a full 64-digit engine id is shortened first (``EngineContainerID``).
public enum ContainerID {
    /// The longest id accepted, in bytes: what a slot stores.
    public static let maxBytes = 63

    /// What is allowed, as said in every refusal.
    public static let rule = "use 1 to \(maxBytes) letters, digits, '.', '_' or '-', starting with a letter or digit"

    /// Checks `id`.
    ///
    /// - Throws: ``InputError`` naming the id, what is wrong with it and what is allowed.
    public static func validate(_ id: String) throws(InputError) {
        if let problem = problem(id) {
            throw InputError("container id '\(shown(id))' is not valid: \(problem); \(rule)")
        }
    }

    /// Whether `id` passes ``validate(_:)``.
    public static func isValid(_ id: String) -> Bool {
        problem(id) == nil
    }

    /// What is wrong with `id`, or nil.
    static func problem(_ id: String) -> String? {
        let bytes = Array(id.utf8)
        guard let first = bytes.first else { return "it is empty" }
        if bytes.count > maxBytes { return "it is \(bytes.count) bytes long" }
        guard isAlphanumeric(first) else { return "it starts with \(describe(first))" }
        if let bad = bytes.first(where: { !isAlphanumeric($0) && $0 != UInt8(ascii: ".") && $0 != UInt8(ascii: "_") && $0 != UInt8(ascii: "-") }) {
            return "it contains \(describe(bad))"
        }
        return nil
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
    }

    static func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    /// The id as a message shows it: printable, at most 70 characters.
    static func shown(_ id: String) -> String {
        let printable = String(id.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" })
        return printable.count > 70 ? printable.prefix(70) + "…" : printable
    }
}
