import AgentCore
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// Arista EOS (`| json`), Cisco NX-OS (`| json`), Dell OS10 (`| display-xml`) and Cisco IOS / IOS-XE (text): the
/// industry-standard CLI family. They share the configuration grammar (`interface X`, `switchport ...`,
/// `configure terminal` ... `end`) and differ in how state is read back and in a few commands.
public struct IOSStyleDialect: SwitchDialect {
    public enum Variant: String, Sendable {
        case arista, nxos, os10, ios
    }

    public let variant: Variant

    public init(variant: Variant) {
        self.variant = variant
    }

    public var vendor: String {
        switch variant {
        case .arista: return "aristaSsh"
        case .nxos: return "ciscoNxosSsh"
        case .os10: return "dellOs10Ssh"
        case .ios: return "ciscoIosSsh"
        }
    }

    static let promptPattern = #"^[A-Za-z0-9][A-Za-z0-9._\-]*(\([A-Za-z0-9._\-/: ]+\))?[>#] ?$"#
    /// `%LINK-3-UPDOWN: ...` with or without a timestamp and host in front.
    static let syslogPattern = #"^(\*?[A-Z][a-z]{2}\s+\d+\s+(\d{4}\s+)?[\d:.]+\S*:?\s+)?(\S+\s+)?%[A-Z][A-Za-z0-9_]*-\d-[A-Z0-9_]+:"#

    public var conventions: CLIConventions {
        switch variant {
        case .arista:
            return CLIConventions(promptPattern: Self.promptPattern, errorPatterns: [#"^% "#, #"^Unknown command"#], noisePatterns: [Self.syslogPattern],
                                  setupCommands: ["terminal length 0", "terminal width 511"], enableCommand: "enable")
        case .nxos:
            return CLIConventions(promptPattern: Self.promptPattern, errorPatterns: [#"^% "#, #"^ERROR:"#, #"^Syntax error"#, #"^Unknown command"#],
                                  noisePatterns: [Self.syslogPattern], setupCommands: ["terminal length 0", "terminal width 511"], enableCommand: "enable")
        case .os10:
            return CLIConventions(promptPattern: Self.promptPattern, errorPatterns: [#"^% Error"#, #"^% "#, #"^Unknown command"#], noisePatterns: [Self.syslogPattern, #"^<\d+>\d"#],
                                  setupCommands: ["terminal length 0"], enableCommand: "enable")
        case .ios:
            return CLIConventions(promptPattern: Self.promptPattern, errorPatterns: [#"^% (?!Warning)"#, #"^Unknown command"#], noisePatterns: [Self.syslogPattern],
                                  setupCommands: ["terminal length 0", "terminal width 511"], enableCommand: "enable")
        }
    }

    public var runningConfigurationCommand: String { variant == .os10 ? "show running-configuration" : "show running-config" }

    /// The command that proves the platform has the structured output the variant reads (nil: text only).
    var probeCommand: String? {
        switch variant {
        case .arista, .nxos: return "show version | json"
        case .os10: return "show version | display-xml"
        case .ios: return nil
        }
    }

    public func validateInterfaceName(_ name: String, field: String) throws {
        let pattern: String
        switch variant {
        case .arista: pattern = #"^(Ethernet|Et|ethernet)\d{1,3}(/\d{1,3}){0,2}$|^(Port-Channel|Po|port-channel)\d{1,4}$"#
        case .nxos: pattern = #"^(Ethernet|Eth|ethernet)\d{1,3}/\d{1,3}(/\d{1,3})?$|^(port-channel|Po)\d{1,4}$"#
        case .os10: pattern = #"^ethernet\d{1,2}/\d{1,2}/\d{1,3}(:\d)?$|^port-channel\d{1,4}$"#
        case .ios:
            pattern = #"^(GigabitEthernet|Gi|FastEthernet|Fa|TenGigabitEthernet|Te|TwentyFiveGigE|Twe|FortyGigabitEthernet|Fo|HundredGigE|Hu|Ethernet|Eth|Port-channel|Po)\d{1,3}(/\d{1,3}){0,3}$"#
        }
        guard SwitchDialects.matches(name, pattern) else {
            throw AgentError.invalidField(field, "\(name) is not an interface name on \(vendor)")
        }
    }

    func sviName(_ id: Int) -> String { variant == .os10 ? "vlan\(id)" : "Vlan\(id)" }

    // MARK: - Reading

    func probe(_ cli: any CLICommandRunner, device: String) async throws {
        guard let probeCommand, !cli.knows(probeCommand) else { return }
        do {
            _ = try await cli.run(probeCommand)
            cli.learn(probeCommand)
        } catch SwitchError.commandRejected {
            throw SwitchError.structuredOutputUnavailable(device: device, dialect: vendor, command: probeCommand)
        }
    }

    public func readInterface(_ name: String, using cli: any CLICommandRunner) async throws -> SwitchInterface {
        let device = vendor
        try await probe(cli, device: device)
        do {
            switch variant {
            case .arista:
                let statusCommand = "show interfaces \(name) | json"
                let switchportCommand = "show interfaces \(name) switchport | json"
                return try Self.parseArista(name: name, status: try await cli.run(statusCommand), switchport: try await cli.run(switchportCommand))
            case .nxos:
                return try Self.parseNXOS(name: name, status: try await cli.run("show interface \(name) | json"),
                                          switchport: try await cli.run("show interface \(name) switchport | json"))
            case .os10:
                return try Self.parseOS10(name: name, xml: try await cli.run("show interface \(name) | display-xml"),
                                          configuration: try await cli.run("show running-configuration interface \(name)"))
            case .ios:
                return try Self.parseIOS(name: name, configuration: try await cli.run("show running-config interface \(name)"))
            }
        } catch SwitchError.commandRejected(_, _, let message) {
            throw SwitchError.notFound(device: device, what: "interface \(name) (\(message))")
        }
    }

    public func readVLANs(using cli: any CLICommandRunner) async throws -> [SwitchVLAN] {
        try await probe(cli, device: vendor)
        switch variant {
        case .arista:
            return try Self.parseAristaVLANs(try await cli.run("show vlan | json"), svis: try await cli.run("show running-config | section interface Vlan"))
        case .nxos:
            return try Self.parseNXOSVLANs(try await cli.run("show vlan brief | json"), svis: try await cli.run("show running-config | section interface Vlan"))
        case .os10:
            return Self.parseOS10VLANs(try await cli.run("show running-configuration interface vlan"))
        case .ios:
            return Self.parseIOSVLANs(try await cli.run("show vlan brief"), svis: try await cli.run("show running-config | section interface Vlan"))
        }
    }

    /// The entry for `name` in a dictionary keyed by interface name (`Et1` asks, `Ethernet1` answers).
    static func entry(_ object: JSONValue?, named name: String) -> JSONValue? {
        guard case .object(let members)? = object else { return nil }
        if let exact = members[name] { return exact }
        if let folded = members.first(where: { $0.key.lowercased() == name.lowercased() }) { return folded.value }
        return members.count == 1 ? members.first?.value : nil
    }

    static func parseArista(name: String, status: String, switchport: String) throws -> SwitchInterface {
        let statusJSON = try SwitchDialects.json(status, device: "aristaSsh", command: "show interfaces \(name) | json")
        let switchportJSON = try SwitchDialects.json(switchport, device: "aristaSsh", command: "show interfaces \(name) switchport | json")
        guard let interface = entry(statusJSON["interfaces"], named: name) else {
            throw SwitchError.unexpectedOutput(device: "aristaSsh", command: "show interfaces \(name) | json", detail: "no interfaces.\(name)")
        }
        var result = SwitchInterface(name: interface["name"]?.text ?? name)
        result.description = interface["description"]?.text ?? ""
        result.enabled = interface["interfaceStatus"]?.text != "disabled"
        guard let port = entry(switchportJSON["switchports"], named: name), port["enabled"] != .bool(false), let info = port["switchportInfo"] else {
            result.mode = .routed
            result.accessVlan = nil
            result.nativeVlan = nil
            return result
        }
        result.mode = info["mode"]?.text == "trunk" ? .trunk : .access
        result.accessVlan = info["accessVlanId"]?.text.flatMap { Int($0) } ?? 1
        result.nativeVlan = info["trunkingNativeVlanId"]?.text.flatMap { Int($0) } ?? 1
        result.trunkVlans = VLANList.parse(info["trunkAllowedVlans"]?.text ?? "ALL")
        return result
    }

    static func parseNXOS(name: String, status: String, switchport: String) throws -> SwitchInterface {
        let statusJSON = try SwitchDialects.json(status, device: "ciscoNxosSsh", command: "show interface \(name) | json")
        let switchportJSON = try SwitchDialects.json(switchport, device: "ciscoNxosSsh", command: "show interface \(name) switchport | json")
        func row(_ document: JSONValue) -> JSONValue? {
            let rows = document["TABLE_interface"]?["ROW_interface"]?.rows ?? []
            return rows.first { $0["interface"]?.text?.lowercased() == name.lowercased() } ?? rows.first
        }
        guard let interface = row(statusJSON) else {
            throw SwitchError.unexpectedOutput(device: "ciscoNxosSsh", command: "show interface \(name) | json", detail: "no ROW_interface")
        }
        var result = SwitchInterface(name: interface["interface"]?.text ?? name)
        result.description = interface["desc"]?.text ?? ""
        result.enabled = (interface["admin_state"]?.text ?? "up") != "down"
        guard let port = row(switchportJSON), port["switchport"]?.text?.lowercased() == "enabled" else {
            result.mode = .routed
            result.accessVlan = nil
            result.nativeVlan = nil
            return result
        }
        let mode = port["oper_mode"]?.text ?? port["admin_mode"]?.text ?? port["mode"]?.text ?? "access"
        result.mode = mode.contains("trunk") ? .trunk : .access
        result.accessVlan = port["access_vlan"]?.text.flatMap { Int($0) } ?? 1
        result.nativeVlan = port["native_vlan"]?.text.flatMap { Int($0) } ?? 1
        result.trunkVlans = VLANList.parse(port["trunk_vlans"]?.text ?? "1-4094")
        return result
    }

    static func parseOS10(name: String, xml: String, configuration: String) throws -> SwitchInterface {
        guard let start = xml.range(of: "<?xml") ?? xml.range(of: "<rpc-reply"), let document = try? XMLDocument(xmlString: String(xml[start.lowerBound...]), options: []) else {
            throw SwitchError.unexpectedOutput(device: "dellOs10Ssh", command: "show interface \(name) | display-xml", detail: "not XML")
        }
        let interfaces = (try? document.nodes(forXPath: "//*[local-name()='interfaces']/*[local-name()='interface']")) ?? []
        let element = interfaces.first { node in
            ((try? node.nodes(forXPath: "*[local-name()='name']"))?.first?.stringValue ?? "") == name
        } ?? interfaces.first
        guard let element else {
            throw SwitchError.unexpectedOutput(device: "dellOs10Ssh", command: "show interface \(name) | display-xml", detail: "no interface element")
        }
        func value(_ tag: String) -> String? { (try? element.nodes(forXPath: "*[local-name()='\(tag)']"))?.first?.stringValue }
        var result = SwitchInterface(name: value("name") ?? name)
        result.description = value("description") ?? ""
        result.enabled = value("enabled") != "false"
        let lines = configuration.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        if lines.contains("no switchport") {
            result.mode = .routed
            result.accessVlan = nil
            result.nativeVlan = nil
            return result
        }
        let trunk = lines.contains("switchport mode trunk")
        result.mode = trunk ? .trunk : .access
        let untagged = lines.compactMap { line in line.hasPrefix("switchport access vlan ") ? Int(line.dropFirst("switchport access vlan ".count)) : nil }.first ?? 1
        result.accessVlan = untagged
        // OS10's untagged VLAN on a trunk is its access VLAN; a trunk allows only the VLANs listed.
        result.nativeVlan = untagged
        let allowed = lines.filter { $0.hasPrefix("switchport trunk allowed vlan ") }.flatMap { VLANList.parse(String($0.dropFirst("switchport trunk allowed vlan ".count))) ?? [] }
        result.trunkVlans = Array(Set(allowed)).sorted()
        return result
    }

    static func parseIOS(name: String, configuration: String) throws -> SwitchInterface {
        let lines = configuration.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        guard lines.contains(where: { $0.hasPrefix("interface ") }) else {
            throw SwitchError.notFound(device: "ciscoIosSsh", what: "interface \(name)")
        }
        var result = SwitchInterface(name: lines.first { $0.hasPrefix("interface ") }.map { String($0.dropFirst("interface ".count)) } ?? name)
        result.description = lines.first { $0.hasPrefix("description ") }.map { String($0.dropFirst("description ".count)) } ?? ""
        result.enabled = !lines.contains("shutdown")
        if lines.contains("no switchport") {
            result.mode = .routed
            result.accessVlan = nil
            result.nativeVlan = nil
            return result
        }
        result.mode = lines.contains("switchport mode trunk") ? .trunk : .access
        result.accessVlan = lines.compactMap { $0.hasPrefix("switchport access vlan ") ? Int($0.dropFirst("switchport access vlan ".count)) : nil }.first ?? 1
        result.nativeVlan = lines.compactMap { $0.hasPrefix("switchport trunk native vlan ") ? Int($0.dropFirst("switchport trunk native vlan ".count)) : nil }.first ?? 1
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

    /// `interface Vlan30` blocks: their `ip address` lines (CIDR or address + mask, `secondary` after the primary).
    static func parseSVIs(_ text: String) -> [Int: [String]] {
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

    static func parseAristaVLANs(_ output: String, svis: String) throws -> [SwitchVLAN] {
        let document = try SwitchDialects.json(output, device: "aristaSsh", command: "show vlan | json")
        guard case .object(let vlans)? = document["vlans"] else { return [] }
        let addresses = parseSVIs(svis)
        return vlans.compactMap { key, value in
            Int(key).map { SwitchVLAN(id: $0, name: value["name"]?.text ?? "", l3Ips: addresses[$0] ?? []) }
        }.sorted { $0.id < $1.id }
    }

    static func parseNXOSVLANs(_ output: String, svis: String) throws -> [SwitchVLAN] {
        let document = try SwitchDialects.json(output, device: "ciscoNxosSsh", command: "show vlan brief | json")
        let addresses = parseSVIs(svis)
        return (document["TABLE_vlanbriefxbrief"]?["ROW_vlanbriefxbrief"]?.rows ?? []).compactMap { row in
            guard let id = row["vlanshowbr-vlanid"]?.text.flatMap({ Int($0) }) else { return nil }
            return SwitchVLAN(id: id, name: row["vlanshowbr-vlanname"]?.text ?? "", l3Ips: addresses[id] ?? [])
        }.sorted { $0.id < $1.id }
    }

    /// OS10: every VLAN is an `interface vlanN`; its name is the description.
    static func parseOS10VLANs(_ output: String) -> [SwitchVLAN] {
        let addresses = parseSVIs(output)
        var names: [Int: String] = [:]
        var current: Int?
        for raw in output.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.lowercased().hasPrefix("interface vlan") {
                current = Int(line.dropFirst("interface vlan".count))
            } else if let vlan = current, line.hasPrefix("description ") {
                names[vlan] = String(line.dropFirst("description ".count))
            }
        }
        return addresses.keys.sorted().map { SwitchVLAN(id: $0, name: names[$0] ?? ($0 == 1 ? "default" : "VLAN\(String(format: "%04d", $0))"), l3Ips: addresses[$0] ?? []) }
    }

    /// `show vlan brief`: `30   vlan30   active    Gi1/0/2, Gi1/0/3` (continuation lines start with spaces).
    static func parseIOSVLANs(_ output: String, svis: String) -> [SwitchVLAN] {
        let addresses = parseSVIs(svis)
        return output.split(separator: "\n").compactMap { line -> SwitchVLAN? in
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count >= 3, let id = Int(words[0]), (1...4094).contains(id), !(1002...1005).contains(id), ["active", "act/lshut", "suspended"].contains(String(words[2])) else {
                return nil
            }
            return SwitchVLAN(id: id, name: String(words[1]), l3Ips: addresses[id] ?? [])
        }
    }

    // MARK: - Planning

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
            let native = desired.nativeVlan ?? 1
            if native != (current.mode == .trunk ? current.nativeVlan ?? 1 : (variant == .os10 ? current.accessVlan ?? 1 : 1)) {
                if variant == .os10 {
                    body.append(native == 1 ? "no switchport access vlan" : "switchport access vlan \(native)")
                } else {
                    body.append(native == 1 ? "no switchport trunk native vlan" : "switchport trunk native vlan \(native)")
                }
            }
            let currentAllowed = current.mode == .trunk ? current.trunkVlans : (variant == .os10 ? [] : nil)
            if desired.trunkVlans != currentAllowed {
                if variant == .os10 {
                    let wanted = Set(desired.trunkVlans ?? Array(1...4094))
                    let present = Set(currentAllowed ?? [])
                    let added = wanted.subtracting(present)
                    let removed = present.subtracting(wanted)
                    if !removed.isEmpty { body.append("no switchport trunk allowed vlan \(VLANList.format(Array(removed)))") }
                    if !added.isEmpty { body.append("switchport trunk allowed vlan \(VLANList.format(Array(added)))") }
                } else if let vlans = desired.trunkVlans {
                    body.append("switchport trunk allowed vlan \(vlans.isEmpty ? "none" : VLANList.format(vlans))")
                } else {
                    body.append("switchport trunk allowed vlan all")
                }
            }
        case .routed:
            break
        }
        if desired.enabled != current.enabled { body.append(desired.enabled ? "no shutdown" : "shutdown") }
        return body.isEmpty ? [] : ["interface \(desired.name)"] + body + ["exit"]
    }

    public func vlanCommands(from current: SwitchVLAN?, to desired: SwitchVLAN) -> [String] {
        var commands: [String] = []
        let svi = sviName(desired.id)
        var sviLines: [String] = []
        if variant == .os10 {
            if current == nil || current?.name != desired.name { sviLines.append("description \(desired.name)") }
        } else if current == nil || current?.name != desired.name {
            commands += ["vlan \(desired.id)", "name \(desired.name)", "exit"]
        }
        let before = current?.l3Ips ?? []
        if desired.l3Ips != before {
            sviLines += addressCommands(from: before, to: desired.l3Ips)
        }
        if !sviLines.isEmpty || (variant == .os10 && current == nil) {
            if variant == .nxos, !desired.l3Ips.isEmpty { commands.append("feature interface-vlan") }
            commands += ["interface \(svi)"] + sviLines + (current == nil || before.isEmpty ? ["no shutdown"] : []) + ["exit"]
        }
        return commands
    }

    /// Keeps the primary when it stays; otherwise removes everything and adds the new list, primary first.
    func addressCommands(from before: [String], to after: [String]) -> [String] {
        func line(_ address: String, secondary: Bool) -> String {
            var text = address
            if variant == .ios, let slash = address.firstIndex(of: "/"), let prefix = Int(address[address.index(after: slash)...]),
                let mask = IPNetwork(address: IPAddress(String(address[..<slash]))!, prefixLength: prefix).netmask
            {
                text = "\(address[..<slash]) \(mask)"
            }
            return "ip address \(text)" + (secondary ? " secondary" : "")
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

    public var confirmScript: [String] { variant == .nxos ? ["copy running-config startup-config"] : ["write memory"] }
    public var abortScript: [String] { ["end"] }
    public var rollbackScript: [String]? { nil }
}
