import AgentCore

/// Where and how to reach an SNMP agent: address, version, credentials, timing.
public struct SNMPTarget: Sendable, Equatable {
    public enum Version: String, Sendable, Codable, CaseIterable {
        case v1 = "1"
        case v2c = "2c"
        case v3 = "3"
    }

    public enum SecurityLevel: String, Sendable, Codable, CaseIterable {
        case noAuthNoPriv, authNoPriv, authPriv
    }

    /// SNMPv3 authentication protocols (RFC 3414, RFC 7860).
    public enum AuthenticationAlgorithm: String, Sendable, Codable, CaseIterable {
        case md5 = "MD5"
        case sha = "SHA"
        case sha224 = "SHA-224"
        case sha256 = "SHA-256"
        case sha384 = "SHA-384"
        case sha512 = "SHA-512"

        /// Accepts the common spellings: `SHA1`, `sha256`, `SHA-256`, `hmac-sha-256` ...
        public init?(lenient text: String) {
            let key = text.uppercased().replacingOccurrences(of: "HMAC", with: "").filter { $0.isLetter || $0.isNumber }
            switch key {
            case "MD5": self = .md5
            case "SHA", "SHA1": self = .sha
            case "SHA224": self = .sha224
            case "SHA256": self = .sha256
            case "SHA384": self = .sha384
            case "SHA512": self = .sha512
            default: return nil
            }
        }

        var libraryCode: Int32 {
            switch self {
            case .md5: return 0
            case .sha: return 1
            case .sha224: return 2
            case .sha256: return 3
            case .sha384: return 4
            case .sha512: return 5
            }
        }
    }

    /// SNMPv3 privacy protocols.
    public enum PrivacyAlgorithm: String, Sendable, Codable, CaseIterable {
        case des = "DES"
        case aes128 = "AES"
        case aes192 = "AES-192"
        case aes256 = "AES-256"

        /// Accepts `AES`, `AES128`, `aes-256`, `DES` ...
        public init?(lenient text: String) {
            switch text.uppercased().filter({ $0.isLetter || $0.isNumber }) {
            case "DES": self = .des
            case "AES", "AES128": self = .aes128
            case "AES192": self = .aes192
            case "AES256": self = .aes256
            default: return nil
            }
        }

        var libraryCode: Int32 {
            switch self {
            case .des: return 0
            case .aes128: return 1
            case .aes192: return 2
            case .aes256: return 3
            }
        }
    }

    /// SNMPv3 user and keys.
    public struct UserSecurity: Sendable, Equatable {
        public var user: String
        public var level: SecurityLevel
        public var authentication: AuthenticationAlgorithm
        public var authenticationPassphrase: Secret?
        public var privacy: PrivacyAlgorithm
        public var privacyPassphrase: Secret?
        /// SNMPv3 context name (snmpsim selects the simulated device by it).
        public var context: String?

        public init(
            user: String, level: SecurityLevel, authentication: AuthenticationAlgorithm = .sha, authenticationPassphrase: Secret? = nil,
            privacy: PrivacyAlgorithm = .aes128, privacyPassphrase: Secret? = nil, context: String? = nil
        ) {
            self.user = user
            self.level = level
            self.authentication = authentication
            self.authenticationPassphrase = authenticationPassphrase
            self.privacy = privacy
            self.privacyPassphrase = privacyPassphrase
            self.context = context
        }
    }

    public var host: String
    public var port: Int
    public var version: Version
    /// v1/v2c community.
    public var community: Secret?
    public var security: UserSecurity?
    public var timeoutSeconds: Double
    public var retries: Int
    public var maxRepetitions: Int

    public init(
        host: String, port: Int = 161, version: Version, community: Secret? = nil, security: UserSecurity? = nil,
        timeoutSeconds: Double = 2, retries: Int = 1, maxRepetitions: Int = 32
    ) {
        self.host = host
        self.port = port
        self.version = version
        self.community = community
        self.security = security
        self.timeoutSeconds = timeoutSeconds
        self.retries = retries
        self.maxRepetitions = maxRepetitions
    }

    /// net-snmp's peer name: `udp:10.0.0.1:161`, `udp6:[2001:db8::1]:161`, `udp:switch.example:161`.
    var peerName: String {
        if let address = IPAddress(host), !address.isIPv4 { return "udp6:[\(host)]:\(port)" }
        return "udp:\(host):\(port)"
    }

    /// `host:port` as error messages show it.
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The secrets of this target, for redaction.
    public var secrets: [Secret] {
        [community, security?.authenticationPassphrase, security?.privacyPassphrase].compactMap { $0 }
    }
}
