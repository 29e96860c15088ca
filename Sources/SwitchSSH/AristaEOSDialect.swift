import AgentCore
import Foundation

/// Arista EOS: state read as `| json`, the family's configuration grammar unchanged.
public struct AristaEOSDialect: IOSFamilyDialect {
    public init() {}

    public var vendor: String { "aristaSsh" }

    public var conventions: CLIConventions {
        IOSFamily.conventions(errorPatterns: [#"^% "#, #"^Unknown command"#], setupCommands: ["terminal length 0", "terminal width 511"])
    }

    public var probeCommand: String? { "show version | json" }

    public func validateInterfaceName(_ name: String, field: String) throws {
        try IOSFamily.validate(name, field: field, pattern: #"^(Ethernet|Et|ethernet)\d{1,3}(/\d{1,3}){0,2}$|^(Port-Channel|Po|port-channel)\d{1,4}$"#, vendor: vendor)
    }

    public func readInterface(_ name: String, using cli: any CLICommandRunner) async throws -> SwitchInterface {
        try await readingInterface(name, using: cli) {
            try Self.parseInterface(name: name, status: try await cli.run("show interfaces \(name) | json"),
                                    switchport: try await cli.run("show interfaces \(name) switchport | json"))
        }
    }

    public func readVLANs(using cli: any CLICommandRunner) async throws -> [SwitchVLAN] {
        try await probe(cli)
        return try Self.parseVLANs(try await cli.run("show vlan | json"), svis: try await cli.run("show running-config | section interface Vlan"))
    }

    /// An interface from `show interfaces X | json` and `show interfaces X switchport | json`; refuses a document
    /// about another interface or without the fields EOS always prints.
    public static func parseInterface(name: String, status: String, switchport: String) throws -> SwitchInterface {
        let device = "aristaSsh"
        let statusCommand = "show interfaces \(name) | json"
        let switchportCommand = "show interfaces \(name) switchport | json"
        let statusJSON = try SwitchDialects.json(status, device: device, command: statusCommand)
        let switchportJSON = try SwitchDialects.json(switchport, device: device, command: switchportCommand)
        guard let interface = IOSFamily.entry(statusJSON["interfaces"], named: name) else {
            throw SwitchError.unexpectedOutput(device: device, command: statusCommand, detail: "no interfaces.\(name)")
        }
        var result = SwitchInterface(name: interface["name"]?.text ?? name)
        result.description = interface["description"]?.text ?? ""
        result.enabled = try IOSFamily.required(interface["interfaceStatus"], "interfaceStatus", device: device, command: statusCommand) != "disabled"
        guard let port = IOSFamily.entry(switchportJSON["switchports"], named: name) else {
            // EOS lists routed ports too (enabled false); an interface missing from the list is not ours to guess.
            throw SwitchError.unexpectedOutput(device: device, command: switchportCommand, detail: "no switchports.\(name)")
        }
        guard port["enabled"] != .bool(false) else { return IOSFamily.routed(result) }
        guard let info = port["switchportInfo"] else {
            throw SwitchError.unexpectedOutput(device: device, command: switchportCommand, detail: "no switchports.\(name).switchportInfo")
        }
        let mode = try IOSFamily.required(info["mode"], "switchportInfo.mode", device: device, command: switchportCommand)
        result.mode = mode == "trunk" ? .trunk : .access
        result.accessVlan = try IOSFamily.vlanNumber(info["accessVlanId"], "switchportInfo.accessVlanId", device: device, command: switchportCommand)
        result.nativeVlan = try IOSFamily.vlanNumber(
            info["trunkingNativeVlanId"], "switchportInfo.trunkingNativeVlanId", device: device, command: switchportCommand)
        let allowed = try IOSFamily.required(info["trunkAllowedVlans"], "switchportInfo.trunkAllowedVlans", device: device, command: switchportCommand)
        result.trunkVlans = VLANList.parse(allowed)
        return result
    }

    package static func parseVLANs(_ output: String, svis: String) throws -> [SwitchVLAN] {
        let document = try SwitchDialects.json(output, device: "aristaSsh", command: "show vlan | json")
        guard case .object(let vlans)? = document["vlans"] else { return [] }
        let addresses = IOSFamily.parseSVIs(svis)
        return vlans.compactMap { key, value in
            Int(key).map { SwitchVLAN(id: $0, name: value["name"]?.text ?? "", l3Ips: addresses[$0] ?? []) }
        }.sorted { $0.id < $1.id }
    }
}
