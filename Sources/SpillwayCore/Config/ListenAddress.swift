/// A TCP address to listen on or connect to: `host:port`, where host is an IPv4 address, a
/// bracketed IPv6 address (`[::1]`) or a DNS name.
public struct ListenAddress: Hashable, Sendable, Codable, CustomStringConvertible {
    /// The host without brackets: `127.0.0.1`, `::1`, `localhost`.
    public var host: String
    /// The TCP port.
    public var port: UInt16

    /// An address of `host` (without brackets) and `port`.
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`.
    ///
    /// - Parameters:
    ///   - text: the address, e.g. `127.0.0.1:9477` or `[::1]:9477`.
    ///   - defaultPort: the port when `text` has none; `nil` makes the port required.
    /// - Throws: ``InputError`` saying what is wrong with the address; the caller adds the key.
    public init(parsing text: String, defaultPort: UInt16? = nil) throws(InputError) {
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw InputError("has an unclosed '['") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw InputError("has '\(rest)' after the IPv6 address; write [address]:port") }
                portText = rest.dropFirst()
            }
            guard Self.isIPv6(host) else { throw InputError("has '\(host)', which is not an IPv6 address") }
        } else {
            let colons = text.filter { $0 == ":" }.count
            if colons > 1 { throw InputError("has more than one ':'; write an IPv6 address in brackets, like [::1]:9477") }
            if let colon = text.firstIndex(of: ":") {
                host = text[..<colon]
                portText = text[text.index(after: colon)...]
            } else {
                host = Substring(text)
            }
            guard !host.isEmpty else { throw InputError("has no host") }
            if Self.looksNumeric(host) {
                guard Self.ipv4Octets(host) != nil else { throw InputError("has '\(host)', which is not an IPv4 address") }
            } else {
                guard Self.isHostName(host) else { throw InputError("has '\(host)', which is not a host name or address") }
            }
        }
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let port = Int(portText), (1...65535).contains(port)
            else { throw InputError("has port '\(portText)'; a port is a number from 1 to 65535") }
            self.port = UInt16(port)
        } else if let defaultPort {
            self.port = defaultPort
        } else {
            throw InputError("has no port; write host:port")
        }
        self.host = host.lowercased()
    }

    /// Whether the host is a loopback address: `localhost`, `127.0.0.0/8` or `::1`.
    public var isLoopback: Bool {
        if host == "localhost" { return true }
        if let octets = Self.ipv4Octets(Substring(host)) { return octets[0] == 127 }
        return host == "::1" || host == "0:0:0:0:0:0:0:1"
    }

    /// `127.0.0.1:9477`, `[::1]:9477`.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    static func looksNumeric(_ host: Substring) -> Bool {
        host.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
    }

    static func ipv4Octets(_ host: Substring) -> [Int]? {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = Int(part), value <= 255
            else { return nil }
            octets.append(value)
        }
        return octets
    }

    static func isIPv6(_ host: Substring) -> Bool {
        guard host.contains(":"), host.count <= 45 else { return false }
        return host.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
            && host.components(separatedBy: "::").count <= 2
    }

    static func isHostName(_ host: Substring) -> Bool {
        guard host.count <= 253 else { return false }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }
}

extension Substring {
    /// The pieces between occurrences of `separator` (stdlib only, no Foundation).
    fileprivate func components(separatedBy separator: String) -> [Substring] {
        var pieces: [Substring] = []
        var rest = self[...]
        while let range = rest.firstRange(of: separator) {
            pieces.append(rest[..<range.lowerBound])
            rest = rest[range.upperBound...]
        }
        pieces.append(rest)
        return pieces
    }
}
