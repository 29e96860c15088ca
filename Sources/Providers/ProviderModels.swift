import AgentCore
import Crypto
import Foundation

/// The external providers a server's power and reinstall can go through (the connection `type`).
public enum ProviderType: String, Sendable, Codable, CaseIterable {
    case ionos, venocix, cloudsigma

    public init(field: String, _ value: String) throws {
        guard let type = ProviderType(rawValue: value) else {
            throw AgentError.invalidField(field, "unknown provider \(value) (one of \(Self.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self = type
    }
}

/// Who the agent talks to and as whom: one provider account. Rate limits are shared per account.
public struct ProviderAccount: Sendable, Hashable {
    public var type: ProviderType
    public var baseURL: String
    /// `apiKey` (IONOS), `token` (Venocix) or the password (CloudSigma).
    public var credential: Secret
    /// CloudSigma's user e-mail; empty for the others.
    public var username: String

    package init(type: ProviderType, baseURL: String, credential: Secret, username: String) {
        self.type = type
        self.baseURL = baseURL
        self.credential = credential
        self.username = username
    }

    /// Masks the account's credentials (and `password=...`-style pairs) in provider texts before they reach an
    /// error message or a log.
    public var redactor: Redactor { Redactor(secrets: [credential]) }

    /// A stable, secret-free name for the account: provider, base URL and a hash of the credentials.
    public var key: String {
        let digest = SHA256.hash(data: Data((username + ":" + credential.revealed).utf8))
        return "\(type.rawValue) \(baseURL) " + digest.prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}

/// A provider connection as the controller sends it: the account and the provider's server id.
public struct ProviderConnection: Sendable, Hashable {
    public var account: ProviderAccount
    /// The provider's server id (IONOS id, Venocix sid, CloudSigma server UUID).
    public var serverId: String
    /// Venocix only: cloud VM (`vm`, default) or dedicated server (`dedicated`).
    public var venocixKind: VenocixKind

    public enum VenocixKind: String, Sendable, Codable { case vm, dedicated }

    /// Documented base URLs; `meta.baseUrl` overrides them.
    public static func defaultBaseURL(_ type: ProviderType, region: String) -> String {
        switch type {
        case .ionos: return "https://cloudpanel-api.ionos.com/v1"
        case .venocix: return "https://reseller.hosterapi.de/api/v1"
        case .cloudsigma: return "https://api.\(region).cloudsigma.com"
        }
    }

    /// Reads `meta` of a connection of `type`; errors name the field under `path` (e.g. `connection.meta`).
    /// `requireServer` is false for account-wide calls (templates, server lists).
    public init(type: ProviderType, meta: JSONValue, path: String, requireServer: Bool = true) throws {
        guard case .object(let members) = meta else { throw AgentError.invalidField(path, "expected an object") }
        func text(_ key: String) throws -> String? {
            switch members[key] {
            case .none, .null: return nil
            case .string(let value): return value.trimmingCharacters(in: .whitespaces).isEmpty ? nil : value
            case .integer(let value): return String(value)
            default: throw AgentError.invalidField("\(path).\(key)", "expected a string")
            }
        }
        func required(_ key: String) throws -> String {
            guard let value = try text(key) else { throw AgentError.missingField("\(path).\(key)") }
            return value
        }
        let region = try text("region")?.lowercased() ?? "zrh"
        if type == .cloudsigma, !["zrh", "lvs"].contains(region) {
            throw AgentError.invalidField("\(path).region", "must be zrh or lvs")
        }
        var baseURL = try text("baseUrl") ?? Self.defaultBaseURL(type, region: region)
        while baseURL.hasSuffix("/") { baseURL.removeLast() }
        guard let url = URL(string: baseURL), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw AgentError.invalidField("\(path).baseUrl", "not an http(s) URL")
        }
        let credential: String
        var username = ""
        switch type {
        case .ionos: credential = try required("apiKey")
        case .venocix: credential = try required("token")
        case .cloudsigma:
            username = try required("username")
            credential = try required("password")
        }
        account = ProviderAccount(type: type, baseURL: baseURL, credential: Secret(credential), username: username)
        let server = try text("serverId")
        if requireServer, server == nil { throw AgentError.missingField("\(path).serverId") }
        if let server, server.contains(where: { !$0.isLetter && !$0.isNumber && $0 != "-" && $0 != "_" }) {
            throw AgentError.invalidField("\(path).serverId", "letters, digits, - and _ only")
        }
        serverId = server ?? ""
        let kind = try text("kind")?.lowercased() ?? "vm"
        guard let venocixKind = VenocixKind(rawValue: kind) else { throw AgentError.invalidField("\(path).kind", "must be vm or dedicated") }
        self.venocixKind = venocixKind
    }
}

/// One state model for every provider; the provider's own word is kept next to it.
public enum ProviderPowerState: String, Sendable, Codable {
    case on, off, poweringOn, poweringOff, rebooting, installing, busy, unknown

    /// The seed's power words: `online` / `offline`; transitions and unknown states keep their name.
    public var seedWord: ServerPowerState {
        switch self {
        case .on: return .online
        case .off: return .offline
        default: return ServerPowerState(rawValue: rawValue)
        }
    }
}

/// A server's state at a provider.
public struct ProviderServerStatus: Sendable, Codable, Equatable {
    public var state: ProviderPowerState
    /// The provider's own word (`POWERED_ON`, `running`, `active` ...).
    public var providerState: String
    /// Percent done of a running provider action, when the provider says.
    public var percent: Int?

    public init(state: ProviderPowerState, providerState: String, percent: Int? = nil) {
        self.state = state
        self.providerState = providerState
        self.percent = percent
    }
}

/// Power operations of the driver protocol.
public enum ProviderPowerAction: String, Sendable, Codable, CaseIterable {
    /// Power on / hard off / graceful shutdown / graceful reboot / hard reset.
    case on, off, shutdown, reboot, reset

    /// The state the server must reach for the action to count as done.
    public var expectedState: ProviderPowerState {
        switch self {
        case .off, .shutdown: return .off
        case .on, .reboot, .reset: return .on
        }
    }
}

/// How a provider supports an operation (README table, GET /v1/info capabilities).
public enum ProviderSupport: String, Sendable, Codable {
    case native, emulated, unsupported
}

/// Operations of the driver protocol, for the support table.
public enum ProviderOperation: String, Sendable, Codable, CaseIterable {
    case credentialCheck, listServers, powerStatus, powerOn, powerOff, shutdown, reboot, reset, templates, reinstall, jobPolling,
        console, traffic, reverseDNS, recoveryBoot, isoBoot, passwordReset
}

/// A server an account holds.
public struct ProviderServer: Sendable, Codable, Equatable {
    public var id: String
    public var name: String?
    public var providerState: String?

    public init(id: String, name: String?, providerState: String?) {
        self.id = id
        self.name = name
        self.providerState = providerState
    }
}

/// An OS template (IONOS appliance, Venocix template name, CloudSigma standard drive image).
public struct ProviderTemplate: Sendable, Codable, Equatable {
    public var id: String
    public var name: String
    public var osFamily: String?

    public init(id: String, name: String, osFamily: String?) {
        self.id = id
        self.name = name
        self.osFamily = osFamily
    }
}

/// What a reinstall asks for; each provider takes the fields it documents.
public struct ProviderReinstallRequest: Sendable {
    public var template: String
    public var hostname: String?
    public var sshKey: String?
    public var password: Secret?

    public init(template: String, hostname: String? = nil, sshKey: String? = nil, password: Secret? = nil) {
        self.template = template
        self.hostname = hostname
        self.sshKey = sshKey
        self.password = password
    }
}

/// What a finished reinstall reports. Credentials never go in `details` (which is stored and sent to the
/// controller); a password the provider generated travels apart and is handed to the caller once.
public struct ProviderReinstallResult: Sendable, Equatable {
    /// Template, provider state, checks, user name, addresses, fields the provider did not apply.
    public var details: [String: JSONValue]
    /// The root password the provider generated for the new system (not one the caller gave).
    public var generatedPassword: Secret?

    public init(details: [String: JSONValue], generatedPassword: Secret? = nil) {
        self.details = details
        self.generatedPassword = generatedPassword
    }
}

/// How to reach a server's console.
public enum ConsoleAccess: Sendable, Equatable {
    /// An embeddable noVNC URL; Venocix tickets expire ten seconds after they are issued.
    case noVNC(url: Secret, expiresAt: Date?)
    case vnc(host: String, port: Int, password: Secret)
    case unsupported(reason: String)

    /// The API form. The URL and password are what the caller asked for, so they are returned in clear.
    public var json: JSONValue {
        switch self {
        case .noVNC(let url, let expiresAt):
            return ["type": "novnc", "url": .string(url.revealed), "expiresAt": expiresAt.map { .string(UTCTime.iso8601($0)) } ?? .null]
        case .vnc(let host, let port, let password):
            return ["type": "vnc", "host": .string(host), "port": .integer(Int64(port)), "password": .string(password.revealed)]
        case .unsupported(let reason):
            return ["type": "unsupported", "reason": .string(reason)]
        }
    }
}

/// Traffic as the provider counts it.
public struct ProviderTraffic: Sendable, Codable, Equatable {
    /// Bytes received / sent by the server, when the provider keeps counters.
    public var inboundBytes: Int64?
    public var outboundBytes: Int64?
    /// Samples (bits per second) when the provider reports rates rather than counters.
    public var samples: [Sample]
    public var source: String

    public struct Sample: Sendable, Codable, Equatable {
        public var date: String
        public var downstreamBitsPerSecond: Double
        public var upstreamBitsPerSecond: Double
    }
}

/// A provider's own asynchronous job (Venocix jobs; IONOS server actions with `percent`).
public struct ProviderJobStatus: Sendable, Equatable {
    public enum Phase: String, Sendable { case queued, running, finished, failed }
    public var phase: Phase
    public var providerStatus: String
    /// 0...1
    public var progress: Double?
    /// The job output when it is an object (credentials of a reinstall), or the failure text.
    public var output: JSONValue
}
