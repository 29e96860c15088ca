import AgentCore
import Foundation

/// Cisco IOS / IOS-XE: text only (no structured output to probe for), state read from the running configuration
/// and `show vlan brief`, addresses written as address and mask.
public struct CiscoIOSDialect: IOSFamilyDialect {
    public init() {}

    public var vendor: String { "ciscoIosSsh" }

    public var conventions: CLIConventions {
        IOSFamily.conventions(errorPatterns: [#"^% (?!Warning)"#, #"^Unknown command"#], setupCommands: ["terminal length 0", "terminal width 511"])
    }

    public var probeCommand: String? { nil }

    public func validateInterfaceName(_ name: String, field: String) throws {
        try IOSFamily.validate(
            name, field: field,
            pattern: #"^(GigabitEthernet|Gi|FastEthernet|Fa|TenGigabitEthernet|Te|TwentyFiveGigE|Twe|FortyGigabitEthernet|Fo|HundredGigE|Hu|Ethernet|Eth|Port-channel|Po)\d{1,3}(/\d{1,3}){0,3}$"#,
            vendor: vendor)
    }

    /// `10.0.0.1/24` as `10.0.0.1 255.255.255.0`.
    public func addressText(_ cidr: String) -> String {
        guard let slash = cidr.firstIndex(of: "/"), let prefix = Int(cidr[cidr.index(after: slash)...]), let address = IPAddress(String(cidr[..<slash])),
            let mask = IPNetwork(address: address, prefixLength: prefix).netmask
        else { return cidr }
        return "\(cidr[..<slash]) \(mask)"
    }

    public func readInterface(_ name: String, using cli: any CLICommandRunner) async throws -> SwitchInterface {
        try await readingInterface(name, using: cli) {
            try Self.parseInterface(name: name, configuration: try await cli.run("show running-config interface \(name)"))
        }
    }

    public func readVLANs(using cli: any CLICommandRunner) async throws -> [SwitchVLAN] {
        Self.parseVLANs(try await cli.run("show vlan brief"), svis: try await cli.run("show running-config | section interface Vlan"))
    }

    /// An interface from `show running-config interface X`; refuses a block about another interface.
    public static func parseInterface(name: String, configuration: String) throws -> SwitchInterface {
        let lines = IOSFamily.lines(configuration)
        guard let header = lines.first(where: { $0.hasPrefix("interface ") }) else {
            throw SwitchError.notFound(device: "ciscoIosSsh", what: "interface \(name)")
        }
        let shown = String(header.dropFirst("interface ".count)).trimmingCharacters(in: .whitespaces)
        guard InterfaceName.canonical(shown) == InterfaceName.canonical(name) else {
            throw SwitchError.unexpectedOutput(
                device: "ciscoIosSsh", command: "show running-config interface \(name)", detail: "the output is about interface \(shown), not \(name)")
        }
        var result = SwitchInterface(name: shown)
        result.description = lines.first { $0.hasPrefix("description ") }.map { String($0.dropFirst("description ".count)) } ?? ""
        result.enabled = !lines.contains("shutdown")
        if lines.contains("no switchport") { return IOSFamily.routed(result) }
        result.mode = lines.contains("switchport mode trunk") ? .trunk : .access
        result.accessVlan = IOSFamily.number(after: "switchport access vlan ", in: lines) ?? 1
        result.nativeVlan = IOSFamily.number(after: "switchport trunk native vlan ", in: lines) ?? 1
        var allowed: [Int]?
        for line in lines where line.hasPrefix("switchport trunk allowed vlan ") {
            let list = String(line.dropFirst("switchport trunk allowed vlan ".count))
            if list.hasPrefix("add ") {
                allowed = Array(Set((allowed ?? []) + (VLANList.parse(String(list.dropFirst(4))) ?? []))).sorted()
            } else {
                allowed = VLANList.parse(list)
            }
        }
        result.trunkVlans = allowed
        return result
    }

    /// `show vlan brief`: `30   vlan30   active    Gi1/0/2, Gi1/0/3` (continuation lines start with spaces).
    package static func parseVLANs(_ output: String, svis: String) -> [SwitchVLAN] {
        let addresses = IOSFamily.parseSVIs(svis)
        return output.split(separator: "\n").compactMap { line -> SwitchVLAN? in
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count >= 3, let id = Int(words[0]), (1...4094).contains(id), !(1002...1005).contains(id), ["active", "act/lshut", "suspended"].contains(String(words[2])) else {
                return nil
            }
            return SwitchVLAN(id: id, name: String(words[1]), l3Ips: addresses[id] ?? [])
        }
    }
}
