import AgentCore
import Foundation

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

    public static func parseArista(name: String, status: String, switchport: String) throws -> SwitchInterface {
        let device = "aristaSsh"
        let statusCommand = "show interfaces \(name) | json"
        let switchportCommand = "show interfaces \(name) switchport | json"
        let statusJSON = try SwitchDialects.json(status, device: device, command: statusCommand)
        let switchportJSON = try SwitchDialects.json(switchport, device: device, command: switchportCommand)
        guard let interface = entry(statusJSON["interfaces"], named: name) else {
            throw SwitchError.unexpectedOutput(device: device, command: statusCommand, detail: "no interfaces.\(name)")
        }
        var result = SwitchInterface(name: interface["name"]?.text ?? name)
        result.description = interface["description"]?.text ?? ""
        result.enabled = try required(interface["interfaceStatus"], "interfaceStatus", device: device, command: statusCommand) != "disabled"
        guard let port = entry(switchportJSON["switchports"], named: name) else {
            // EOS lists routed ports too (enabled false); an interface missing from the list is not ours to guess.
            throw SwitchError.unexpectedOutput(device: device, command: switchportCommand, detail: "no switchports.\(name)")
        }
        guard port["enabled"] != .bool(false) else {
            result.mode = .routed
            result.accessVlan = nil
            result.nativeVlan = nil
            return result
        }
        guard let info = port["switchportInfo"] else {
            throw SwitchError.unexpectedOutput(device: device, command: switchportCommand, detail: "no switchports.\(name).switchportInfo")
        }
        let mode = try required(info["mode"], "switchportInfo.mode", device: device, command: switchportCommand)
        result.mode = mode == "trunk" ? .trunk : .access
        result.accessVlan = try vlanNumber(info["accessVlanId"], "switchportInfo.accessVlanId", device: device, command: switchportCommand)
        result.nativeVlan = try vlanNumber(info["trunkingNativeVlanId"], "switchportInfo.trunkingNativeVlanId", device: device, command: switchportCommand)
        let allowed = try required(info["trunkAllowedVlans"], "switchportInfo.trunkAllowedVlans", device: device, command: switchportCommand)
        result.trunkVlans = VLANList.parse(allowed)
        return result
    }

    public static func parseNXOS(name: String, status: String, switchport: String) throws -> SwitchInterface {
        let device = "ciscoNxosSsh"
        let statusCommand = "show interface \(name) | json"
        let switchportCommand = "show interface \(name) switchport | json"
        let statusJSON = try SwitchDialects.json(status, device: device, command: statusCommand)
        let switchportJSON = try SwitchDialects.json(switchport, device: device, command: switchportCommand)
        let wanted = InterfaceName.canonical(name)
        func row(_ document: JSONValue) -> JSONValue? {
            (document["TABLE_interface"]?["ROW_interface"]?.rows ?? []).first { $0["interface"]?.text.map(InterfaceName.canonical) == wanted }
        }
        guard let interface = row(statusJSON) else {
            throw SwitchError.unexpectedOutput(device: device, command: statusCommand, detail: "no ROW_interface for \(name)")
        }
        var result = SwitchInterface(name: interface["interface"]?.text ?? name)
        result.description = interface["desc"]?.text ?? ""
        result.enabled = try required(interface["admin_state"], "admin_state", device: device, command: statusCommand) != "down"
        guard let port = row(switchportJSON) else {
            throw SwitchError.unexpectedOutput(device: device, command: switchportCommand, detail: "no ROW_interface for \(name)")
        }
        guard try required(port["switchport"], "switchport", device: device, command: switchportCommand).lowercased() == "enabled" else {
            result.mode = .routed
            result.accessVlan = nil
            result.nativeVlan = nil
            return result
        }
        guard let mode = port["oper_mode"]?.text ?? port["admin_mode"]?.text ?? port["mode"]?.text else {
            throw SwitchError.unexpectedOutput(device: device, command: switchportCommand, detail: "no oper_mode, admin_mode or mode")
        }
        result.mode = mode.contains("trunk") ? .trunk : .access
        result.accessVlan = try vlanNumber(port["access_vlan"], "access_vlan", device: device, command: switchportCommand)
        result.nativeVlan = try vlanNumber(port["native_vlan"], "native_vlan", device: device, command: switchportCommand)
        if result.mode == .trunk {
            let allowed = try required(port["trunk_vlans"], "trunk_vlans", device: device, command: switchportCommand)
            result.trunkVlans = VLANList.parse(allowed)
        } else {
            result.trunkVlans = VLANList.parse(port["trunk_vlans"]?.text ?? "1-4094")
        }
        return result
    }

    public static func parseOS10(name: String, xml: String, configuration: String) throws -> SwitchInterface {
        // From the declaration to the end of the reply: a prompt or a warning printed after it is not XML.
        guard let start = xml.range(of: "<?xml") ?? xml.range(of: "<rpc-reply"),
            let end = xml.range(of: "</rpc-reply>", options: .backwards), start.lowerBound < end.upperBound,
            let document = XMLTree.parse(String(xml[start.lowerBound..<end.upperBound]))
        else {
            throw SwitchError.unexpectedOutput(device: "dellOs10Ssh", command: "show interface \(name) | display-xml", detail: "not XML")
        }
        let command = "show interface \(name) | display-xml"
        let element = document.elements(named: "interface", under: "interfaces").first { node in
            node.value("name").map(InterfaceName.canonical) == InterfaceName.canonical(name)
        }
        guard let element else {
            throw SwitchError.unexpectedOutput(device: "dellOs10Ssh", command: command, detail: "no interface element named \(name)")
        }
        func value(_ tag: String) -> String? { element.value(tag) }
        var result = SwitchInterface(name: value("name") ?? name)
        result.description = value("description") ?? ""
        guard let enabled = value("enabled") else {
            throw SwitchError.unexpectedOutput(device: "dellOs10Ssh", command: command, detail: "no enabled element for \(name)")
        }
        result.enabled = enabled != "false"
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

    public static func parseIOS(name: String, configuration: String) throws -> SwitchInterface {
        let lines = configuration.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
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

    package static func parseAristaVLANs(_ output: String, svis: String) throws -> [SwitchVLAN] {
        let document = try SwitchDialects.json(output, device: "aristaSsh", command: "show vlan | json")
        guard case .object(let vlans)? = document["vlans"] else { return [] }
        let addresses = parseSVIs(svis)
        return vlans.compactMap { key, value in
            Int(key).map { SwitchVLAN(id: $0, name: value["name"]?.text ?? "", l3Ips: addresses[$0] ?? []) }
        }.sorted { $0.id < $1.id }
    }

    package static func parseNXOSVLANs(_ output: String, svis: String) throws -> [SwitchVLAN] {
        let document = try SwitchDialects.json(output, device: "ciscoNxosSsh", command: "show vlan brief | json")
        let addresses = parseSVIs(svis)
        return (document["TABLE_vlanbriefxbrief"]?["ROW_vlanbriefxbrief"]?.rows ?? []).compactMap { row in
            guard let id = row["vlanshowbr-vlanid"]?.text.flatMap({ Int($0) }) else { return nil }
            return SwitchVLAN(id: id, name: row["vlanshowbr-vlanname"]?.text ?? "", l3Ips: addresses[id] ?? [])
        }.sorted { $0.id < $1.id }
    }

    /// OS10: every VLAN is an `interface vlanN`; its name is the description.
    package static func parseOS10VLANs(_ output: String) -> [SwitchVLAN] {
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
    package static func parseIOSVLANs(_ output: String, svis: String) -> [SwitchVLAN] {
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
