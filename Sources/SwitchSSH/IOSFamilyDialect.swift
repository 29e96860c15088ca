import AgentCore
import Foundation

/// The industry-standard CLI family (Arista EOS, Cisco NX-OS, Dell OS10, Cisco IOS / IOS-XE): one configuration
/// grammar (`interface X`, `switchport ...`, `configure terminal` ... `end`), read back in each vendor's own way.
/// A vendor of the family is one type conforming to this protocol: it says how it reads interfaces and VLANs and
/// overrides the few planning steps where its grammar differs; everything else comes from the extension below.
public protocol IOSFamilyDialect: SwitchDialect {
    /// The command that proves the platform has the structured output the dialect reads (nil: text only).
    var probeCommand: String? { get }
    /// The name of a VLAN's routed interface: `Vlan30` (most) or `vlan30` (OS10).
    func sviName(_ id: Int) -> String
    /// How an `ip address` line writes an address given as CIDR.
    func addressText(_ cidr: String) -> String
    /// The lines (inside `interface X`) that make a trunk's untagged VLAN and allowed list those of `desired`.
    func trunkCommands(from current: SwitchInterface, to desired: SwitchInterface) -> [String]
    /// Lines entered before the first SVI with addresses (features a platform must enable).
    func sviPrerequisites(for addresses: [String]) -> [String]
}

extension IOSFamilyDialect {
    public var runningConfigurationCommand: String { "show running-config" }

    public func sviName(_ id: Int) -> String { "Vlan\(id)" }
    public func addressText(_ cidr: String) -> String { cidr }
    public func sviPrerequisites(for addresses: [String]) -> [String] { [] }

    /// The untagged VLAN as `switchport trunk native vlan`, the allowed list replaced as a whole (`none`, `all`).
    public func trunkCommands(from current: SwitchInterface, to desired: SwitchInterface) -> [String] {
        var lines: [String] = []
        let native = desired.nativeVlan ?? 1
        if native != (current.mode == .trunk ? current.nativeVlan ?? 1 : 1) {
            lines.append(native == 1 ? "no switchport trunk native vlan" : "switchport trunk native vlan \(native)")
        }
        let currentAllowed = current.mode == .trunk ? current.trunkVlans : nil
        if desired.trunkVlans != currentAllowed {
            if let vlans = desired.trunkVlans {
                lines.append("switchport trunk allowed vlan \(vlans.isEmpty ? "none" : VLANList.format(vlans))")
            } else {
                lines.append("switchport trunk allowed vlan all")
            }
        }
        return lines
    }

    public func interfaceCommands(from current: SwitchInterface, to desired: SwitchInterface) -> [String] {
        var body: [String] = []
        if desired.description != current.description {
            body.append(desired.description.isEmpty ? "no description" : "description \(desired.description)")
        }
        switch desired.mode {
        case .access:
            if current.mode != .access { body.append("switchport mode access") }
            if desired.accessVlan != current.accessVlan || current.mode != .access {
                let vlan = desired.accessVlan ?? 1
                body.append(vlan == 1 ? "no switchport access vlan" : "switchport access vlan \(vlan)")
            }
        case .trunk:
            if current.mode != .trunk { body.append("switchport mode trunk") }
            body += trunkCommands(from: current, to: desired)
        case .routed:
            break
        }
        if desired.enabled != current.enabled { body.append(desired.enabled ? "no shutdown" : "shutdown") }
        return body.isEmpty ? [] : ["interface \(desired.name)"] + body + ["exit"]
    }

    /// A VLAN is created and named with `vlan N` / `name X`; its addresses live on its SVI.
    public func vlanCommands(from current: SwitchVLAN?, to desired: SwitchVLAN) -> [String] {
        var commands: [String] = []
        if current == nil || current?.name != desired.name {
            commands += ["vlan \(desired.id)", "name \(desired.name)", "exit"]
        }
        let before = current?.l3Ips ?? []
        let sviLines = desired.l3Ips != before ? addressCommands(from: before, to: desired.l3Ips) : []
        if !sviLines.isEmpty {
            commands += sviPrerequisites(for: desired.l3Ips)
            commands += sviBlock(desired.id, sviLines, bringUp: current == nil || before.isEmpty)
        }
        return commands
    }

    /// `interface VlanN`, the lines, `no shutdown` for an SVI that had no address yet, `exit`.
    func sviBlock(_ id: Int, _ lines: [String], bringUp: Bool) -> [String] {
        ["interface \(sviName(id))"] + lines + (bringUp ? ["no shutdown"] : []) + ["exit"]
    }

    /// Keeps the primary when it stays; otherwise removes everything and adds the new list, primary first.
    func addressCommands(from before: [String], to after: [String]) -> [String] {
        func line(_ address: String, secondary: Bool) -> String {
            "ip address \(addressText(address))" + (secondary ? " secondary" : "")
        }
        var commands: [String] = []
        if let primary = before.first, primary == after.first {
            for address in before.dropFirst() where !after.dropFirst().contains(address) { commands.append("no " + line(address, secondary: true)) }
            for address in after.dropFirst() where !before.dropFirst().contains(address) { commands.append(line(address, secondary: true)) }
            return commands
        }
        for address in before.dropFirst() { commands.append("no " + line(address, secondary: true)) }
        if let primary = before.first { commands.append("no " + line(primary, secondary: false)) }
        if let primary = after.first { commands.append(line(primary, secondary: false)) }
        for address in after.dropFirst() { commands.append(line(address, secondary: true)) }
        return commands
    }

    public func applyScript(_ lines: [String], job: String) -> [String] { ["configure terminal"] + lines + ["end"] }
    public var confirmScript: [String] { ["write memory"] }
    public var abortScript: [String] { ["end"] }
    public var rollbackScript: [String]? { nil }

    /// Checks once per session that the platform has the structured output the dialect reads.
    func probe(_ cli: any CLICommandRunner) async throws {
        guard let probeCommand, !cli.knows(probeCommand) else { return }
        do {
            _ = try await cli.run(probeCommand)
            cli.learn(probeCommand)
        } catch SwitchError.commandRejected {
            throw SwitchError.structuredOutputUnavailable(device: vendor, dialect: vendor, command: probeCommand)
        }
    }

    /// Reads an interface after the probe; a command the device refuses names an interface it does not have.
    func readingInterface(_ name: String, using cli: any CLICommandRunner, _ read: () async throws -> SwitchInterface) async throws -> SwitchInterface {
        try await probe(cli)
        do {
            return try await read()
        } catch SwitchError.commandRejected(_, _, let message) {
            throw SwitchError.notFound(device: vendor, what: "interface \(name) (\(message))")
        }
    }
}

/// What the family's dialects share outside the protocol: prompt and syslog grammar, the readers of JSON fields
/// and of SVI blocks.
package enum IOSFamily {
    static let promptPattern = #"^[A-Za-z0-9][A-Za-z0-9._\-]*(\([A-Za-z0-9._\-/: ]+\))?[>#] ?$"#
    /// `%LINK-3-UPDOWN: ...` with or without a timestamp and host in front.
    static let syslogPattern = #"^(\*?[A-Z][a-z]{2}\s+\d+\s+(\d{4}\s+)?[\d:.]+\S*:?\s+)?(\S+\s+)?%[A-Z][A-Za-z0-9_]*-\d-[A-Z0-9_]+:"#

    /// The family's conventions: its prompt, syslog lines as noise, `enable` from a `>` prompt.
    static func conventions(errorPatterns: [String], extraNoise: [String] = [], setupCommands: [String]) -> CLIConventions {
        CLIConventions(promptPattern: promptPattern, errorPatterns: errorPatterns, noisePatterns: [syslogPattern] + extraNoise,
                       setupCommands: setupCommands, enableCommand: "enable")
    }

    static func validate(_ name: String, field: String, pattern: String, vendor: String) throws {
        guard SwitchDialects.matches(name, pattern) else {
            throw AgentError.invalidField(field, "\(name) is not an interface name on \(vendor)")
        }
    }

    /// The entry for `name` in a dictionary keyed by interface name: `Et1` asks, `Ethernet1` answers. Only an entry
    /// that names the same interface counts; a document about another interface is never read as this one.
    static func entry(_ object: JSONValue?, named name: String) -> JSONValue? {
        guard case .object(let members)? = object else { return nil }
        if let exact = members[name] { return exact }
        let wanted = InterfaceName.canonical(name)
        return members.first { InterfaceName.canonical($0.key) == wanted }?.value
    }

    /// A field the platform always prints; missing means the output is not what the dialect reads.
    static func required(_ value: JSONValue?, _ field: String, device: String, command: String) throws -> String {
        guard let text = value?.text else {
            throw SwitchError.unexpectedOutput(device: device, command: command, detail: "no \(field)")
        }
        return text
    }

    static func vlanNumber(_ value: JSONValue?, _ field: String, device: String, command: String) throws -> Int {
        let text = try required(value, field, device: device, command: command)
        guard let number = Int(text), (1...4094).contains(number) else {
            throw SwitchError.unexpectedOutput(device: device, command: command, detail: "\(field) is \(text), not a VLAN id")
        }
        return number
    }

    /// The lines of a configuration block, trimmed.
    static func lines(_ configuration: String) -> [String] {
        configuration.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The first `prefix N` line's number.
    static func number(after prefix: String, in lines: [String]) -> Int? {
        lines.compactMap { $0.hasPrefix(prefix) ? Int($0.dropFirst(prefix.count)) : nil }.first
    }

    /// A port with `no switchport`: routed, without VLANs.
    static func routed(_ interface: SwitchInterface) -> SwitchInterface {
        var result = interface
        result.mode = .routed
        result.accessVlan = nil
        result.nativeVlan = nil
        return result
    }

    /// `interface Vlan30` blocks: their `ip address` lines (CIDR or address + mask, `secondary` after the primary).
    package static func parseSVIs(_ text: String) -> [Int: [String]] {
        var result: [Int: [String]] = [:]
        var current: Int?
        var primary: [Int: String] = [:]
        var secondaries: [Int: [String]] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.lowercased().hasPrefix("interface vlan") {
                current = Int(line.dropFirst("interface vlan".count).trimmingCharacters(in: .whitespaces))
                if let current, result[current] == nil { result[current] = [] }
                continue
            }
            guard let vlan = current, line.hasPrefix("ip address ") else { continue }
            let words = line.dropFirst("ip address ".count).split(separator: " ").map(String.init)
            guard let first = words.first else { continue }
            var address = first
            if !first.contains("/"), words.count >= 2, case .v4(let mask)? = IPAddress(words[1]) {
                address = "\(first)/\(mask.nonzeroBitCount)"
            }
            if words.last == "secondary" { secondaries[vlan, default: []].append(address) } else { primary[vlan] = address }
        }
        for vlan in result.keys { result[vlan] = (primary[vlan].map { [$0] } ?? []) + (secondaries[vlan] ?? []) }
        return result
    }
}
