import Foundation

/// Checks for values that end up in config files, command lines and CLI sessions. Each returns the
/// normalised value or throws a 400 naming the field.
public enum Validation {
    /// RFC 1123 host name: labels of letters, digits and inner hyphens, 1-63 characters each, 253 in total.
    public static func isHostName(_ text: String) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        let trimmed = text.hasSuffix(".") ? String(text.dropLast()) : text
        let labels = trimmed.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-" else { return false }
            return label.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || byte == 0x2d
            }
        }
    }

    /// A host name or an IP address.
    public static func host(_ text: String, field: String) throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let address = IPAddress(trimmed) { return address.description }
        guard isHostName(trimmed) else { throw AgentError.invalidField(field, "not an IP address or host name") }
        return trimmed.lowercased()
    }

    /// `host`, `host:port`, `IPv4:port`, `IPv6` or `[IPv6]:port`.
    public static func hostAndPort(_ text: String, defaultPort: Int, field: String) throws -> (host: String, port: Int) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else { throw AgentError.invalidField(field, "unterminated [IPv6] address") }
            let address = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
            guard let parsed = IPAddress(address), !parsed.isIPv4 else { throw AgentError.invalidField(field, "not an IPv6 address") }
            let rest = trimmed[trimmed.index(after: close)...]
            if rest.isEmpty { return (parsed.description, defaultPort) }
            guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65535).contains(port) else {
                throw AgentError.invalidField(field, "bad port after [IPv6]")
            }
            return (parsed.description, port)
        }
        if let address = IPAddress(trimmed), !address.isIPv4 { return (address.description, defaultPort) }
        let parts = trimmed.split(separator: ":", omittingEmptySubsequences: false)
        if parts.count == 2 {
            guard let port = Int(parts[1]), (1...65535).contains(port) else { throw AgentError.invalidField(field, "bad port \(parts[1])") }
            return (try host(String(parts[0]), field: field), port)
        }
        guard parts.count == 1 else { throw AgentError.invalidField(field, "not a host, host:port or [IPv6]:port") }
        return (try host(trimmed, field: field), defaultPort)
    }

    /// Rejects control characters (newline, carriage return, NUL ...) anywhere in the text.
    public static func noControlCharacters(_ text: String, field: String) throws {
        if text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw AgentError.invalidField(field, "must not contain control characters such as newlines")
        }
    }

    /// A boot file a DHCP server hands to a booting machine: a file name in the TFTP root (letters, digits and
    /// `._-/`, no `..`, at most 128 characters) or an http(s) URL without whitespace, quotes, backticks, `;`, `,`,
    /// `\`, `<>|` or control characters (it is written into dnsmasq, Kea and dhcpd configuration lines). iPXE
    /// settings such as `${mac}` are allowed in URLs: iPXE expands them, none of the DHCP servers does.
    public static func isBootFile(_ value: String) -> Bool {
        guard !value.isEmpty, value.count <= 512, !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return false
        }
        if value.hasPrefix("http://") || value.hasPrefix("https://") {
            guard let url = URL(string: value), url.host != nil else { return false }
            return value.allSatisfy { $0.isASCII && !$0.isWhitespace && !"\"'`;,\\<>|".contains($0) }
        }
        return !value.contains("..") && value.count <= 128 && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-/".contains($0)) }
    }

    public static func bootFile(_ value: String, field: String) throws -> String {
        guard isBootFile(value) else {
            throw AgentError.invalidField(field, "a file name of letters, digits and ._-/ or an http(s) URL without spaces, quotes or ;,\\<>|")
        }
        return value
    }

    /// A Linux network interface name: 1 to 15 of letters, digits and `._-`.
    public static func isInterfaceName(_ value: String) -> Bool {
        (1...15).contains(value.count) && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
    }

    /// An absolute path made of letters, digits and `._-/+@` only: safe inside any configuration line.
    public static func isPlainPath(_ value: String) -> Bool {
        value.hasPrefix("/") && value.count <= 1024 && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-/+@".contains($0)) }
    }

    public static func port(_ value: Int, field: String) throws -> Int {
        guard (1...65535).contains(value) else { throw AgentError.invalidField(field, "must be a port number from 1 to 65535") }
        return value
    }
}

extension JSONValue {
    /// Decodes a nested object of a request (for example a connection's `meta`) so that errors name the field by
    /// its full path: `connection.meta.ip`, not just `ip`.
    public func decode<T: Decodable>(as type: T.Type, at path: String) throws -> T {
        do {
            return try decode(as: type)
        } catch let error as DecodingError {
            let converted = AgentError.from(error)
            guard converted.details["field"] != nil || path.isEmpty else { throw AgentError.invalidField(path, converted.message) }
            throw converted.prefixingField(path)
        } catch let error as AgentError {
            guard error.details["field"] != nil else { throw error }
            throw error.prefixingField(path)
        }
    }
}

extension AgentError {
    /// The same error with `prefix.` in front of the field it names.
    public func prefixingField(_ prefix: String) -> AgentError {
        guard !prefix.isEmpty, case .string(let field) = details["field"] else { return self }
        var copy = self
        // An array position joins without a dot: `assignments[0].relId`.
        let full = field.isEmpty ? prefix : field.hasPrefix("[") ? "\(prefix)\(field)" : "\(prefix).\(field)"
        copy.details["field"] = .string(full)
        if message.hasPrefix("\(field):") {
            copy.message = full + message.dropFirst(field.count)
        }
        return copy
    }
}
