import AgentCore
import Foundation

/// Cisco NX-OS: state read as `| json` (`TABLE_*` / `ROW_*`), SVIs only after `feature interface-vlan`, the
/// configuration saved with `copy running-config startup-config`.
public struct CiscoNXOSDialect: IOSFamilyDialect {
    public init() {}

    public var vendor: String { "ciscoNxosSsh" }

    public var conventions: CLIConventions {
        IOSFamily.conventions(errorPatterns: [#"^% "#, #"^ERROR:"#, #"^Syntax error"#, #"^Unknown command"#],
                              setupCommands: ["terminal length 0", "terminal width 511"])
    }

    public var probeCommand: String? { "show version | json" }

    public func validateInterfaceName(_ name: String, field: String) throws {
        try IOSFamily.validate(name, field: field, pattern: #"^(Ethernet|Eth|ethernet)\d{1,3}/\d{1,3}(/\d{1,3})?$|^(port-channel|Po)\d{1,4}$"#, vendor: vendor)
    }

    public func sviPrerequisites(for addresses: [String]) -> [String] { addresses.isEmpty ? [] : ["feature interface-vlan"] }

    public var confirmScript: [String] { ["copy running-config startup-config"] }

    public func readInterface(_ name: String, using cli: any CLICommandRunner) async throws -> SwitchInterface {
        try await readingInterface(name, using: cli) {
            try Self.parseInterface(name: name, status: try await cli.run("show interface \(name) | json"),
                                    switchport: try await cli.run("show interface \(name) switchport | json"))
        }
    }

    public func readVLANs(using cli: any CLICommandRunner) async throws -> [SwitchVLAN] {
        try await probe(cli)
        return try Self.parseVLANs(try await cli.run("show vlan brief | json"), svis: try await cli.run("show running-config | section interface Vlan"))
    }

    /// An interface from the `ROW_interface` rows of `show interface X | json` and `show interface X switchport |
    /// json`; refuses a row about another interface or without the fields NX-OS always prints.
    public static func parseInterface(name: String, status: String, switchport: String) throws -> SwitchInterface {
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
        result.enabled = try IOSFamily.required(interface["admin_state"], "admin_state", device: device, command: statusCommand) != "down"
        guard let port = row(switchportJSON) else {
            throw SwitchError.unexpectedOutput(device: device, command: switchportCommand, detail: "no ROW_interface for \(name)")
        }
        guard try IOSFamily.required(port["switchport"], "switchport", device: device, command: switchportCommand).lowercased() == "enabled" else {
            return IOSFamily.routed(result)
        }
        guard let mode = port["oper_mode"]?.text ?? port["admin_mode"]?.text ?? port["mode"]?.text else {
            throw SwitchError.unexpectedOutput(device: device, command: switchportCommand, detail: "no oper_mode, admin_mode or mode")
        }
        result.mode = mode.contains("trunk") ? .trunk : .access
        result.accessVlan = try IOSFamily.vlanNumber(port["access_vlan"], "access_vlan", device: device, command: switchportCommand)
        result.nativeVlan = try IOSFamily.vlanNumber(port["native_vlan"], "native_vlan", device: device, command: switchportCommand)
        if result.mode == .trunk {
            let allowed = try IOSFamily.required(port["trunk_vlans"], "trunk_vlans", device: device, command: switchportCommand)
            result.trunkVlans = VLANList.parse(allowed)
        } else {
            result.trunkVlans = VLANList.parse(port["trunk_vlans"]?.text ?? "1-4094")
        }
        return result
    }

    package static func parseVLANs(_ output: String, svis: String) throws -> [SwitchVLAN] {
        let document = try SwitchDialects.json(output, device: "ciscoNxosSsh", command: "show vlan brief | json")
        let addresses = IOSFamily.parseSVIs(svis)
        return (document["TABLE_vlanbriefxbrief"]?["ROW_vlanbriefxbrief"]?.rows ?? []).compactMap { row in
            guard let id = row["vlanshowbr-vlanid"]?.text.flatMap({ Int($0) }) else { return nil }
            return SwitchVLAN(id: id, name: row["vlanshowbr-vlanname"]?.text ?? "", l3Ips: addresses[id] ?? [])
        }.sorted { $0.id < $1.id }
    }
}
