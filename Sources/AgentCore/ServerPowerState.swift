/// A server's power in the seed's words: `online`, `offline`, or the name of a transition a provider reports
/// (`poweringOn`, `rebooting`, `unknown` ...). Encodes as the bare word.
public struct ServerPowerState: RawRepresentable, Sendable, Hashable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public init(stringLiteral value: String) {
        rawValue = value
    }

    public static let online: ServerPowerState = "online"
    public static let offline: ServerPowerState = "offline"

    public var description: String { rawValue }
}
