import Foundation

/// An external program the agent drives, whether it is installed, and its version.
public struct ToolDescription: Codable, Sendable, Equatable {
    public var name: String
    public var found: Bool
    public var path: String?
    public var version: String?
    /// What the agent needs it for.
    public var purpose: String

    public init(name: String, path: String?, version: String?, purpose: String) {
        self.name = name
        self.found = path != nil
        self.path = path
        self.version = version
        self.purpose = purpose
    }
}

/// Finds the agent's external tools on PATH and asks each for its version.
public struct ToolInventory: Sendable {
    struct Probe: Sendable {
        let name: String
        let versionArguments: [String]
        let purpose: String
    }

    static let probes = [
        Probe(name: "ipmitool", versionArguments: ["-V"], purpose: "IPMI power, boot device, BMC users"),
        Probe(name: "snmpget", versionArguments: ["--version"], purpose: "net-snmp command-line tools (bench reference)"),
        Probe(name: "snmpd", versionArguments: ["-v"], purpose: "net-snmp agent (tests)"),
        Probe(name: "dnsmasq", versionArguments: ["--version"], purpose: "DHCP + TFTP backend"),
        Probe(name: "kea-dhcp4", versionArguments: ["-v"], purpose: "Kea DHCPv4 backend"),
        Probe(name: "dhcpd", versionArguments: ["--version"], purpose: "ISC dhcpd backend"),
    ]

    let runner: any CommandRunner
    let searchPath: String

    public init(runner: any CommandRunner = ProcessRunner(), searchPath: String? = nil) {
        self.runner = runner
        self.searchPath = searchPath ?? ToolInventory.defaultSearchPath
    }

    /// PATH plus the sbin directories, where Debian puts dhcpd, dnsmasq and snmpd.
    static var defaultSearchPath: String {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path + ":/usr/local/sbin:/usr/sbin:/sbin"
    }

    /// Every known tool, probed concurrently.
    public func discover() async -> [ToolDescription] {
        await withTaskGroup(of: (Int, ToolDescription).self) { group in
            for (index, probe) in Self.probes.enumerated() {
                group.addTask { (index, await self.describe(probe)) }
            }
            var results: [(Int, ToolDescription)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// The absolute path of `name` on the search path, if any.
    public func locate(_ name: String) -> String? {
        if name.contains("/") { return FileManager.default.isExecutableFile(atPath: name) ? name : nil }
        for directory in searchPath.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    func describe(_ probe: Probe) async -> ToolDescription {
        guard let path = locate(probe.name) else {
            return ToolDescription(name: probe.name, path: nil, version: nil, purpose: probe.purpose)
        }
        let result = try? await runner.run(ProcessCommand(path, probe.versionArguments, timeout: .seconds(5), outputLimit: 16_384))
        let version = result.flatMap { Self.parseVersion($0.standardOutput + "\n" + $0.standardError) }
        return ToolDescription(name: probe.name, path: path, version: version, purpose: probe.purpose)
    }

    /// The first dotted version number in a tool's banner (`ipmitool version 1.8.19` → `1.8.19`,
    /// `isc-dhcpd-4.4.3-P1` → `4.4.3-P1`).
    public static func parseVersion(_ text: String) -> String? {
        guard let range = text.range(of: #"\d+(\.\d+)+([-+~][A-Za-z0-9.]+)?"#, options: .regularExpression) else { return nil }
        return String(text[range])
    }
}
