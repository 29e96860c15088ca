import AgentCore
import Foundation

/// How to reach one BMC: the seed's ipmi connection meta (`ip`, `username`, `password`, `bmcPort`) plus the
/// agent's optional knobs. Decoded tolerantly (`"bmcPort": "623"` or `623`) and validated on decode.
public struct IPMIConnection: Sendable, Equatable, Decodable {
    public enum Interface: String, Sendable, Codable, CaseIterable {
        /// IPMI 2.0 RMCP+ (default).
        case lanplus
        /// IPMI 1.5.
        case lan
    }

    public enum Privilege: String, Sendable, Codable, CaseIterable {
        case administrator = "ADMINISTRATOR"
        case `operator` = "OPERATOR"
    }

    public var host: String
    public var username: String
    public var password: Secret
    public var port: Int
    public var interface: Interface
    public var cipherSuite: Int
    public var privilege: Privilege
    /// Per-call timeout; the agent's `ipmi.commandTimeoutSeconds` when absent.
    public var timeoutSeconds: Double?
    /// ipmitool retries (`-R`); the agent's `ipmi.retries` when absent.
    public var retries: Int?

    public init(
        host: String, username: String, password: Secret, port: Int = 623, interface: Interface = .lanplus, cipherSuite: Int = 3,
        privilege: Privilege = .administrator, timeoutSeconds: Double? = nil, retries: Int? = nil
    ) {
        self.host = host
        self.username = username
        self.password = password
        self.port = port
        self.interface = interface
        self.cipherSuite = cipherSuite
        self.privilege = privilege
        self.timeoutSeconds = timeoutSeconds
        self.retries = retries
    }

    /// `host:port`: the key one BMC's commands are serialised on.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    enum CodingKeys: String, CodingKey {
        case ip, username, password, bmcPort, interface, cipherSuite, privilege, timeoutSeconds, retries
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let ip = try container.decodeTolerantString(forKey: .ip)
        do {
            host = try Validation.host(ip, field: "ip")
        } catch {
            throw container.invalid(.ip, "not an IP address or host name")
        }
        username = try container.decodeTolerantString(forKey: .username)
        guard !username.isEmpty, username.utf8.count <= 16 else { throw container.invalid(.username, "must be 1 to 16 bytes (IPMI limit)") }
        password = try container.decode(Secret.self, forKey: .password)
        guard password.revealed.utf8.count <= 20 else { throw container.invalid(.password, "must be at most 20 bytes (IPMI limit)") }
        for (key, value) in [(CodingKeys.username, username), (.password, password.revealed)] where value.unicodeScalars.contains(where: {
            $0.properties.generalCategory == .control
        }) {
            throw container.invalid(key, "must not contain control characters")
        }
        port = try container.decodeTolerantIntIfPresent(forKey: .bmcPort) ?? 623
        guard (1...65535).contains(port) else { throw container.invalid(.bmcPort, "must be a port number from 1 to 65535") }
        if let text = try container.decodeTolerantStringIfPresent(forKey: .interface), !text.isEmpty {
            guard let parsed = Interface(rawValue: text.lowercased()) else { throw container.invalid(.interface, "must be lanplus or lan") }
            interface = parsed
        } else {
            interface = .lanplus
        }
        cipherSuite = try container.decodeTolerantIntIfPresent(forKey: .cipherSuite) ?? 3
        guard (0...17).contains(cipherSuite) else { throw container.invalid(.cipherSuite, "must be from 0 to 17") }
        if let text = try container.decodeTolerantStringIfPresent(forKey: .privilege), !text.isEmpty {
            guard let parsed = Privilege(rawValue: text.uppercased()) else {
                throw container.invalid(.privilege, "must be ADMINISTRATOR or OPERATOR")
            }
            privilege = parsed
        } else {
            privilege = .administrator
        }
        timeoutSeconds = try container.decodeTolerantDoubleIfPresent(forKey: .timeoutSeconds)
        if let timeoutSeconds, !(0.5...600).contains(timeoutSeconds) {
            throw container.invalid(.timeoutSeconds, "must be from 0.5 to 600")
        }
        retries = try container.decodeTolerantIntIfPresent(forKey: .retries)
        if let retries, !(0...10).contains(retries) { throw container.invalid(.retries, "must be from 0 to 10") }
    }
}
