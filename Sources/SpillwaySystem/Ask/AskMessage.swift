#if canImport(Glibc)
import Glibc
#endif
import CSpillway
import SpillwayCore

/// The bytes of the ask socket's messages, laid out by `struct spillway_ask` and
/// `struct spillway_ask_reply` in CShim/include/spillway_slot.h (the one definition; offsets are
/// taken from the imported C structs, never written out here).
public enum AskMessage {
    /// The one size a request has.
    public static let requestSize = MemoryLayout<spillway_ask>.size
    public static let replySize = MemoryLayout<spillway_ask_reply>.size
    /// The socket's name in the container's ask directory, and where the container sees it.
    public static let socketName = SPILLWAY_ASK_SOCKET_NAME
    public static let containerPath = SPILLWAY_ASK_CONTAINER_PATH

    /// A request's fields, as sent (not yet checked against the container: ``AskRequest``).
    public struct Fields: Equatable, Sendable {
        public var kind: UInt32
        public var containerID: String
        public var path: String
        public var reason: String
    }

    /// Decodes one received message of `length` bytes (the kernel's length, which may exceed
    /// the bytes kept in `bytes`).
    ///
    /// - Throws: ``AskRefusal`` with ``AskRefusal/Reason/badMessage``.
    public static func decode(_ bytes: UnsafeRawBufferPointer, length: Int) throws(AskRefusal) -> Fields {
        guard length == requestSize, bytes.count >= requestSize else {
            throw AskRefusal(.badMessage, "a message of \(length) bytes; a request is exactly \(requestSize)")
        }
        let magic = bytes.loadUnaligned(fromByteOffset: MemoryLayout<spillway_ask>.offset(of: \.magic)!, as: UInt32.self)
        let version = bytes.loadUnaligned(fromByteOffset: MemoryLayout<spillway_ask>.offset(of: \.version)!, as: UInt32.self)
        guard magic == SPILLWAY_ASK_MAGIC else { throw AskRefusal(.badMessage, "a message with a wrong magic number") }
        guard version == SPILLWAY_ASK_VERSION else { throw AskRefusal(.badMessage, "a message of version \(version); this supervisor speaks \(SPILLWAY_ASK_VERSION)") }
        let kind = bytes.loadUnaligned(fromByteOffset: MemoryLayout<spillway_ask>.offset(of: \.kind)!, as: UInt32.self)
        let pathLength = Int(bytes.loadUnaligned(fromByteOffset: MemoryLayout<spillway_ask>.offset(of: \.path_len)!, as: UInt32.self))
        let reasonLength = Int(bytes.loadUnaligned(fromByteOffset: MemoryLayout<spillway_ask>.offset(of: \.reason_len)!, as: UInt32.self))
        let id = try text(bytes, at: MemoryLayout<spillway_ask>.offset(of: \.container_id)!, capacity: Int(SPILLWAY_SLOT_ID_MAX), length: nil, field: "container_id")
        let path = try text(bytes, at: MemoryLayout<spillway_ask>.offset(of: \.path)!, capacity: Int(SPILLWAY_ASK_PATH_MAX), length: pathLength, field: "path")
        let reason = try text(bytes, at: MemoryLayout<spillway_ask>.offset(of: \.reason)!, capacity: Int(SPILLWAY_ASK_REASON_MAX), length: reasonLength, field: "reason")
        return Fields(kind: kind, containerID: id, path: path, reason: reason)
    }

    /// A NUL-terminated text field of `capacity` bytes whose length must be `length` (when given)
    /// and valid UTF-8.
    static func text(_ bytes: UnsafeRawBufferPointer, at offset: Int, capacity: Int, length: Int?, field: String) throws(AskRefusal) -> String {
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + capacity)])
        guard let end = slice.firstIndex(of: 0) else { throw AskRefusal(.badMessage, "its \(field) is not NUL-terminated") }
        if let length, length != end { throw AskRefusal(.badMessage, "its \(field) is \(end) bytes long, not the \(length) it says") }
        guard let value = String(validating: slice[..<end], as: UTF8.self) else {
            throw AskRefusal(.badMessage, "its \(field) is not UTF-8")
        }
        return value
    }

    /// Encodes a request (for tests and tools that speak for a container).
    public static func request(kind: UInt32, containerID: String, path: String, reason: String = "") -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: requestSize)
        put(SPILLWAY_ASK_MAGIC, at: MemoryLayout<spillway_ask>.offset(of: \.magic)!, in: &bytes)
        put(SPILLWAY_ASK_VERSION, at: MemoryLayout<spillway_ask>.offset(of: \.version)!, in: &bytes)
        put(kind, at: MemoryLayout<spillway_ask>.offset(of: \.kind)!, in: &bytes)
        put(UInt32(path.utf8.count), at: MemoryLayout<spillway_ask>.offset(of: \.path_len)!, in: &bytes)
        put(UInt32(reason.utf8.count), at: MemoryLayout<spillway_ask>.offset(of: \.reason_len)!, in: &bytes)
        put(containerID, at: MemoryLayout<spillway_ask>.offset(of: \.container_id)!, capacity: Int(SPILLWAY_SLOT_ID_MAX), in: &bytes)
        put(path, at: MemoryLayout<spillway_ask>.offset(of: \.path)!, capacity: Int(SPILLWAY_ASK_PATH_MAX), in: &bytes)
        put(reason, at: MemoryLayout<spillway_ask>.offset(of: \.reason)!, capacity: Int(SPILLWAY_ASK_REASON_MAX), in: &bytes)
        return bytes
    }

    static func put(_ value: UInt32, at offset: Int, in bytes: inout [UInt8]) {
        for i in 0..<4 { bytes[offset + i] = UInt8((value >> (8 * UInt32(i))) & 0xff) }
    }

    static func put(_ value: String, at offset: Int, capacity: Int, in bytes: inout [UInt8]) {
        for (i, byte) in value.utf8.prefix(capacity - 1).enumerated() { bytes[offset + i] = byte }
    }

    /// The reply: `error` 0 or a positive errno.
    public static func reply(error: Int32) -> [UInt8] {
        let reply = spillway_ask_reply(magic: SPILLWAY_ASK_MAGIC, version: SPILLWAY_ASK_VERSION, error: error, reserved: 0)
        return withUnsafeBytes(of: reply) { Array($0) }
    }

    /// The `error` of a reply, or nil when `bytes` is not one.
    public static func replyError(_ bytes: [UInt8]) -> Int32? {
        guard bytes.count == replySize else { return nil }
        return bytes.withUnsafeBytes { raw in
            guard raw.loadUnaligned(fromByteOffset: MemoryLayout<spillway_ask_reply>.offset(of: \.magic)!, as: UInt32.self) == SPILLWAY_ASK_MAGIC else { return nil }
            return raw.loadUnaligned(fromByteOffset: MemoryLayout<spillway_ask_reply>.offset(of: \.error)!, as: Int32.self)
        }
    }
}
