import Foundation

/// The agent's whole configuration: YAML file (`/etc/rackagent/agent.yaml`), then `RACKAGENT_*` environment
/// variables, then command-line flags. Every property has a default, so an empty or missing file is valid
/// (the embedded default). The YAML keys are the property names below; the environment variable for a key
/// is its path in upper snake case (`controller.caFile` → `RACKAGENT_CONTROLLER_CA_FILE`).
public struct AgentConfiguration: Codable, Sendable, Equatable {
    /// SQLite database, token, certificates, DHCP and TFTP files. Created 0700.
    public var stateDirectory: String = "/var/lib/rackagent"
    public var logFormat: LogFormat = .auto
    public var logLevel: LogLevelName = .info
    public var api = APIConfiguration()
    public var boot = BootConfiguration()
    public var controller = ControllerConfiguration()
    public var jobs = JobsConfiguration()
    public var ipmi = IPMIConfiguration()
    public var redfish = RedfishConfiguration()
    public var snmp = SNMPConfiguration()
    public var ssh = SSHConfiguration()
    public var dhcp = DHCPConfiguration()
    public var provisioning = ProvisioningConfiguration()
    public var providers = ProvidersConfiguration()
    public var console = ConsoleConfiguration()

    public init() {}
}

public enum LogFormat: String, Codable, Sendable, CaseIterable {
    /// Human lines on a terminal, JSON lines otherwise.
    case auto
    case human
    case json
}

public enum LogLevelName: String, Codable, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}

/// The controller-facing HTTPS listener.
public struct APIConfiguration: Codable, Sendable, Equatable {
    /// `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (all addresses).
    public var listen = "127.0.0.1:8443"
    /// PEM certificate chain; when absent a self-signed certificate is generated in `<stateDirectory>/tls/`.
    public var tlsCertificateFile: String?
    /// PEM private key for `tlsCertificateFile`.
    public var tlsKeyFile: String?
    /// PEM CA bundle; when set, clients must present a certificate signed by it (mutual TLS).
    public var clientCAFile: String?
    /// Source networks allowed to call the API (CIDR); empty allows every source.
    public var allowedSources: [String] = []
    /// File holding the bearer token; default `<stateDirectory>/token`, generated on first start.
    public var tokenFile: String?
    /// Request bodies above this size are refused with 413.
    public var maxBodyBytes = 1_048_576
    /// Open connections at most; beyond, new ones wait in the kernel's backlog (and a warning is logged).
    public var maxConnections = 1024
    /// A new connection must complete its TLS handshake and send its first request head within this time.
    public var requestHeaderTimeoutSeconds = 10.0
    /// A request must be read completely within this time after its head.
    public var requestTimeoutSeconds = 60.0
    /// A kept-alive connection may wait this long for its next request.
    public var idleTimeoutSeconds = 60.0

    public init() {}
}

/// The plain-HTTP listener booting servers and installers talk to.
public struct BootConfiguration: Codable, Sendable, Equatable {
    public var listen = "0.0.0.0:8080"
    /// The base URL booting servers reach this listener at, e.g. `http://10.0.0.1:8080`. Default: derived from
    /// `dhcp.serverAddress` and the listen port, or the listen address itself.
    public var advertisedURL: String?
    /// Open connections at most (a rack booting at once, plus installers).
    public var maxConnections = 4096
    /// A new connection must send its request head within this time.
    public var requestHeaderTimeoutSeconds = 10.0
    /// A request (an inventory report, a progress post) must be read completely within this time after its head.
    public var requestTimeoutSeconds = 60.0
    /// A kept-alive connection may wait this long for its next request.
    public var idleTimeoutSeconds = 60.0

    public init() {}
}

/// The console listener end users' browsers reach (HTTPS), and the console sessions behind it.
public struct ConsoleConfiguration: Codable, Sendable, Equatable {
    /// `HOST:PORT`; end users' browsers connect here.
    public var listen = "0.0.0.0:8444"
    /// The base URL links are made with, e.g. `https://agent1.example.net:8444`. Default: `https://<host name>:<port>`.
    public var publicURL: String?
    /// PEM certificate chain and key; default: the controller listener's (its configured or generated pair).
    public var tlsCertificateFile: String?
    public var tlsKeyFile: String?
    /// How long a new link can be opened (it can be opened once).
    public var linkLifetimeSeconds = 300.0
    /// A session with no byte in either direction for this long is closed.
    public var idleTimeoutSeconds = 1800.0
    /// A session is closed after this long, however busy.
    public var maxDurationSeconds = 14_400.0
    /// Sessions (links not yet opened and open ones) at most.
    public var maxSessions = 256
    /// The tail of each server's serial output kept for `GET /v1/consoles/log/{serverId}`.
    public var serialLogBytes = 262_144
    /// Watch the serial console of every installation with an IPMI connection, so its last screen can be read later.
    public var captureInstallations = true
    /// Browser assets from Debian packages: node-xterm's modules, libjs-xterm's stylesheet, novnc.
    public var xtermModulesDirectory = "/usr/share/nodejs/xterm/lib"
    public var xtermStylesheet = "/usr/share/javascript/xterm/xterm.css"
    public var novncDirectory = "/usr/share/novnc"
    /// Open connections at most on the console listener.
    public var maxConnections = 1024

    public init() {}
}

/// Where events are delivered (the outbox's destination).
public struct ControllerConfiguration: Codable, Sendable, Equatable {
    /// Full URL events are POSTed to; no delivery when absent (events wait in the outbox).
    public var url: String?
    public var token: Secret?
    /// Alternative to `token`: a file holding it.
    public var tokenFile: String?
    /// PEM CA bundle to verify the controller's certificate; system roots otherwise.
    public var caFile: String?
    public var batchSize = 100
    /// Outbox bound; when reached the oldest events are dropped, counted and logged.
    public var maxOutboxEvents = 100_000
    public var maxBackoffSeconds = 300.0
    public var requestTimeoutSeconds = 10.0

    public init() {}
}

public struct JobsConfiguration: Codable, Sendable, Equatable {
    /// Finished jobs older than this are deleted.
    public var retentionDays = 14
    /// Action-log rows older than this are deleted.
    public var actionLogRetentionDays = 90

    public init() {}
}

public struct IPMIConfiguration: Codable, Sendable, Equatable {
    public var ipmitoolPath = "ipmitool"
    /// Minimum pause between two commands to the same BMC.
    public var minimumGapSeconds = 1.0
    /// Global bound on concurrently running ipmitool processes.
    public var maxConcurrentCommands = 64
    /// Default per-call timeout; a connection's `timeoutSeconds` overrides it.
    public var commandTimeoutSeconds = 20.0
    /// Default ipmitool retries (`-R`); a connection's `retries` overrides it.
    public var retries = 1
    /// How long read-back verification polls for the requested power state.
    public var verifyDeadlineSeconds = 30.0
    /// Allows `raw` in executeCustomCommand.
    public var allowRawCommands = false
    /// The agent's own ipmitool commands run with `HOME` set to a directory holding a manufacturer registry of one
    /// entry, which saves ipmitool 1.8.19 parsing the system's 4.7 MB registry at every start (three quarters of its
    /// CPU). Set false when `ipmitoolPath` is a wrapper that needs the real `HOME` (ssh to a jump host, `sudo -H`).
    public var oneEntryManufacturerRegistry = true

    public init() {}
}

/// Redfish BMCs: how requests are spaced, bounded and verified, and how BMC certificates are trusted.
public struct RedfishConfiguration: Codable, Sendable, Equatable {
    /// Minimum pause between two requests to the same BMC.
    public var minimumGapSeconds = 0.2
    /// Requests in flight at once, all BMCs together.
    public var maxConcurrentRequests = 64
    /// Default per-request timeout; a connection's `timeoutSeconds` overrides it.
    public var requestTimeoutSeconds = 30.0
    /// How often a request answered 503 (busy) is sent again, with backoff, before the call fails.
    public var busyRetries = 3
    /// How long a power change is polled for its read-back (BMCs apply changes seconds later).
    public var verifyDeadlineSeconds = 60.0
    /// How long a BMC reset (Manager.Reset) is watched for the BMC going away and answering again.
    public var managerResetDeadlineSeconds = 180.0
    /// How a BMC's TLS certificate is trusted: the first one seen, or only `meta.certificateSha256`.
    public var certificatePolicy = CertificatePolicy.trustOnFirstUse
    /// Power methods on ipmi connections try Redfish on the same BMC first (same address and credentials), and use
    /// IPMI only when Redfish provably did not act; a connection's `preferRedfish` overrides this.
    public var preferForIPMIConnections = false

    public init() {}
}

/// How a device's TLS certificate is trusted.
public enum CertificatePolicy: String, Codable, Sendable, CaseIterable {
    /// Remember the first certificate seen per device; refuse a different one later.
    case trustOnFirstUse
    /// Require the connection's `certificateSha256` and refuse anything else.
    case pinned
}

public struct SNMPConfiguration: Codable, Sendable, Equatable {
    public var pollIntervalSeconds = 60.0
    public var maxConcurrentDevices = 256
    public var timeoutSeconds = 2.0
    public var retries = 1
    /// GETBULK max-repetitions unless a device's meta overrides it.
    public var maxRepetitions = 32
    /// testConnectivity results are reused for this long unless `useCache` is false.
    public var statusCacheSeconds = 900.0
    /// Bandwidth history (a day's exact volumes, the coarsest form) is kept this long, in days. A shorter value caps
    /// the two below.
    public var rollupRetentionDays = 400
    /// A closed day keeps its 5-minute buckets this long, in days; then they are summed into hourly ones. At least 31:
    /// the 30-day 95th percentile reads them.
    public var fiveMinuteRetentionDays = 32
    /// A day keeps its hourly buckets this long, in days; then only its daily volumes remain.
    public var hourlyRetentionDays = 90
    /// Every poll's per-port deltas are kept this long, in days; 0 keeps only each port's newest (the last rate). The
    /// controller receives every one in `bandwidth.samples` events, and the rollups carry the history; at a 60 s
    /// interval they cost about 180 KB per port and day.
    public var rawSampleRetentionDays = 0
    /// How long a cycled outlet stays off before it is switched on again.
    public var outletCycleDelaySeconds = 5.0
    /// How long an outlet switch may take to show in the PDU's state column before it counts as not carried out.
    public var outletVerifySeconds = 10.0

    public init() {}
}

public enum HostKeyPolicy: String, Codable, Sendable, CaseIterable {
    /// Record the first key seen per device; refuse a different one later.
    case trustOnFirstUse
    /// Require the device's `meta.hostKeySha256` and refuse anything else.
    case pinned
}

public struct SSHConfiguration: Codable, Sendable, Equatable {
    public var hostKeyPolicy = HostKeyPolicy.trustOnFirstUse
    public var connectTimeoutSeconds = 10.0
    public var commandTimeoutSeconds = 30.0
    /// An idle session to a switch is closed after this long.
    public var idleCloseSeconds = 30.0
    public var keepaliveSeconds = 15
    public var maxConcurrentSessions = 32

    public init() {}
}

public enum DHCPBackendKind: String, Codable, Sendable, CaseIterable {
    case dnsmasq, kea, isc, none
}

public enum UnknownMACBootAction: String, Codable, Sendable, CaseIterable {
    /// Answer with a script that boots the local disk.
    case localBoot
    /// Answer 404: the client's firmware moves on to its next boot device.
    case refuse
}

public struct DHCPSubnetConfiguration: Codable, Sendable, Equatable {
    /// `10.10.10.0/24`
    public var subnet: String
    /// Optional dynamic range `first-last`; reservations-only when absent.
    public var range: String?
    public var routers: [String]?
    public var dns: [String]?
    public var leaseSeconds: Int?
    public var domainName: String?

    public init(subnet: String, range: String? = nil, routers: [String]? = nil, dns: [String]? = nil) {
        self.subnet = subnet
        self.range = range
        self.routers = routers
        self.dns = dns
    }
}

public struct DHCPConfiguration: Codable, Sendable, Equatable {
    public var backend = DHCPBackendKind.dnsmasq
    /// Boot-network interface. With the dnsmasq backend the agent starts and supervises dnsmasq on it; without
    /// it configs are rendered and validated but no daemon runs.
    public var interface: String?
    /// The agent's IPv4 address on the boot network: next-server and the host of the iPXE script URL.
    public var serverAddress: String?
    public var subnets: [DHCPSubnetConfiguration] = []
    public var leaseSeconds = 3600
    /// Default `<stateDirectory>/dhcp`.
    public var configDirectory: String?
    /// Default `<stateDirectory>/tftp`.
    public var tftpRoot: String?
    /// Where Debian's `ipxe` package puts undionly.kpxe, ipxe.efi and snponly.efi.
    public var ipxeDirectory = "/usr/lib/ipxe"
    public var biosBootFile = "undionly.kpxe"
    /// `ipxe.efi` or `snponly.efi`.
    public var efiBootFile = "ipxe.efi"
    /// Served to arm64 UEFI clients (arch 11) when set; a file in the TFTP root.
    public var arm64BootFile: String?
    public var unknownMACAction = UnknownMACBootAction.localBoot
    public var dnsmasqPath = "dnsmasq"
    public var keaPath = "kea-dhcp4"
    public var dhcpdPath = "dhcpd"
    /// Kea's unix control socket; the agent sends `config-reload` through it after writing the config.
    public var keaControlSocket: String?
    /// Command (argv) run after dhcpd.conf changed, e.g. `[systemctl, restart, isc-dhcp-server]`.
    public var iscRestartCommand: [String]?
    /// Where the live config is written for Kea and ISC; default `<configDirectory>/kea-dhcp4.conf` / `dhcpd.conf`.
    public var liveConfigFile: String?
    /// How often expired temporary entries are looked for.
    public var expiryCheckSeconds = 30.0

    public init() {}
}

public struct ProvisioningConfiguration: Codable, Sendable, Equatable {
    /// Stock templates; default: `pxe-templates` next to the binary's package, then /usr/share/rackagent/pxe-templates.
    public var templatesDirectory: String?
    /// Default `<stateDirectory>/os-cache`.
    public var osCacheDirectory: String?
    public var downloadTimeoutSeconds = 600.0
    /// How long an installation may run before it is marked failed.
    public var installationTimeoutMinutes = 240

    public init() {}
}

public struct ProvidersConfiguration: Codable, Sendable, Equatable {
    public var requestTimeoutSeconds = 30.0
    /// How often a provider job or state is polled while an agent job waits for it.
    public var pollIntervalSeconds = 5.0
    /// How long an agent job waits for a provider to reach a state.
    public var waitTimeoutSeconds = 1800.0
    /// How long a native reset or reboot is watched for evidence (the state seen leaving "on" and coming back)
    /// before it is reported `verified: false`; a restart that is under way when this ends is followed to the end
    /// within `waitTimeoutSeconds`.
    public var restartEvidenceSeconds = 120.0
    /// Requests per minute per IONOS account: the Cloud Panel API documents 25 (its X-Rate-Limit-* headers and
    /// 429 answers tighten this further when they say so).
    public var ionosRequestsPerMinute = 25.0
    /// Requests per second per Venocix or CloudSigma account (neither documents a limit).
    public var requestsPerSecond = 5.0

    public init() {}
}

extension AgentConfiguration {
    /// Cross-field checks that decoding alone cannot do. Throws ``ConfigurationError/invalidValue``.
    public func validate() throws {
        _ = try ListenAddress(parsing: api.listen, key: "api.listen")
        _ = try ListenAddress(parsing: boot.listen, key: "boot.listen")
        for (index, source) in api.allowedSources.enumerated() {
            guard IPNetwork(source) != nil else {
                throw ConfigurationError.invalidValue(key: "api.allowedSources[\(index)]", reason: "not a CIDR network: \(source)")
            }
        }
        if (api.tlsCertificateFile == nil) != (api.tlsKeyFile == nil) {
            throw ConfigurationError.invalidValue(key: "api.tlsKeyFile", reason: "tlsCertificateFile and tlsKeyFile go together")
        }
        guard api.maxBodyBytes > 0 else { throw ConfigurationError.invalidValue(key: "api.maxBodyBytes", reason: "must be positive") }
        _ = try ListenAddress(parsing: console.listen, key: "console.listen")
        if let url = console.publicURL {
            guard let parsed = URL(string: url), parsed.scheme == "https", parsed.host != nil, parsed.query == nil else {
                throw ConfigurationError.invalidValue(key: "console.publicURL", reason: "not an https URL without query: \(url)")
            }
        }
        if (console.tlsCertificateFile == nil) != (console.tlsKeyFile == nil) {
            throw ConfigurationError.invalidValue(key: "console.tlsKeyFile", reason: "tlsCertificateFile and tlsKeyFile go together")
        }
        guard console.maxSessions > 0 else { throw ConfigurationError.invalidValue(key: "console.maxSessions", reason: "must be positive") }
        guard (4096...(64 << 20)).contains(console.serialLogBytes) else {
            throw ConfigurationError.invalidValue(key: "console.serialLogBytes", reason: "must be from 4096 to 67108864")
        }
        for (section, connections) in [("api", api.maxConnections), ("boot", boot.maxConnections), ("console", console.maxConnections)]
        where connections < 16 {
            throw ConfigurationError.invalidValue(key: "\(section).maxConnections", reason: "must be at least 16")
        }
        for (key, seconds) in [
            ("api.requestHeaderTimeoutSeconds", api.requestHeaderTimeoutSeconds), ("api.requestTimeoutSeconds", api.requestTimeoutSeconds),
            ("api.idleTimeoutSeconds", api.idleTimeoutSeconds), ("boot.requestHeaderTimeoutSeconds", boot.requestHeaderTimeoutSeconds),
            ("boot.requestTimeoutSeconds", boot.requestTimeoutSeconds), ("boot.idleTimeoutSeconds", boot.idleTimeoutSeconds),
            ("providers.requestTimeoutSeconds", providers.requestTimeoutSeconds), ("providers.pollIntervalSeconds", providers.pollIntervalSeconds),
            ("providers.waitTimeoutSeconds", providers.waitTimeoutSeconds), ("providers.restartEvidenceSeconds", providers.restartEvidenceSeconds),
            ("console.linkLifetimeSeconds", console.linkLifetimeSeconds), ("console.idleTimeoutSeconds", console.idleTimeoutSeconds),
            ("console.maxDurationSeconds", console.maxDurationSeconds), ("ipmi.commandTimeoutSeconds", ipmi.commandTimeoutSeconds),
            ("ipmi.verifyDeadlineSeconds", ipmi.verifyDeadlineSeconds), ("redfish.requestTimeoutSeconds", redfish.requestTimeoutSeconds),
            ("redfish.verifyDeadlineSeconds", redfish.verifyDeadlineSeconds),
            ("redfish.managerResetDeadlineSeconds", redfish.managerResetDeadlineSeconds), ("snmp.timeoutSeconds", snmp.timeoutSeconds),
            ("snmp.outletCycleDelaySeconds", snmp.outletCycleDelaySeconds), ("snmp.outletVerifySeconds", snmp.outletVerifySeconds),
            ("ssh.connectTimeoutSeconds", ssh.connectTimeoutSeconds), ("ssh.commandTimeoutSeconds", ssh.commandTimeoutSeconds),
            ("ssh.idleCloseSeconds", ssh.idleCloseSeconds), ("controller.requestTimeoutSeconds", controller.requestTimeoutSeconds),
            ("controller.maxBackoffSeconds", controller.maxBackoffSeconds), ("provisioning.downloadTimeoutSeconds", provisioning.downloadTimeoutSeconds),
            ("dhcp.expiryCheckSeconds", dhcp.expiryCheckSeconds),
        ] where !(seconds > 0) {
            throw ConfigurationError.invalidValue(key: key, reason: "must be positive")
        }
        if let url = controller.url {
            guard let parsed = URL(string: url), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw ConfigurationError.invalidValue(key: "controller.url", reason: "not an http(s) URL: \(url)")
            }
        }
        guard controller.batchSize > 0 else { throw ConfigurationError.invalidValue(key: "controller.batchSize", reason: "must be positive") }
        guard controller.maxOutboxEvents > 0 else {
            throw ConfigurationError.invalidValue(key: "controller.maxOutboxEvents", reason: "must be positive")
        }
        guard ipmi.maxConcurrentCommands > 0 else {
            throw ConfigurationError.invalidValue(key: "ipmi.maxConcurrentCommands", reason: "must be positive")
        }
        guard redfish.maxConcurrentRequests > 0 else {
            throw ConfigurationError.invalidValue(key: "redfish.maxConcurrentRequests", reason: "must be positive")
        }
        guard redfish.minimumGapSeconds >= 0 else { throw ConfigurationError.invalidValue(key: "redfish.minimumGapSeconds", reason: "must not be negative") }
        guard (0...10).contains(redfish.busyRetries) else { throw ConfigurationError.invalidValue(key: "redfish.busyRetries", reason: "must be from 0 to 10") }
        guard ipmi.minimumGapSeconds >= 0 else { throw ConfigurationError.invalidValue(key: "ipmi.minimumGapSeconds", reason: "must not be negative") }
        guard snmp.pollIntervalSeconds >= 1 else { throw ConfigurationError.invalidValue(key: "snmp.pollIntervalSeconds", reason: "must be at least 1") }
        guard snmp.rawSampleRetentionDays >= 0 else {
            throw ConfigurationError.invalidValue(key: "snmp.rawSampleRetentionDays", reason: "must not be negative")
        }
        guard snmp.fiveMinuteRetentionDays >= 31 else {
            throw ConfigurationError.invalidValue(key: "snmp.fiveMinuteRetentionDays", reason: "must be at least 31 (the 30-day 95th percentile reads 5-minute buckets)")
        }
        guard snmp.hourlyRetentionDays >= snmp.fiveMinuteRetentionDays else {
            throw ConfigurationError.invalidValue(key: "snmp.hourlyRetentionDays", reason: "must be at least snmp.fiveMinuteRetentionDays")
        }
        guard snmp.rollupRetentionDays >= 1 else {
            throw ConfigurationError.invalidValue(key: "snmp.rollupRetentionDays", reason: "must be at least 1")
        }
        guard snmp.maxConcurrentDevices > 0 else { throw ConfigurationError.invalidValue(key: "snmp.maxConcurrentDevices", reason: "must be positive") }
        for (index, subnet) in dhcp.subnets.enumerated() where IPNetwork(subnet.subnet) == nil {
            throw ConfigurationError.invalidValue(key: "dhcp.subnets[\(index)].subnet", reason: "not a CIDR network: \(subnet.subnet)")
        }
        if let address = dhcp.serverAddress, IPAddress(address) == nil {
            throw ConfigurationError.invalidValue(key: "dhcp.serverAddress", reason: "not an IP address: \(address)")
        }
        for (key, file) in [("dhcp.biosBootFile", dhcp.biosBootFile), ("dhcp.efiBootFile", dhcp.efiBootFile), ("dhcp.arm64BootFile", dhcp.arm64BootFile)] {
            if let file, !Validation.isBootFile(file) {
                throw ConfigurationError.invalidValue(key: key, reason: "not a boot file name (letters, digits, ._-/) or a plain http(s) URL")
            }
        }
        // Written into dnsmasq, Kea and dhcpd configuration lines.
        for (key, path) in [("dhcp.configDirectory", dhcp.configDirectory), ("dhcp.tftpRoot", dhcp.tftpRoot), ("dhcp.keaControlSocket", dhcp.keaControlSocket)] {
            if let path, !Validation.isPlainPath(path) {
                throw ConfigurationError.invalidValue(key: key, reason: "not an absolute path of letters, digits and ._-/+@: \(path)")
            }
        }
        // The default DHCP and TFTP directories are under the state directory: it must be as plain.
        if dhcp.backend != .none, dhcp.configDirectory == nil || dhcp.tftpRoot == nil,
           !Validation.isPlainPath(stateDirectory.hasPrefix("/") ? stateDirectory : "/" + stateDirectory)
        {
            throw ConfigurationError.invalidValue(
                key: "stateDirectory", reason: "the DHCP files are written under it, so it may hold only letters, digits and ._-/+@: \(stateDirectory)")
        }
        if let interface = dhcp.interface, !Validation.isInterfaceName(interface) {
            throw ConfigurationError.invalidValue(key: "dhcp.interface", reason: "not a network interface name: \(interface)")
        }
        // A backend the agent cannot make take a new configuration would report entries as live that are not.
        switch dhcp.backend {
        case .kea where dhcp.keaControlSocket == nil:
            throw ConfigurationError.invalidValue(
                key: "dhcp.keaControlSocket", reason: "required with backend kea: without it kea-dhcp4 never loads the entries the agent writes")
        case .isc where (dhcp.iscRestartCommand ?? []).isEmpty:
            throw ConfigurationError.invalidValue(
                key: "dhcp.iscRestartCommand", reason: "required with backend isc: without it dhcpd never loads the entries the agent writes")
        default:
            break
        }
    }

    /// Makes the state directory absolute (rendered daemon configs need absolute paths).
    public mutating func resolvePaths(relativeTo base: String = FileManager.default.currentDirectoryPath) {
        if !stateDirectory.hasPrefix("/") {
            stateDirectory = URL(fileURLWithPath: stateDirectory, relativeTo: URL(fileURLWithPath: base, isDirectory: true)).standardizedFileURL.path
        }
    }

    public var tokenFilePath: String { api.tokenFile ?? "\(stateDirectory)/token" }
    public var tlsDirectory: String { "\(stateDirectory)/tls" }
    public var databasePath: String { "\(stateDirectory)/rackagent.sqlite" }
    public var dhcpConfigDirectory: String { dhcp.configDirectory ?? "\(stateDirectory)/dhcp" }
    public var tftpRoot: String { dhcp.tftpRoot ?? "\(stateDirectory)/tftp" }
    public var osCacheDirectory: String { provisioning.osCacheDirectory ?? "\(stateDirectory)/os-cache" }

    /// The URL booting servers use to reach the boot listener.
    public var bootBaseURL: String {
        if let advertised = boot.advertisedURL { return advertised.hasSuffix("/") ? String(advertised.dropLast()) : advertised }
        let listen = (try? ListenAddress(parsing: boot.listen, key: "boot.listen")) ?? ListenAddress(host: "127.0.0.1", port: 8080)
        let host = dhcp.serverAddress ?? (listen.isWildcard ? "127.0.0.1" : listen.host)
        return "http://\(host.contains(":") ? "[\(host)]" : host):\(listen.port)"
    }
}

/// A `HOST:PORT` listen address.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `[IPv6]:PORT` or `:PORT`.
    public init(parsing text: String, key: String) throws {
        func fail() -> ConfigurationError {
            .invalidValue(key: key, reason: "expected HOST:PORT, [IPv6]:PORT or :PORT, got \(text)")
        }
        let host: String
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { throw fail() }
            host = String(text[text.index(after: text.startIndex)..<close])
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":"), text.firstIndex(of: ":") == colon else { throw fail() }
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        }
        guard let port = Int(portText), (0...65535).contains(port) else { throw fail() }
        self.host = host.isEmpty ? "0.0.0.0" : host
        self.port = port
    }

    public var isWildcard: Bool { host == "0.0.0.0" || host == "::" }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public enum ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case malformed(path: String, reason: String)
    case unknownKey(String)
    case invalidValue(key: String, reason: String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "configuration file \(path) cannot be read: \(reason)"
        case .malformed(let path, let reason): return "configuration file \(path) is not valid YAML: \(reason)"
        case .unknownKey(let key): return "unknown configuration key \(key)"
        case .invalidValue(let key, let reason): return "bad value for configuration key \(key): \(reason)"
        }
    }
}
