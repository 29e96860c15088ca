import Foundation

/// A password, token or community string. Its descriptions and its JSON encoding are the mask, so a
/// secret printed, logged or returned by accident shows `**************`; code that must hand the
/// clear text to a peer asks for ``revealed`` explicitly.
public struct Secret: Sendable, Hashable, Decodable, Encodable, CustomStringConvertible, CustomDebugStringConvertible {
    /// What every masked secret looks like, as in the seed's network-device responses.
    public static let mask = "**************"

    /// The clear text. Only code that hands the secret to its peer (ipmitool's environment, the SNMP
    /// session, the SSH login, a provider's auth header) and the database reads it.
    public let revealed: String

    public init(_ revealed: String) {
        self.revealed = revealed
    }

    public var isEmpty: Bool { revealed.isEmpty }
    public var description: String { Self.mask }
    public var debugDescription: String { Self.mask }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) {
            revealed = text
        } else if let number = try? container.decode(Int64.self) {
            revealed = String(number)
        } else {
            throw DecodingError.typeMismatch(String.self, .init(codingPath: decoder.codingPath, debugDescription: "expected a string"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Self.mask)
    }
}

/// Replaces every occurrence of known secrets, and of `key=value` pairs whose key names a secret, with the
/// mask. Applied to subprocess output, device transcripts and provider responses before they reach a log,
/// an error message or the action log.
public struct Redactor: Sendable {
    private let secrets: [String]

    /// Keys whose values are secrets wherever they appear as `key=value`, `key: value` or `"key":"value"`.
    static let secretKeys = [
        "password", "passwd", "token", "community", "secret", "apikey", "api_key", "x-token",
        "first_password", "rootpassword", "authpass", "privpass",
    ]

    public init(secrets: [Secret] = []) {
        // Longest first so a secret that contains another is replaced whole.
        self.secrets = secrets.map(\.revealed).filter { !$0.isEmpty }.sorted { $0.count > $1.count }
    }

    public init(secretStrings: [String]) {
        self.init(secrets: secretStrings.map(Secret.init))
    }

    public func adding(_ more: [Secret]) -> Redactor {
        Redactor(secretStrings: secrets + more.map(\.revealed))
    }

    public func redact(_ text: String) -> String {
        var result = text
        for secret in secrets where result.contains(secret) {
            result = result.replacingOccurrences(of: secret, with: Secret.mask)
        }
        return Self.redactKeyValues(result)
    }

    /// Masks `password=...`, `"token": "..."` and `Authorization: Bearer ...` forms.
    static func redactKeyValues(_ text: String) -> String {
        guard text.contains("=") || text.contains(":") else { return text }
        var result = text
        for pattern in keyValuePatterns {
            let range = NSRange(result.startIndex..., in: result)
            result = pattern.stringByReplacingMatches(in: result, range: range, withTemplate: "$1\(Secret.mask)$3")
        }
        return result
    }

    private static let keyValuePatterns: [NSRegularExpression] = {
        let keys = secretKeys.map(NSRegularExpression.escapedPattern(for:)).joined(separator: "|")
        let sources = [
            // "password": "value"
            #"("(?:\#(keys))"\s*:\s*")([^"]*)(")"#,
            // password=value, password: value (up to whitespace, comma, ampersand or quote)
            #"(\b(?:\#(keys))\s*[=:]\s*)(?!\*{14})([^\s,&"']+)()"#,
            // Authorization: Bearer value
            #"((?:Bearer|Basic)\s+)([A-Za-z0-9._~+/=-]+)()"#,
        ]
        return sources.compactMap { try? NSRegularExpression(pattern: $0, options: [.caseInsensitive]) }
    }()
}
