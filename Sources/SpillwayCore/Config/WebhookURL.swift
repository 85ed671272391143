/// Where the daemon POSTs events (`webhook_url`): a plain `http://` URL.
///
/// Only `http` is accepted: the daemon has no TLS stack. To reach an `https` endpoint, run a
/// relay on the host (or a loopback sidecar) and point the webhook at it.
public struct WebhookURL: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The host and port to connect to (port 80 when the URL has none).
    public var address: ListenAddress
    /// The request target: the path and query, at least `/`.
    public var target: String

    /// Parses an `http://host[:port][/path][?query]` URL.
    ///
    /// - Throws: ``InputError`` saying what is wrong with the URL; the caller adds the key.
    public init(parsing text: String) throws(InputError) {
        let lowered = text.lowercased()
        if lowered.hasPrefix("https://") {
            throw InputError("uses https, which the daemon does not speak (put a relay on loopback in front of it)")
        }
        guard lowered.hasPrefix("http://") else { throw InputError("is not an http:// URL") }
        if let bad = text.unicodeScalars.first(where: { $0.value <= 0x20 || $0.value == 0x7F || !$0.isASCII }) {
            throw InputError("contains \(bad.value == 0x20 ? "a space" : "the character U+\(String(bad.value, radix: 16, uppercase: true))"); percent-encode it")
        }
        if text.contains("#") { throw InputError("has a fragment ('#'), which a webhook cannot use") }
        let rest = text.dropFirst("http://".count)
        let end = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<end]
        if authority.contains("@") { throw InputError("contains user information ('@'); Spillway sends no credentials in URLs") }
        guard !authority.isEmpty else { throw InputError("has no host") }
        self.address = try ListenAddress(parsing: String(authority), defaultPort: 80)
        let tail = rest[end...]
        self.target = tail.hasPrefix("/") ? String(tail) : "/" + tail
    }

    /// `http://host:port/target`.
    public var description: String {
        "http://\(address)\(target)"
    }
}
