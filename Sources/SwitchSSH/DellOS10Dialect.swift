import AgentCore
import Foundation

/// Dell OS10: state read as `| display-xml` and from the running configuration. Every VLAN is an
/// `interface vlanN` named by its description; a trunk's untagged VLAN is its access VLAN and its allowed list is
/// changed by adding and removing VLANs.
public struct DellOS10Dialect: IOSFamilyDialect {
    public init() {}

    public var vendor: String { "dellOs10Ssh" }

    public var conventions: CLIConventions {
        IOSFamily.conventions(errorPatterns: [#"^% Error"#, #"^% "#, #"^Unknown command"#], extraNoise: [#"^<\d+>\d"#], setupCommands: ["terminal length 0"])
    }

    public var runningConfigurationCommand: String { "show running-configuration" }
    public var probeCommand: String? { "show version | display-xml" }

    public func validateInterfaceName(_ name: String, field: String) throws {
        try IOSFamily.validate(name, field: field, pattern: #"^ethernet\d{1,2}/\d{1,2}/\d{1,3}(:\d)?$|^port-channel\d{1,4}$"#, vendor: vendor)
    }

    public func sviName(_ id: Int) -> String { "vlan\(id)" }

    public func readInterface(_ name: String, using cli: any CLICommandRunner) async throws -> SwitchInterface {
        try await readingInterface(name, using: cli) {
            try Self.parseInterface(name: name, xml: try await cli.run("show interface \(name) | display-xml"),
                                    configuration: try await cli.run("show running-configuration interface \(name)"))
        }
    }

    public func readVLANs(using cli: any CLICommandRunner) async throws -> [SwitchVLAN] {
        try await probe(cli)
        return Self.parseVLANs(try await cli.run("show running-configuration interface vlan"))
    }

    /// The untagged VLAN is the access VLAN (also on a trunk); the allowed list changes by difference.
    public func trunkCommands(from current: SwitchInterface, to desired: SwitchInterface) -> [String] {
        var lines: [String] = []
        let native = desired.nativeVlan ?? 1
        if native != (current.mode == .trunk ? current.nativeVlan ?? 1 : current.accessVlan ?? 1) {
            lines.append(native == 1 ? "no switchport access vlan" : "switchport access vlan \(native)")
        }
        let currentAllowed = current.mode == .trunk ? current.trunkVlans : []
        if desired.trunkVlans != currentAllowed {
            let wanted = Set(desired.trunkVlans ?? Array(1...4094))
            let present = Set(currentAllowed ?? [])
            let added = wanted.subtracting(present)
            let removed = present.subtracting(wanted)
            if !removed.isEmpty { lines.append("no switchport trunk allowed vlan \(VLANList.format(Array(removed)))") }
            if !added.isEmpty { lines.append("switchport trunk allowed vlan \(VLANList.format(Array(added)))") }
        }
        return lines
    }

    /// A VLAN is its SVI: created by entering `interface vlanN`, named by its description.
    public func vlanCommands(from current: SwitchVLAN?, to desired: SwitchVLAN) -> [String] {
        var sviLines: [String] = []
        if current == nil || current?.name != desired.name { sviLines.append("description \(desired.name)") }
        let before = current?.l3Ips ?? []
        if desired.l3Ips != before { sviLines += addressCommands(from: before, to: desired.l3Ips) }
        guard !sviLines.isEmpty || current == nil else { return [] }
        return sviBlock(desired.id, sviLines, bringUp: current == nil || before.isEmpty)
    }

    /// An interface from `show interface X | display-xml` (name, description, enabled) and its running configuration (mode and VLANs).
    public static func parseInterface(name: String, xml: String, configuration: String) throws -> SwitchInterface {
        let command = "show interface \(name) | display-xml"
        // From the declaration to the end of the reply: a prompt or a warning printed after it is not XML.
        guard let start = xml.range(of: "<?xml") ?? xml.range(of: "<rpc-reply"),
            let end = xml.range(of: "</rpc-reply>", options: .backwards), start.lowerBound < end.upperBound,
            let document = XMLTree.parse(String(xml[start.lowerBound..<end.upperBound]))
        else {
            throw SwitchError.unexpectedOutput(device: "dellOs10Ssh", command: command, detail: "not XML")
        }
        let element = document.elements(named: "interface", under: "interfaces").first { node in
            node.value("name").map(InterfaceName.canonical) == InterfaceName.canonical(name)
        }
        guard let element else {
            throw SwitchError.unexpectedOutput(device: "dellOs10Ssh", command: command, detail: "no interface element named \(name)")
        }
        var result = SwitchInterface(name: element.value("name") ?? name)
        result.description = element.value("description") ?? ""
        guard let enabled = element.value("enabled") else {
            throw SwitchError.unexpectedOutput(device: "dellOs10Ssh", command: command, detail: "no enabled element for \(name)")
        }
        result.enabled = enabled != "false"
        let lines = IOSFamily.lines(configuration)
        if lines.contains("no switchport") { return IOSFamily.routed(result) }
        result.mode = lines.contains("switchport mode trunk") ? .trunk : .access
        let untagged = IOSFamily.number(after: "switchport access vlan ", in: lines) ?? 1
        result.accessVlan = untagged
        // OS10's untagged VLAN on a trunk is its access VLAN; a trunk allows only the VLANs listed.
        result.nativeVlan = untagged
        let allowed = lines.filter { $0.hasPrefix("switchport trunk allowed vlan ") }.flatMap { VLANList.parse(String($0.dropFirst("switchport trunk allowed vlan ".count))) ?? [] }
        result.trunkVlans = Array(Set(allowed)).sorted()
        return result
    }

    /// Every VLAN is an `interface vlanN`; its name is the description.
    package static func parseVLANs(_ output: String) -> [SwitchVLAN] {
        let addresses = IOSFamily.parseSVIs(output)
        var names: [Int: String] = [:]
        var current: Int?
        for line in IOSFamily.lines(output) {
            if line.lowercased().hasPrefix("interface vlan") {
                current = Int(line.dropFirst("interface vlan".count))
            } else if let vlan = current, line.hasPrefix("description ") {
                names[vlan] = String(line.dropFirst("description ".count))
            }
        }
        return addresses.keys.sorted().map { SwitchVLAN(id: $0, name: names[$0] ?? ($0 == 1 ? "default" : "VLAN\(String(format: "%04d", $0))"), l3Ips: addresses[$0] ?? []) }
    }
}
