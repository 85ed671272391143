import SpillwayCore

/// The rules for a container id used as a spill area's name on the sub disk.
///
/// A name is one directory entry: 1 to ``maxBytes`` ASCII letters, digits, `.`, `_` or `-`,
/// starting with a letter or digit. So it is never `.` or `..`, never holds a `/`, and never
/// collides with Spillway's own hidden `.spillway` directory. Docker names and ids qualify.
public enum SpillAreaName {
    /// The longest id accepted, in bytes (a full Docker id is 64).
    public static let maxBytes = 128

    /// Checks `id`.
    ///
    /// - Throws: ``InputError`` naming the id, what is wrong and what is allowed.
    public static func validate(_ id: String) throws(InputError) {
        let allowed = "use 1 to \(maxBytes) letters, digits, '.', '_' or '-', starting with a letter or digit"
        let bytes = Array(id.utf8)
        guard !bytes.isEmpty else {
            throw InputError("container id is empty; \(allowed)")
        }
        guard bytes.count <= maxBytes else {
            throw InputError("container id '\(id.prefix(40))…' is \(bytes.count) bytes long; \(allowed)")
        }
        if bytes.contains(UInt8(ascii: "/")) {
            throw InputError("container id '\(id)' contains '/'; \(allowed)")
        }
        if id == "." || id == ".." || id.contains("..") {
            throw InputError("container id '\(id)' contains '..'; \(allowed)")
        }
        func isAlphanumeric(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
        }
        guard isAlphanumeric(bytes[0]) else {
            throw InputError("container id '\(id)' does not start with a letter or digit; \(allowed)")
        }
        if let bad = bytes.first(where: { !isAlphanumeric($0) && $0 != UInt8(ascii: ".") && $0 != UInt8(ascii: "_") && $0 != UInt8(ascii: "-") }) {
            let shown = bad >= 0x20 && bad < 0x7F ? "'\(Character(Unicode.Scalar(bad)))'" : "byte 0x\(String(bad, radix: 16))"
            throw InputError("container id '\(id)' contains \(shown); \(allowed)")
        }
    }

    /// Whether `id` passes ``validate(_:)``.
    public static func isValid(_ id: String) -> Bool {
        (try? validate(id)) != nil
    }
}
