import AgentCore
import Foundation

/// What an installation does with the server. Install, rescue and password reset follow the profile
/// (`isRescue`, `isPasswordResetProfile`); disk wipe and hardware detection are asked for by `kind`.
public enum InstallationKind: String, Sendable, Codable, CaseIterable {
    case install, rescue, diskWipe, passwordReset, hardwareDetection

    /// The seed's server flag that is 1 while an installation of this kind runs.
    public var runningFlag: String {
        switch self {
        case .install: return "reinstallationRunning"
        case .rescue: return "rescueBootRunning"
        case .diskWipe: return "diskwipeRunning"
        case .passwordReset: return "passwordResetRunning"
        case .hardwareDetection: return "hardwarecollectRunning"
        }
    }

    /// Kinds that boot the profile's rescue system and run one of the agent's scripts in it.
    public var bootsRescueSystem: Bool { self != .install }
}

/// The seed's installPowerAction: what the agent does to make the server PXE boot.
public enum InstallPowerAction: String, Sendable, Codable, CaseIterable {
    /// Boot device PXE, then power cycle (power on when off). The default.
    case powerCycle
    /// Boot device PXE, then a hard reset (power on when off).
    case powerReset
    /// Leave boot device and power alone: an operator (or the running OS) reboots the server.
    case noRestart

    init(parsing text: String?, field: String) throws {
        switch text?.trimmingCharacters(in: .whitespaces).lowercased() {
        case nil, "", "powercycle", "cycle", "restart", "reboot": self = .powerCycle
        case "powerreset", "reset": self = .powerReset
        case "norestart", "none": self = .noRestart
        case let other?:
            throw AgentError.invalidField(field, "unknown value \(other) (one of powerCycle, powerReset, noRestart)")
        }
    }
}

/// How thoroughly a disk wipe erases (the stock `diskwipe.sh`).
public enum DiskWipeMode: String, Sendable, Codable, CaseIterable {
    /// wipefs and discard, or zeroing the first and last 64 MiB.
    case fast
    /// blkdiscard --secure where the device supports it, otherwise one shred pass plus zeros.
    case secure
}

/// The body of `PUT /v1/installations/{serverId}`: the seed's startReinstallation fields plus the objects the
/// controller resolves for the agent (profile, disk layout, scripts, MAC, IP assignments, power connection).
/// Parsing validates every field that reaches a rendered file; errors name the field.
public struct InstallationRequest: Sendable {
    public var serverId: String
    public var kind: InstallationKind
    public var profileId: String?
    public var profile: PXEProfile?
    /// The clear root password; only its SHA-512 crypt hash reaches rendered files and the database.
    public var rootPassword: Secret?
    public var diskLayoutId: String?
    public var diskLayout: DiskLayout?
    /// The seed's userprovidedDiskLayout: replaces the layout's text.
    public var userProvidedDiskLayout: String?
    public var scripts: [InstallScript]
    public var hostname: String
    public var sshKeys: [String]
    public var configureAllIPv4: Bool
    public var configureAllIPv6: Bool
    public var powerAction: InstallPowerAction
    public var mac: MACAddress?
    public var ipAssignments: [IPAssignment]
    /// `{"type": "ipmi", "meta": {...}}`, kept only while the installation runs.
    public var connection: JSONValue?
    public var dns: [String]
    public var keyboard: String
    public var diskWipeMode: DiskWipeMode
    /// The seed's enable_permanent_dhcp: after the installation the server keeps a permanent DHCP entry.
    public var permanentDHCP: Bool
    /// Disks the server has, from the request or the last hardware detection; checked against min_disks.
    public var diskCount: Int?
    public var hasHardwareRAID: Bool?

    static let serverIdPattern = #"^[A-Za-z0-9_.-]{1,64}$"#

    /// Validates the server id of a path.
    public static func validateServerId(_ serverId: String) throws {
        guard PXEProfile.matches(serverId, serverIdPattern) else {
            throw AgentError.invalidField("serverId", "1-64 letters, digits, '.', '_' or '-'")
        }
    }

    public init(serverId: String, body: JSONValue) throws {
        try Self.validateServerId(serverId)
        self.serverId = serverId
        let document = try SeedDocument(body, path: "")
        profileId = try document.string("profileId")
        profile = try body["profile"].flatMap { $0 == .null ? nil : try PXEProfile($0, path: "profile") }
        if let kindText = try document.string("kind"), !kindText.isEmpty {
            guard let kind = InstallationKind(rawValue: kindText) else {
                throw AgentError.invalidField("kind", "one of \(InstallationKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            self.kind = kind
        } else if profile?.isPasswordResetProfile == true {
            kind = .passwordReset
        } else if profile?.isRescue == true {
            kind = .rescue
        } else {
            kind = .install
        }
        powerAction = try InstallPowerAction(parsing: document.string("installPowerAction"), field: "installPowerAction")
        let liveHardwareDetection = kind == .hardwareDetection && powerAction == .noRestart
        if profile == nil, !liveHardwareDetection { throw AgentError.missingField("profile") }
        if kind.bootsRescueSystem, kind != .passwordReset, !liveHardwareDetection, profile?.isRescue != true {
            throw AgentError.invalidField("profile.isRescue", "\(kind.rawValue) boots a rescue system: the profile must have isRescue set")
        }
        if kind != .rescue, kind != .install, profile?.bootsInstallerRescue == true {
            throw AgentError.invalidField(
                "kind", "the profile boots the Debian installer's rescue mode, which runs none of the agent's scripts: only kind rescue")
        }
        if kind == .install, profile?.isRescue == true || profile?.isPasswordResetProfile == true {
            throw AgentError.invalidField("kind", "the profile is a rescue profile; use kind rescue, diskWipe, passwordReset or hardwareDetection")
        }

        if let password = try document.string("rootpassword") {
            guard password.count >= 8 else { throw AgentError.invalidField("rootpassword", "must be at least 8 characters") }
            guard password.count <= 256, !password.contains(where: { $0.isNewline || $0 == "\0" }) else {
                throw AgentError.invalidField("rootpassword", "at most 256 characters, no line breaks")
            }
            rootPassword = Secret(password)
        } else if kind == .passwordReset || (kind == .install && profile?.setRootPassword != false) {
            throw AgentError.missingField("rootpassword")
        }

        diskLayoutId = try document.string("disklayoutId")
        diskLayout = try body["disklayout"].flatMap { $0 == .null ? nil : try DiskLayout($0, path: "disklayout") }
        userProvidedDiskLayout = try document.string("userprovidedDiskLayout").flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }

        let scriptObjects: [InstallScript]
        switch body["scripts"] {
        case nil, .null?: scriptObjects = []
        case .array(let items)?: scriptObjects = try items.enumerated().map { try InstallScript($1, path: "scripts[\($0)]") }
        default: throw AgentError.invalidField("scripts", "expected an array of script objects")
        }
        let runScripts = try document.strings("runScripts")
        if runScripts.isEmpty {
            scripts = scriptObjects
        } else {
            scripts = try runScripts.enumerated().map { index, id in
                guard let script = scriptObjects.first(where: { $0.id == id }) else {
                    throw AgentError.invalidField("runScripts[\(index)]", "script \(id) is not among the script objects sent in scripts")
                }
                return script
            }
        }

        let hostnameText = try document.string("hostname")?.trimmingCharacters(in: .whitespaces) ?? ""
        if hostnameText.isEmpty {
            hostname = "server-\(serverId.lowercased().replacingOccurrences(of: "_", with: "-").replacingOccurrences(of: ".", with: "-"))"
        } else {
            guard hostnameText.count <= 255, Validation.isHostName(hostnameText) else {
                throw AgentError.invalidField("hostname", "must be a valid host name (letters, digits, hyphens and dots, at most 255 characters)")
            }
            hostname = hostnameText.lowercased()
        }

        sshKeys = try document.strings("sshkeys").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for (index, key) in sshKeys.enumerated() where !Self.isAuthorizedKey(key) {
            throw AgentError.invalidField("sshkeys[\(index)]", "not a single-line OpenSSH public key (type, base64, optional comment without quotes)")
        }
        configureAllIPv4 = try document.bool("configure_all_ipvfour") ?? false
        configureAllIPv6 = try document.bool("configure_all_ipvsix") ?? false

        if let macText = try document.string("mac"), !macText.isEmpty {
            mac = try MACAddress.parse(macText, field: "mac")
        } else if !liveHardwareDetection {
            throw AgentError.missingField("mac")
        }
        switch body["ipassignments"] {
        case nil, .null?: ipAssignments = []
        case .array(let items)?: ipAssignments = try items.enumerated().map { try IPAssignment($1, path: "ipassignments[\($0)]") }
        default: throw AgentError.invalidField("ipassignments", "expected an array")
        }
        if !liveHardwareDetection, !ipAssignments.contains(where: \.isIPv4), !ipAssignments.contains(where: { !$0.isIPv4 }) {
            throw AgentError.invalidField("ipassignments", "at least one address is needed for the installation's DHCP entry")
        }

        let bootsFromISO = profile?.isoId != nil
        switch body["connection"] {
        case nil, .null?:
            if powerAction != .noRestart || bootsFromISO { throw AgentError.missingField("connection") }
        case .object(let members)?:
            guard case .string(let type)? = members["type"] else { throw AgentError.missingField("connection.type") }
            if bootsFromISO, type != "redfish" {
                throw AgentError.invalidField("connection.type", "the profile boots ISO \(profile?.isoId ?? "") through virtual media: a redfish connection is needed, not \(type)")
            }
            connection = body["connection"]
        default:
            throw AgentError.invalidField("connection", "expected an object {type, meta}")
        }

        dns = try document.strings("dns")
        for (index, server) in dns.enumerated() where IPAddress(server) == nil {
            throw AgentError.invalidField("dns[\(index)]", "not an IP address")
        }
        keyboard = try document.string("keyboard").flatMap { $0.isEmpty ? nil : $0 } ?? "us"
        guard PXEProfile.matches(keyboard, #"^[A-Za-z0-9_-]{1,32}$"#) else { throw AgentError.invalidField("keyboard", "expected a layout like us or de") }
        if let modeText = try document.string("diskWipeMode"), !modeText.isEmpty {
            guard let mode = DiskWipeMode(rawValue: modeText) else { throw AgentError.invalidField("diskWipeMode", "one of fast, secure") }
            diskWipeMode = mode
        } else {
            diskWipeMode = .fast
        }
        permanentDHCP = try document.bool("enable_permanent_dhcp") ?? false

        if let hardware = body["hardware"], hardware != .null {
            let facts = try SeedDocument(hardware, path: "hardware")
            diskCount = try facts.int("disks")
            hasHardwareRAID = try facts.bool("hardwareRaid")
            if let diskCount, diskCount < 0 { throw AgentError.invalidField("hardware.disks", "must not be negative") }
        }
    }

    /// The registered ISO the server boots from through virtual media instead of PXE (the profile's `isoId`).
    public var bootISO: String? { profile?.isoId }

    /// The address the installation's DHCP entry hands out: the primary IPv4, else the first IPv4.
    public var primaryIPv4: IPAssignment? {
        ipAssignments.first { $0.isIPv4 && $0.primary } ?? ipAssignments.first(where: \.isIPv4)
    }

    public var primaryIPv6: IPAssignment? {
        ipAssignments.first { !$0.isIPv4 && $0.primary } ?? ipAssignments.first { !$0.isIPv4 }
    }

    /// Key types OpenSSH accepts in authorized_keys, base64 body, optional comment of safe characters.
    static func isAuthorizedKey(_ key: String) -> Bool {
        PXEProfile.matches(
            key,
            #"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( [A-Za-z0-9 @._:+/=,()-]{0,200})?$"#)
    }
}
