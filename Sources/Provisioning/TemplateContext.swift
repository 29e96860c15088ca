import AgentCore
import Foundation

/// The agent URLs a rendered file calls; all but `files` carry the installation's token.
public struct InstallationURLs: Sendable, Equatable {
    /// `http://10.0.0.1:8080/boot/<token>`
    public let base: String
    /// `http://10.0.0.1:8080/boot/files/<cacheDirectory>`
    public let files: String

    public init(bootBaseURL: String, token: String, cacheDirectory: String?) {
        base = "\(bootBaseURL)/boot/\(token)"
        files = "\(bootBaseURL)/boot/files/\(cacheDirectory ?? "none")"
    }

    public func script(_ name: String) -> String { "\(base)/script/\(name)" }
    public var progress: String { "\(base)/progress" }
    public var done: String { "\(base)/done" }
    public var inventory: String { "\(base)/inventory" }
}

/// Builds the variable set every template sees (pxe-templates/README.md lists it). Pure: no I/O.
public struct TemplateContext: Sendable {
    public let request: InstallationRequest
    public let urls: InstallationURLs
    public let token: String
    /// `$6$...` of the root password; empty when none was given.
    public let rootPasswordHash: String

    public init(request: InstallationRequest, urls: InstallationURLs, token: String, rootPasswordHash: String) {
        self.request = request
        self.urls = urls
        self.token = token
        self.rootPasswordHash = rootPasswordHash
    }

    /// The script run in the rescue system for this kind (`script/<name>`), nil for installs.
    public static func kindScriptName(_ kind: InstallationKind) -> String? {
        switch kind {
        case .install: return nil
        case .rescue: return "rescue"
        case .diskWipe: return "diskwipe"
        case .passwordReset: return "passwordreset"
        case .hardwareDetection: return "hwdetect"
        }
    }

    /// The variables; `diskLayout` is the already rendered layout text.
    public func variables(diskLayout: String, layoutLevel: DiskLayoutLevel?, minimumDisks: Int) -> JSONValue {
        let profile = request.profile
        let layout = request.diskLayout
        let hostname = request.hostname
        let shortHostname = String(hostname.split(separator: ".").first ?? Substring(hostname))
        let domain = hostname.split(separator: ".").dropFirst().joined(separator: ".")
        let ipv4 = request.primaryIPv4
        let ipv6 = request.primaryIPv6
        let v4Addresses = request.configureAllIPv4 ? request.ipAssignments.filter(\.isIPv4) : ipv4.map { [$0] } ?? []
        let v6Addresses = request.configureAllIPv6 ? request.ipAssignments.filter { !$0.isIPv4 } : ipv6.map { [$0] } ?? []
        let dns = request.dns
        let setRootPassword = !rootPasswordHash.isEmpty && (profile?.setRootPassword ?? true)
        let sshKeys = (profile?.allowSSHKeys ?? true) ? request.sshKeys : []
        let scripts: [JSONValue] = request.scripts.enumerated().map { index, script in
            ["index": .integer(Int64(index + 1)), "name": .string(script.name), "url": .string(urls.script(String(index + 1)))]
        }
        let mirrorUrl = profile?.mirrorUrl ?? ""
        let bootFiles = (profile?.cacheFiles ?? []).filter { !$0.hasSuffix(".iso") }
        let iso = (profile?.cacheFiles ?? []).first { $0.hasSuffix(".iso") }.map { "\(urls.files)/\($0)" } ?? mirrorUrl
        let answerName = profile?.answerFileName
        let kindScript = Self.kindScriptName(request.kind).map(urls.script) ?? ""

        func address(_ assignment: IPAssignment?) -> JSONValue {
            guard let assignment else { return ["ip": nil, "cidr": nil, "netmask": nil, "gateway": nil, "primary": false, "index": 0] }
            return [
                "ip": .string(assignment.address.description), "cidr": .integer(Int64(assignment.prefixLength)),
                "netmask": assignment.netmask.map(JSONValue.string) ?? .null, "gateway": assignment.gateway.map(JSONValue.string) ?? .null,
                "primary": .bool(assignment.address == ipv4?.address || assignment.address == ipv6?.address), "index": 0,
            ]
        }
        func addresses(_ list: [IPAssignment]) -> JSONValue {
            .array(list.enumerated().map { index, assignment in
                guard case .object(var members) = address(assignment) else { return .null }
                members["index"] = .integer(Int64(index))
                return .object(members)
            })
        }
        let urlSet: JSONValue = [
            "boot": .string(urls.base), "files": .string(urls.files),
            "kernel": .string(bootFiles.first.map { "\(urls.files)/\($0)" } ?? ""),
            "initrd": .string(bootFiles.dropFirst().first.map { "\(urls.files)/\($0)" } ?? ""),
            "iso": .string(iso),
            "answerFile": .string(answerName.map { "\(urls.base)/\($0)" } ?? ""),
            "progress": .string(urls.progress), "done": .string(urls.done), "inventory": .string(urls.inventory),
            "firstBoot": .string(urls.script("firstboot")), "late": .string(urls.script("late")),
            "partitioning": .string(urls.script("partitioning")), "hwdetect": .string(urls.script("hwdetect")),
            "diskwipe": .string(urls.script("diskwipe")), "passwordReset": .string(urls.script("passwordreset")),
            "rescue": .string(urls.script("rescue")), "kindScript": .string(kindScript),
            "windowsInstall": .string(urls.script("install.bat")), "winpeshl": .string(urls.script("winpeshl.ini")),
        ]
        let licenseKey = profile?.windowsActivationKey ?? profile?.licenseKey
        let windowsKey = (profile?.windowsUseEmptyActivationKey ?? false) ? "" : (licenseKey ?? "")
        let keyInSpecialize = !windowsKey.isEmpty && (profile?.windowsKeyInSpecialize ?? false)
        let keyInUserData = (profile?.windowsUseEmptyActivationKey ?? false)
            || (!windowsKey.isEmpty && ((profile?.windowsKeyInUserData ?? false) || !keyInSpecialize))
        let password = request.rootPassword?.revealed ?? ""
        let windows: JSONValue = [
            "edition": .string(profile?.version ?? profile?.osName ?? ""),
            "licenseKey": .string(windowsKey),
            "hasLicenseKey": .bool(!windowsKey.isEmpty),
            "useEmptyKey": .bool(profile?.windowsUseEmptyActivationKey ?? false),
            "keyInUserData": .bool(keyInUserData),
            "keyInSpecialize": .bool(keyInSpecialize),
            "skipOOBE": .bool(profile?.windowsSkipOOBE ?? true),
            "bypassChecks": .bool(profile?.windowsBypassChecks ?? false),
            "locale": .string((profile?.language ?? "en_US").replacingOccurrences(of: "_", with: "-")),
            "timezone": .string(WindowsTimeZone.name(forIANA: profile?.timezone ?? "Etc/UTC")),
            "computerName": .string(String(shortHostname.prefix(15)).uppercased()),
            "interfaceIdentifier": .string(request.mac.map { $0.description.replacingOccurrences(of: ":", with: "-").uppercased() } ?? ""),
            "installShare": .string(profile?.windowsInstallShare ?? ""),
            "administratorPasswordEncoded": .string(WindowsPassword.encode(password, purpose: "AdministratorPassword")),
            "autoLogonPasswordEncoded": .string(WindowsPassword.encode(password, purpose: "Password")),
        ]
        let mirror = Self.mirrorParts(mirrorUrl)
        return [
            "hostname": .string(hostname), "shortHostname": .string(shortHostname), "domain": .string(domain),
            "rootPasswordHash": .string(rootPasswordHash), "setRootPassword": .bool(setRootPassword),
            "sshKeys": .array(sshKeys.map(JSONValue.string)), "hasSSHKeys": .bool(!sshKeys.isEmpty),
            "mac": .string(request.mac?.description ?? ""),
            "ipv4": address(ipv4), "hasIPv4": .bool(ipv4 != nil), "ipv4Addresses": addresses(v4Addresses),
            "ipv6": address(ipv6), "hasIPv6": .bool(ipv6 != nil), "ipv6Addresses": addresses(v6Addresses),
            "dns": .array(dns.map(JSONValue.string)),
            "dnsServers": .array(dns.enumerated().map { ["index": .integer(Int64($0 + 1)), "address": .string($1)] }),
            "hasDNS": .bool(!dns.isEmpty), "dnsCommaSeparated": .string(dns.joined(separator: ",")), "dnsSpaceSeparated": .string(dns.joined(separator: " ")),
            "dnsQuotedCommaSeparated": .string(dns.map { "\"\($0)\"" }.joined(separator: ", ")),
            "timezone": .string(profile?.timezone ?? "Etc/UTC"), "language": .string(profile?.language ?? "en_US"),
            "keyboard": .string(request.keyboard),
            "packages": .array((profile?.packages ?? []).map(JSONValue.string)),
            "packagesSpaceSeparated": .string((profile?.packages ?? []).joined(separator: " ")),
            "mirrorUrl": .string(mirrorUrl), "mirror": ["host": .string(mirror.host), "directory": .string(mirror.directory)],
            "additionalDriversUrl": .string(profile?.additionalDriversUrl ?? ""), "hasAdditionalDrivers": .bool(profile?.additionalDriversUrl != nil),
            "osName": .string(profile?.osName ?? "live system"), "version": .string(profile?.version ?? ""),
            "pxeType": .string(profile?.pxeType ?? ""), "cacheDirectory": .string(profile?.cacheDirectory ?? ""),
            "diskLayout": .string(diskLayout), "hasDiskLayoutText": .bool(!diskLayout.isEmpty),
            "diskLayoutIndented": .string(diskLayout.split(separator: "\n", omittingEmptySubsequences: false).map { "    \($0)" }.joined(separator: "\n")),
            "layout": [
                "name": .string(layout?.name ?? "default"), "level": .string(layoutLevel?.rawValue ?? "auto"),
                "minimumDisks": .integer(Int64(minimumDisks)),
                "match": .string(layoutLevel == .smallest ? "smallest" : "largest"),
            ],
            "bootPartitionMB": .integer(Int64(layout?.bootPartitionMB ?? 1024)), "efiPartitionMB": .integer(Int64(layout?.efiPartitionMB ?? 512)),
            "minimumDisks": .integer(Int64(minimumDisks)),
            "scripts": .array(scripts), "hasScripts": .bool(!scripts.isEmpty),
            "customPostScript": .string(profile?.customPostScript ?? ""), "customFirstBoot": .string(profile?.customFirstBoot ?? ""),
            "windows": windows,
            "urls": urlSet,
            "diskWipeMode": .string(request.diskWipeMode.rawValue),
            "installation": ["token": .string(token), "kind": .string(request.kind.rawValue), "serverId": .string(request.serverId)],
            "profile": profile?.document ?? [:],
        ]
    }

    /// Host and directory of a Debian-style mirror URL: `http://deb.debian.org/debian/dists/bookworm/` →
    /// (`deb.debian.org`, `/debian`).
    static func mirrorParts(_ url: String) -> (host: String, directory: String) {
        guard let components = URLComponents(string: url), let host = components.host else { return ("", "") }
        let hostPort = components.port.map { "\(host):\($0)" } ?? host
        var path = components.path
        if let dists = path.range(of: "/dists/") { path = String(path[..<dists.lowerBound]) }
        if path.hasSuffix("/") { path.removeLast() }
        return (hostPort, path.isEmpty ? "/" : path)
    }
}

/// Windows answer files carry passwords as base64 of UTF-16LE (password + purpose), with PlainText false: not
/// clear text in the file, but not a hash either (Windows setup has to recover the password).
public enum WindowsPassword {
    public static func encode(_ password: String, purpose: String) -> String {
        guard !password.isEmpty else { return "" }
        var bytes: [UInt8] = []
        for unit in (password + purpose).utf16 {
            bytes.append(UInt8(unit & 0xFF))
            bytes.append(UInt8(unit >> 8))
        }
        return Data(bytes).base64EncodedString()
    }
}

/// The Windows names of the common IANA zones (unattend.xml's TimeZone); UTC when unknown.
public enum WindowsTimeZone {
    static let names: [String: String] = [
        "Etc/UTC": "UTC", "UTC": "UTC", "Europe/London": "GMT Standard Time", "Europe/Dublin": "GMT Standard Time",
        "Europe/Berlin": "W. Europe Standard Time", "Europe/Amsterdam": "W. Europe Standard Time", "Europe/Vienna": "W. Europe Standard Time",
        "Europe/Zurich": "W. Europe Standard Time", "Europe/Rome": "W. Europe Standard Time", "Europe/Stockholm": "W. Europe Standard Time",
        "Europe/Paris": "Romance Standard Time", "Europe/Madrid": "Romance Standard Time", "Europe/Brussels": "Romance Standard Time",
        "Europe/Warsaw": "Central European Standard Time", "Europe/Prague": "Central Europe Standard Time",
        "Europe/Helsinki": "FLE Standard Time", "Europe/Kiev": "FLE Standard Time", "Europe/Athens": "GTB Standard Time",
        "Europe/Bucharest": "GTB Standard Time", "Europe/Istanbul": "Turkey Standard Time", "Europe/Moscow": "Russian Standard Time",
        "America/New_York": "Eastern Standard Time", "America/Chicago": "Central Standard Time", "America/Denver": "Mountain Standard Time",
        "America/Phoenix": "US Mountain Standard Time", "America/Los_Angeles": "Pacific Standard Time", "America/Toronto": "Eastern Standard Time",
        "America/Sao_Paulo": "E. South America Standard Time", "Asia/Tokyo": "Tokyo Standard Time", "Asia/Singapore": "Singapore Standard Time",
        "Asia/Hong_Kong": "China Standard Time", "Asia/Shanghai": "China Standard Time", "Asia/Kolkata": "India Standard Time",
        "Asia/Dubai": "Arabian Standard Time", "Australia/Sydney": "AUS Eastern Standard Time",
    ]

    public static func name(forIANA zone: String) -> String { names[zone] ?? "UTC" }
}
