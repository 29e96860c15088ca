import AgentCore
import Foundation

/// Reads the seed's loosely typed documents: booleans as true/1/"1", numbers as strings, enum values kept as
/// given (the seed's enum lists are not published, so unknown values are not refused).
struct SeedDocument {
    let fields: [String: JSONValue]
    let path: String

    init(_ value: JSONValue, path: String) throws {
        guard case .object(let fields) = value else { throw AgentError.invalidField(path, "expected an object") }
        self.fields = fields
        self.path = path
    }

    func field(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }

    func string(_ name: String) throws -> String? {
        switch fields[name] {
        case nil, .null: return nil
        case .string(let text): return text
        case .integer(let number): return String(number)
        case .double(let number): return String(number)
        case .bool(let flag): return flag ? "1" : "0"
        default: throw AgentError.invalidField(field(name), "expected a string")
        }
    }

    func int(_ name: String) throws -> Int? {
        switch fields[name] {
        case nil, .null: return nil
        case .integer(let number): return Int(number)
        case .double(let number) where number.rounded() == number: return Int(number)
        case .string(let text):
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { return nil }
            guard let number = Int(trimmed) else { throw AgentError.invalidField(field(name), "expected an integer") }
            return number
        default: throw AgentError.invalidField(field(name), "expected an integer")
        }
    }

    func bool(_ name: String) throws -> Bool? {
        switch fields[name] {
        case nil, .null: return nil
        case .bool(let flag): return flag
        case .integer(let number): return number != 0
        case .string(let text):
            switch text.lowercased() {
            case "1", "true", "yes", "on": return true
            case "0", "false", "no", "off", "": return false
            default: throw AgentError.invalidField(field(name), "expected a boolean")
            }
        default: throw AgentError.invalidField(field(name), "expected a boolean")
        }
    }

    func strings(_ name: String) throws -> [String] {
        switch fields[name] {
        case nil, .null: return []
        case .array(let items):
            return try items.enumerated().compactMap { index, item in
                switch item {
                case .string(let text): return text
                case .integer(let number): return String(number)
                case .null: return nil
                default: throw AgentError.invalidField("\(field(name))[\(index)]", "expected a string")
                }
            }
        case .string(let text): return text.isEmpty ? [] : [text]
        default: throw AgentError.invalidField(field(name), "expected an array of strings")
        }
    }
}

/// The seed's PXE profile: how to boot and answer one operating system's installer (or a rescue system).
public struct PXEProfile: Sendable, Equatable {
    public var id: String?
    public var osName: String
    public var tags: [String]
    /// kickstart, preseed, autoinstall, windows, rescue ... (kept as given).
    public var pxeType: String
    /// The iPXE script template; nil selects the stock `ipxe/<pxeType>.ipxe`.
    public var pxeConfig: String?
    public var defaultDiskLayout: String?
    public var packages: [String]
    public var language: String
    public var timezone: String
    /// The answer-file template (kickstart, preseed, user-data, unattend.xml).
    public var autoInstallTemplate: String?
    public var mirrorUrl: String?
    public var additionalDriversUrl: String?
    public var cacheDirectory: String
    public var version: String?
    public var customPostScript: String
    public var customFirstBoot: String
    public var setRootPassword: Bool
    public var allowSSHKeys: Bool
    public var allowSetHostname: Bool
    /// firstBootBeforeScriptExecution or firstBootAfterScriptExecution.
    public var completionEvent: String
    /// smartCaching, keepAsLongAsPossible or dailyCleanup.
    public var cachingPolicy: String
    public var keepDHCPMinutes: Int
    public var ipxeBIOSFile: String?
    public var ipxeEFIFile: String?
    public var isRescue: Bool
    public var isPasswordResetProfile: Bool
    public var windowsActivationKey: String?
    public var windowsUseEmptyActivationKey: Bool
    public var windowsSkipOOBE: Bool
    public var windowsBypassChecks: Bool
    public var licenseKey: String?
    public var windowsKeyInUserData: Bool
    public var windowsKeyInSpecialize: Bool
    /// The agent's own field: the SMB share WinPE runs setup.exe from (`\\\\server\\share\\win2022`).
    public var windowsInstallShare: String?
    /// The agent's own field: a registered ISO (`PUT /v1/isos/{id}`) the server boots from through its BMC's virtual
    /// media instead of PXE (the connection must be a redfish one).
    public var isoId: String?
    /// The agent's own field: paths under mirrorUrl to cache (kernel, initrd ...); a default per pxeType.
    public var cacheFiles: [String]
    /// Every field as the controller sent it, for templates (`profile.<field>`).
    public var document: JSONValue

    /// Parses a profile; `path` names it in errors (`profile`).
    public init(_ value: JSONValue, path: String = "profile") throws {
        let document = try SeedDocument(value, path: path)
        id = try document.string("id")
        osName = try document.string("osName") ?? "unnamed"
        tags = try document.strings("tags")
        pxeType = try document.string("pxeType")?.trimmingCharacters(in: .whitespaces).lowercased() ?? "kickstart"
        pxeConfig = try document.string("pxeConfig").flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        defaultDiskLayout = try document.string("defaultDiskLayout")
        packages = (try document.string("packages") ?? "").split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == " " || $0 == "," }).map(String.init)
        for (index, package) in packages.enumerated() where !Self.isPackageName(package) {
            throw AgentError.invalidField(document.field("packages"), "entry \(index + 1) '\(package.prefix(40))' is not a package or group name")
        }
        let languageText = try document.string("language").flatMap { $0.isEmpty ? nil : $0 } ?? "en_US"
        language = String(languageText.split(separator: ".").first ?? "en_US")
        guard Self.matches(language, #"^[A-Za-z]{2,3}(_[A-Za-z]{2})?(@[A-Za-z]+)?$"#) else {
            throw AgentError.invalidField(document.field("language"), "expected a locale like en_US")
        }
        timezone = try document.string("timezone").flatMap { $0.isEmpty ? nil : $0 } ?? "Etc/UTC"
        guard Self.matches(timezone, #"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$"#) else {
            throw AgentError.invalidField(document.field("timezone"), "expected a time zone like Europe/Berlin")
        }
        autoInstallTemplate = try document.string("autoInstallTemplate").flatMap { $0.isEmpty ? nil : $0 }
        mirrorUrl = try document.string("mirrorUrl").flatMap { $0.isEmpty ? nil : $0 }
        if let mirror = mirrorUrl, !Self.isPlainHTTPURL(mirror) {
            throw AgentError.invalidField(document.field("mirrorUrl"), "must be an http(s) URL without spaces or quotes")
        }
        additionalDriversUrl = try document.string("additionalDriversUrl").flatMap { $0.isEmpty ? nil : $0 }
        if let drivers = additionalDriversUrl, !Self.isPlainHTTPURL(drivers) {
            throw AgentError.invalidField(document.field("additionalDriversUrl"), "must be an http(s) URL without spaces or quotes")
        }
        let directory = try document.string("cacheDirectory") ?? ""
        guard !directory.isEmpty, directory.count <= 64, directory.allSatisfy({ $0.isLetter || $0.isNumber || "._-".contains($0) }), !directory.hasPrefix(".") else {
            throw AgentError.invalidField(document.field("cacheDirectory"), "required: letters, digits, . _ - (no leading dot)")
        }
        cacheDirectory = directory
        version = try document.string("version")
        customPostScript = try document.string("customPostScript") ?? ""
        customFirstBoot = try document.string("customFirstBoot") ?? ""
        for (name, script) in [("customPostScript", customPostScript), ("customFirstBoot", customFirstBoot)] {
            try Self.checkEmbeddable(script, field: document.field(name))
        }
        setRootPassword = try document.bool("set_root_password") ?? true
        allowSSHKeys = try document.bool("allow_ssh_keys") ?? true
        allowSetHostname = try document.bool("allow_set_hostname") ?? true
        completionEvent = try document.string("mark_installation_completed_event").flatMap { $0.isEmpty ? nil : $0 } ?? "firstBootAfterScriptExecution"
        cachingPolicy = try document.string("pxe_file_caching_policy").flatMap { $0.isEmpty ? nil : $0 } ?? "smartCaching"
        keepDHCPMinutes = try document.int("keep_dhcp_minutes") ?? 120
        guard (1...6000).contains(keepDHCPMinutes) else { throw AgentError.invalidField(document.field("keep_dhcp_minutes"), "must be from 1 to 6000") }
        ipxeBIOSFile = try document.string("ipxe_bios_file").flatMap { $0.isEmpty ? nil : $0 }
            .map { try Validation.bootFile($0, field: document.field("ipxe_bios_file")) }
        ipxeEFIFile = try document.string("ipxe_efi_file").flatMap { $0.isEmpty ? nil : $0 }
            .map { try Validation.bootFile($0, field: document.field("ipxe_efi_file")) }
        isRescue = try document.bool("isRescue") ?? false
        isPasswordResetProfile = try document.bool("isPasswordResetProfile") ?? false
        windowsActivationKey = try document.string("windows_activation_key").flatMap { $0.isEmpty ? nil : $0 }
        windowsUseEmptyActivationKey = try document.bool("windows_use_empty_activation_key") ?? false
        windowsKeyInUserData = try document.bool("windows_key_location_userdata") ?? false
        windowsKeyInSpecialize = try document.bool("windows_key_location_specialize") ?? false
        windowsSkipOOBE = try document.bool("windows_skip_oobe") ?? true
        windowsBypassChecks = try document.bool("windows_bypass_system_requirements_check") ?? false
        licenseKey = try document.string("licensekey").flatMap { $0.isEmpty ? nil : $0 }
        for (name, key) in [("windows_activation_key", windowsActivationKey), ("licensekey", licenseKey)] {
            if let key, !Self.matches(key, #"^[A-Za-z0-9-]{5,64}$"#) {
                throw AgentError.invalidField(document.field(name), "expected a product key of letters, digits and dashes")
            }
        }
        windowsInstallShare = try document.string("windowsInstallShare").flatMap { $0.isEmpty ? nil : $0 }
        if let share = windowsInstallShare, !Self.matches(share, #"^\\\\[A-Za-z0-9._-]+(\\[A-Za-z0-9._$ -]+)+$"#) {
            throw AgentError.invalidField(document.field("windowsInstallShare"), "expected a UNC path like \\\\server\\share\\win2022")
        }
        let files = try document.strings("cacheFiles")
        for (index, file) in files.enumerated() where file.contains("..") || file.hasPrefix("/") || file.contains("?") {
            throw AgentError.invalidField("\(document.field("cacheFiles"))[\(index)]", "a relative path under mirrorUrl")
        }
        isoId = try document.string("isoId").flatMap { $0.isEmpty ? nil : $0 }
        if let isoId, !ISORegistration.isIdentifier(isoId) {
            throw AgentError.invalidField(document.field("isoId"), "an ISO id: 1 to 64 letters, digits, - or _")
        }
        let installerRescue = Self.bootsInstallerRescue(isRescue: isRescue, isPasswordReset: isPasswordResetProfile, pxeType: pxeType)
        cacheFiles = files.isEmpty ? (mirrorUrl == nil ? [] : Self.defaultCacheFiles(pxeType, liveSystem: (isRescue || isPasswordResetProfile) && !installerRescue)) : files
        self.document = value
    }

    /// True for a rescue profile (not a password-reset one) of pxeType preseed: it boots the Debian installer's rescue
    /// mode instead of the live rescue system.
    public var bootsInstallerRescue: Bool {
        Self.bootsInstallerRescue(isRescue: isRescue, isPasswordReset: isPasswordResetProfile, pxeType: pxeType)
    }

    static func bootsInstallerRescue(isRescue: Bool, isPasswordReset: Bool, pxeType: String) -> Bool {
        isRescue && !isPasswordReset && pxeType == "preseed"
    }

    /// The answer file's name in boot URLs (`/boot/{token}/<name>`), nil when the profile has none.
    public var answerFileName: String? {
        switch pxeType {
        case "kickstart", "preseed", "autoinstall": return pxeType
        case "windows": return "unattend"
        default: return autoInstallTemplate == nil ? nil : "answer"
        }
    }

    static func matches(_ text: String, _ pattern: String) -> Bool {
        text.range(of: pattern, options: .regularExpression) != nil
    }

    /// A package, a group (`@core`), an environment (`@^minimal-environment`) or an exclusion (`-firewalld`).
    static func isPackageName(_ text: String) -> Bool {
        matches(text, #"^(-|@\^?)?[A-Za-z0-9][A-Za-z0-9.+_:~=*-]{0,127}$"#)
    }

    /// http(s), no characters that could end a quoted string or a kernel argument.
    static func isPlainHTTPURL(_ text: String) -> Bool {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else { return false }
        return !text.contains { $0 == " " || $0 == "\"" || $0 == "'" || $0 == "`" || $0 == "\\" || $0 == ";" || $0 == "$" || $0.isNewline }
    }

    /// Profile scripts are embedded in quoted here-documents; a line starting with our terminators would end them early.
    static func checkEmbeddable(_ script: String, field: String) throws {
        if script.split(whereSeparator: \.isNewline).contains(where: { $0.hasPrefix("RACKAGENT_") }) {
            throw AgentError.invalidField(field, "a line may not start with RACKAGENT_ (reserved for the agent's here-documents)")
        }
    }

    /// What a stock install boots, relative to the distribution mirror; `liveSystem` for rescue and password-reset
    /// profiles that boot the live rescue system.
    static func defaultCacheFiles(_ pxeType: String, liveSystem: Bool) -> [String] {
        if liveSystem { return ["live/vmlinuz", "live/initrd.img"] }
        switch pxeType {
        case "kickstart": return ["images/pxeboot/vmlinuz", "images/pxeboot/initrd.img"]
        case "preseed": return ["main/installer-amd64/current/images/netboot/debian-installer/amd64/linux",
                                "main/installer-amd64/current/images/netboot/debian-installer/amd64/initrd.gz"]
        case "autoinstall": return ["casper/vmlinuz", "casper/initrd"]
        case "windows": return ["wimboot", "boot/bcd", "boot/boot.sdi", "sources/boot.wim"]
        default: return []
        }
    }
}

/// The seed's disk layout.
public struct DiskLayout: Sendable, Equatable {
    public var id: String?
    public var name: String
    public var tags: [String]
    /// The kickstart or preseed partitioning text; empty for stock layouts (then `internalKey` selects one).
    public var text: String
    public var internalKey: String?
    public var isAutoRaid: Bool
    public var minimumDisks: Int?
    public var bootPartitionMB: Int
    public var efiPartitionMB: Int
    /// always_offer, dont_offer_if_hw_raid ... (kept as given).
    public var hardwareRaidHandling: String?
    public var document: JSONValue

    public init(_ value: JSONValue, path: String = "disklayout") throws {
        let document = try SeedDocument(value, path: path)
        id = try document.string("id")
        name = try document.string("name") ?? "unnamed"
        tags = try document.strings("tags")
        text = try document.string("disklayout") ?? ""
        internalKey = try document.string("internal_key").flatMap { $0.isEmpty ? nil : $0 }
        isAutoRaid = try document.bool("isAutoRaid") ?? false
        minimumDisks = try document.int("min_disks")
        bootPartitionMB = try document.int("partition_size_boot") ?? 1024
        efiPartitionMB = try document.int("partition_size_efi") ?? 512
        guard bootPartitionMB >= 100 else { throw AgentError.invalidField(document.field("partition_size_boot"), "must be at least 100") }
        guard efiPartitionMB >= 100 else { throw AgentError.invalidField(document.field("partition_size_efi"), "must be at least 100") }
        hardwareRaidHandling = try document.string("hw_raid_handling")
        self.document = value
    }
}

/// The seed's post-installation script.
public struct InstallScript: Sendable, Equatable {
    public var id: String?
    public var name: String
    public var script: String

    public init(_ value: JSONValue, path: String) throws {
        let document = try SeedDocument(value, path: path)
        id = try document.string("id")
        name = try document.string("name") ?? "script"
        script = try document.string("script") ?? ""
    }
}

/// One of the server's IP assignments (the seed's server ipassignments with subnetinformation).
public struct IPAssignment: Sendable, Equatable {
    public var address: IPAddress
    public var prefixLength: Int
    public var gateway: String?
    public var primary: Bool

    public var isIPv4: Bool { address.isIPv4 }
    public var netmask: String? { IPNetwork(address: address, prefixLength: prefixLength).netmask }

    public init(address: IPAddress, prefixLength: Int, gateway: String?, primary: Bool) {
        self.address = address
        self.prefixLength = prefixLength
        self.gateway = gateway
        self.primary = primary
    }

    /// `{"ip": "10.10.10.30", "primary_ip": 1, "subnetinformation": {"subnet": "10.10.10.0", "netmask": "255.255.255.0", "gw": "10.10.10.1", "type": "v4"}}`;
    /// `cidr` may replace the netmask (IPv6 uses it).
    public init(_ value: JSONValue, path: String) throws {
        let document = try SeedDocument(value, path: path)
        guard let text = try document.string("ip"), let address = IPAddress(text) else { throw AgentError.invalidField(document.field("ip"), "not an IP address") }
        self.address = address
        primary = try document.bool("primary_ip") ?? false
        let subnet = try document.fields["subnetinformation"].map { try SeedDocument($0, path: document.field("subnetinformation")) }
        if let cidr = try subnet?.int("cidr") ?? document.int("cidr") {
            prefixLength = cidr
        } else if let netmask = try subnet?.string("netmask"), case .v4(let mask)? = IPAddress(netmask) {
            prefixLength = mask.nonzeroBitCount
        } else {
            prefixLength = address.isIPv4 ? 32 : 128
        }
        guard (1...(address.isIPv4 ? 32 : 128)).contains(prefixLength) else { throw AgentError.invalidField(document.field("subnetinformation.cidr"), "out of range") }
        if let gatewayText = try subnet?.string("gw") ?? document.string("gateway"), !gatewayText.isEmpty {
            guard IPAddress(gatewayText) != nil else { throw AgentError.invalidField(document.field("subnetinformation.gw"), "not an IP address") }
            gateway = gatewayText
        }
    }
}

/// How a stock disk layout spreads over the disks, from the seed's internal_key.
public enum DiskLayoutLevel: String, Sendable, CaseIterable {
    /// RAID 10 with four or more disks, RAID 5 with three, RAID 1 with two, one disk otherwise.
    case auto
    case raid0 = "0"
    case raid1 = "1"
    case raid5 = "5"
    case raid10 = "10"
    case largest
    case smallest

    /// The seed's stock layouts: auto_raid, auto_raid_0/1/5/10, largest_disk, smallest_disk.
    public init?(internalKey: String) {
        switch internalKey {
        case "auto_raid": self = .auto
        case "auto_raid_0": self = .raid0
        case "auto_raid_1": self = .raid1
        case "auto_raid_5": self = .raid5
        case "auto_raid_10": self = .raid10
        case "largest_disk": self = .largest
        case "smallest_disk": self = .smallest
        default: return nil
        }
    }

    /// Disks the level cannot do without.
    public var minimumDisks: Int {
        switch self {
        case .raid0, .raid1: return 2
        case .raid5: return 3
        case .raid10: return 4
        case .auto, .largest, .smallest: return 1
        }
    }
}

extension DiskLayout {
    /// The stock level when the layout has no text of its own.
    public var stockLevel: DiskLayoutLevel? {
        guard text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return nil }
        if let internalKey, let level = DiskLayoutLevel(internalKey: internalKey) { return level }
        return isAutoRaid ? .auto : nil
    }

    /// The disks a server needs for this layout: min_disks, or what the stock level requires.
    public var requiredDisks: Int { max(minimumDisks ?? 0, stockLevel?.minimumDisks ?? 1) }
}
