import AgentCore
import Foundation

/// How to reach one Redfish service: the `redfish` connection meta (`ip`, `port`, `scheme`, `username`, `password`,
/// `certificateSha256`) plus the agent's optional knobs. Decoded tolerantly (`"port": "443"` or `443`) and validated
/// on decode, like the ipmi connection.
public struct RedfishConnection: Sendable, Equatable, Decodable {
    public enum Scheme: String, Sendable, Codable, CaseIterable {
        case https, http
    }

    public var host: String
    public var port: Int
    public var scheme: Scheme
    public var username: String
    public var password: Secret
    /// The SHA-256 of the certificate the BMC must present (64 hex digits, colons allowed); without it the first
    /// certificate seen is remembered (trust on first use) and every later one must match it.
    public var certificateSHA256: String?
    /// Which member of `/redfish/v1/Systems` the connection means, when the service has more than one.
    public var systemId: String?
    /// Per-request timeout; the agent's `redfish.requestTimeoutSeconds` when absent.
    public var timeoutSeconds: Double?

    public init(
        host: String, port: Int? = nil, scheme: Scheme = .https, username: String, password: Secret, certificateSHA256: String? = nil,
        systemId: String? = nil, timeoutSeconds: Double? = nil
    ) {
        self.host = host
        self.scheme = scheme
        self.port = port ?? (scheme == .https ? 443 : 80)
        self.username = username
        self.password = password
        self.certificateSHA256 = certificateSHA256
        self.systemId = systemId
        self.timeoutSeconds = timeoutSeconds
    }

    /// `host:port`: the key one BMC's requests are serialised on (and its certificate remembered under), and the name
    /// errors use.
    public var address: String { Self.address(host: host, port: port) }

    /// `host:port` (`[v6]:port`) of an already canonical host.
    public static func address(host: String, port: Int) -> String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// One spelling per BMC: an IP address in its canonical form, a host name in lower case.
    public static func canonicalHost(_ host: String) -> String { IPAddress(host)?.description ?? host.lowercased() }

    /// `https://host:port`, without a path.
    public var origin: String { "\(scheme.rawValue)://\(address)" }

    enum CodingKeys: String, CodingKey {
        case ip, port, scheme, username, password, certificateSha256, systemId, timeoutSeconds
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let ip = try container.decodeTolerantString(forKey: .ip)
        do {
            host = Self.canonicalHost(try Validation.host(ip, field: "ip"))
        } catch {
            throw container.invalid(.ip, "not an IP address or host name")
        }
        if let text = try container.decodeTolerantStringIfPresent(forKey: .scheme), !text.isEmpty {
            guard let parsed = Scheme(rawValue: text.lowercased()) else { throw container.invalid(.scheme, "must be https or http") }
            scheme = parsed
        } else {
            scheme = .https
        }
        port = try container.decodeTolerantIntIfPresent(forKey: .port) ?? (scheme == .https ? 443 : 80)
        guard (1...65535).contains(port) else { throw container.invalid(.port, "must be a port number from 1 to 65535") }
        username = try container.decodeTolerantString(forKey: .username)
        guard !username.isEmpty, username.utf8.count <= 64 else { throw container.invalid(.username, "must be 1 to 64 bytes") }
        password = try container.decode(Secret.self, forKey: .password)
        guard !password.isEmpty, password.revealed.utf8.count <= 256 else { throw container.invalid(.password, "must be 1 to 256 bytes") }
        for (key, value) in [(CodingKeys.username, username), (.password, password.revealed)] where value.unicodeScalars.contains(where: {
            $0.properties.generalCategory == .control
        }) {
            throw container.invalid(key, "must not contain control characters")
        }
        // Basic authentication joins user and password with a colon; a colon in the user name would move the split.
        guard !username.contains(":") else { throw container.invalid(.username, "must not contain a colon") }
        if let text = try container.decodeTolerantStringIfPresent(forKey: .certificateSha256), !text.isEmpty {
            guard let fingerprint = CertificateFingerprint.normalised(text) else {
                throw container.invalid(.certificateSha256, "must be 64 hex digits (colons allowed), the certificate's SHA-256")
            }
            certificateSHA256 = fingerprint
        } else {
            certificateSHA256 = nil
        }
        if let text = try container.decodeTolerantStringIfPresent(forKey: .systemId), !text.isEmpty {
            guard RedfishPath.isSegment(text) else { throw container.invalid(.systemId, "must be letters, digits, '-', '_' or '.'") }
            systemId = text
        } else {
            systemId = nil
        }
        timeoutSeconds = try container.decodeTolerantDoubleIfPresent(forKey: .timeoutSeconds)
        if let timeoutSeconds, !(0.5...600).contains(timeoutSeconds) {
            throw container.invalid(.timeoutSeconds, "must be from 0.5 to 600")
        }
    }
}

/// SHA-256 certificate fingerprints as the agent stores and compares them: 64 upper-case hex digits in colon-separated
/// pairs (what `openssl x509 -fingerprint -sha256` prints).
public enum CertificateFingerprint {
    /// The fingerprint in canonical form, or nil when `text` is not 32 bytes of hex (with or without colons).
    public static func normalised(_ text: String) -> String? {
        let digits = text.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: ":", with: "").uppercased()
        guard digits.utf8.count == 64, digits.utf8.allSatisfy({ (48...57).contains($0) || (65...70).contains($0) }) else { return nil }
        return canonical(Array(digits.utf8))
    }

    /// The fingerprint of DER bytes' SHA-256 digest.
    public static func of(digest: some Sequence<UInt8>) -> String {
        digest.map { String(format: "%02X", $0) }.joined(separator: ":")
    }

    private static func canonical(_ digits: [UInt8]) -> String {
        stride(from: 0, to: digits.count, by: 2).map { String(decoding: digits[$0..<$0 + 2], as: UTF8.self) }.joined(separator: ":")
    }
}

/// Paths the agent builds from what a BMC answered: only `/redfish/v1/...` paths of plain segments are followed, so an
/// answer can never send a request (with the session token) to another host or outside the service.
public enum RedfishPath {
    /// The service root.
    public static let root = "/redfish/v1"

    /// A segment the agent puts into a path itself: letters, digits, `-`, `_`, `.` (not `.` or `..` alone).
    public static func isSegment(_ text: String) -> Bool {
        guard (1...128).contains(text.utf8.count), text != ".", text != ".." else { return false }
        return text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }
    }

    /// `link` when it is a path under the service root whose segments are RFC 3986 path characters (percent escapes
    /// allowed, none decoding to `/`, `\`, `.`, `..` or a control character), query and fragment removed; else nil.
    public static func checked(_ link: String) -> String? {
        var path = Substring(link)
        if let cut = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<cut] }
        while path.count > 1, path.hasSuffix("/") { path = path.dropLast() }
        guard path == root || path.hasPrefix(root + "/") else { return nil }
        for segment in path.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            guard (1...256).contains(segment.utf8.count),
                segment.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || pathPunctuation.contains($0)) }),
                let decoded = segment.removingPercentEncoding, decoded != ".", decoded != "..", !decoded.contains("/"), !decoded.contains("\\"),
                !decoded.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            else { return nil }
        }
        return String(path)
    }

    private static let pathPunctuation = "-._~!$&'()*+,;=:@%".unicodeScalars
}
