import AgentCore
import Foundation

/// Junos (EX / QFX with ELS): configuration read as `| display json` (14.2 and later) or `| display xml`
/// (10 and later), changed in a private candidate with `set` / `delete`, committed with `commit confirmed` and
/// confirmed only after the change was read back; a failed check rolls back.
public struct JunosDialect: SwitchDialect {
    public init() {}

    public var vendor: String { "juniperSsh" }

    public var conventions: CLIConventions {
        CLIConventions(
            promptPattern: #"^[A-Za-z0-9._\-]+@[A-Za-z0-9._\-]+[>#] ?$"#,
            errorPatterns: [#"^\s*error:"#, #"^\s*syntax error"#, #"^\s*unknown command"#, #"^\s*missing argument"#, #"^\s*invalid (value|interface|command)"#],
            noisePatterns: [#"^\[edit.*\]$"#, #"^\{(master|backup|linecard|primary|secondary)(:\d+)?\}(\[edit.*\])?$"#, #"^Message from syslogd"#,
                            #"^\s*\^$"#, #"^warning: "#],
            pagerPattern: #"---\(more( \d+%)?\)---\s*$"#,
            setupCommands: ["set cli screen-length 0", "set cli screen-width 1024"])
    }

    public var runningConfigurationCommand: String { "show configuration | display set" }

    /// Learned once per session: the release has `| display xml` but not `| display json`.
    static let xmlOnly = "junos:display-xml-only"

    public func validateInterfaceName(_ name: String, field: String) throws {
        guard SwitchDialects.matches(name, #"^(ge|xe|et|mge|fe)-\d{1,2}/\d{1,2}/\d{1,3}(:\d)?$|^ae\d{1,3}$"#) else {
            throw AgentError.invalidField(field, "\(name) is not a Junos interface name (ge-0/0/1, xe-0/0/1, et-0/0/1, ae0)")
        }
    }

    /// Configuration in JSON, or (platforms before 14.2) in XML converted to the same shape.
    func configuration(_ path: String, using cli: any CLICommandRunner) async throws -> JSONValue {
        let command = "show configuration \(path) | display json"
        do {
            if cli.knows(Self.xmlOnly) { throw SwitchError.commandRejected(device: vendor, command: command, message: "no JSON on this release") }
            return try SwitchDialects.json(try await cli.run(command), device: vendor, command: command)
        } catch SwitchError.commandRejected {
            cli.learn(Self.xmlOnly)
            let xmlCommand = "show configuration \(path) | display xml"
            do {
                let output = try await cli.run(xmlCommand)
                if output.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return ["configuration": [:]] }
                return try Self.xmlConfiguration(output, command: xmlCommand)
            } catch SwitchError.commandRejected {
                throw SwitchError.structuredOutputUnavailable(device: vendor, dialect: vendor, command: xmlCommand)
            }
        } catch SwitchError.unexpectedOutput {
            // An empty configuration prints nothing at all.
            return ["configuration": [:]]
        }
    }

    /// `<rpc-reply><configuration>...` as JSON: repeated elements become arrays, empty elements `[null]` (presence
    /// flags like `<disable/>`), text elements strings.
    public static func xmlConfiguration(_ output: String, command: String) throws -> JSONValue {
        guard let start = output.range(of: "<rpc-reply") ?? output.range(of: "<configuration"),
            let end = output.range(of: "</rpc-reply>", options: .backwards) ?? output.range(of: "</configuration>", options: .backwards),
            // A closing tag before the opening one (a cut or garbled answer) is not a document; slicing it would trap.
            start.lowerBound < end.upperBound,
            let document = XMLTree.parse(String(output[start.lowerBound..<end.upperBound]))
        else {
            throw SwitchError.unexpectedOutput(device: "juniperSsh", command: command, detail: "not XML")
        }
        func convert(_ element: XMLTree) -> JSONValue {
            let children = element.children
            if children.isEmpty {
                let text = element.text.trimmingCharacters(in: .whitespacesAndNewlines)
                return text.isEmpty ? [nil] : .string(text)
            }
            var members: [String: JSONValue] = [:]
            for child in children {
                let name = child.name
                let value = convert(child)
                if let existing = members[name] {
                    if case .array(var items) = existing, existing != [nil] {
                        items.append(value)
                        members[name] = .array(items)
                    } else {
                        members[name] = .array([existing, value])
                    }
                } else {
                    members[name] = value
                }
            }
            return .object(members)
        }
        return ["configuration": document.first(named: "configuration").map(convert) ?? [:]]
    }

    public func readInterface(_ name: String, using cli: any CLICommandRunner) async throws -> SwitchInterface {
        do {
            _ = try await cli.run("show interfaces \(name) terse")
        } catch SwitchError.commandRejected(_, _, let message) {
            throw SwitchError.notFound(device: vendor, what: "interface \(name) (\(message))")
        }
        let vlans = try await readVLANs(using: cli)
        return try Self.parseInterface(name: name, configuration: try await configuration("interfaces \(name)", using: cli), vlans: vlans)
    }

    public func readVLANs(using cli: any CLICommandRunner) async throws -> [SwitchVLAN] {
        Self.parseVLANs(try await configuration("vlans", using: cli), irb: try await configuration("interfaces irb", using: cli))
    }

    /// Junos prints only what is configured: an interface without configuration reads as the defaults. A VLAN
    /// member that names no known VLAN is an error, never left out.
    public static func parseInterface(name: String, configuration: JSONValue, vlans: [SwitchVLAN]) throws -> SwitchInterface {
        let interface = configuration["configuration"]?["interfaces"]?["interface"]?.rows.first { $0["name"]?.text == name }
        var result = SwitchInterface(name: name)
        guard let interface else { return result }
        result.description = interface["description"]?.text ?? ""
        result.enabled = interface["disable"] == nil
        let unit = interface["unit"]?.rows.first { $0["name"]?.text == "0" }
        if unit?["family"]?["inet"] != nil || unit?["family"]?["inet6"] != nil {
            result.mode = .routed
            result.accessVlan = nil
            result.nativeVlan = nil
            return result
        }
        let switching = unit?["family"]?["ethernet-switching"]
        let mode = switching?["interface-mode"]?.text ?? switching?["port-mode"]?.text ?? "access"
        let members = switching?["vlan"]?["members"]?.rows.compactMap(\.text) ?? []
        /// A member is a VLAN id, a range of ids (`100-200`), `default` or a VLAN name.
        func ids(_ member: String) throws -> [Int] {
            if let number = Int(member) { return [number] }
            if member == "default" { return [1] }
            if let vlan = vlans.first(where: { $0.name == member }) { return [vlan.id] }
            let bounds = member.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
            if bounds.count == 2, let low = bounds[0], let high = bounds[1], (1...4094).contains(low), (low...4094).contains(high) {
                return Array(low...high)
            }
            throw SwitchError.unexpectedOutput(
                device: "juniperSsh", command: "show configuration interfaces \(name)",
                detail: "VLAN member \(member) is neither a VLAN id, a range of ids nor the name of a configured VLAN")
        }
        result.nativeVlan = interface["native-vlan-id"]?.text.flatMap { Int($0) } ?? 1
        if mode == "trunk" {
            result.mode = .trunk
            let trunk = members.contains("all") ? nil : Array(Set(try members.flatMap(ids))).sorted()
            result.trunkVlans = trunk.map { $0.count >= 4094 ? nil : $0 } ?? nil
        } else {
            result.mode = .access
            let access = try members.first.map(ids) ?? [1]
            guard access.count == 1 else {
                throw SwitchError.unexpectedOutput(
                    device: "juniperSsh", command: "show configuration interfaces \(name)", detail: "an access port with VLAN members \(members)")
            }
            result.accessVlan = access[0]
        }
        return result
    }

    package static func parseVLANs(_ configuration: JSONValue, irb: JSONValue) -> [SwitchVLAN] {
        let units = irb["configuration"]?["interfaces"]?["interface"]?.rows.first { $0["name"]?.text == "irb" }?["unit"]?.rows ?? []
        return (configuration["configuration"]?["vlans"]?["vlan"]?.rows ?? []).compactMap { vlan in
            guard let name = vlan["name"]?.text, let id = vlan["vlan-id"]?.text.flatMap({ Int($0) }) else { return nil }
            var addresses: [String] = []
            if let l3 = vlan["l3-interface"]?.text, l3.hasPrefix("irb."), let unit = units.first(where: { $0["name"]?.text == String(l3.dropFirst(4)) }) {
                addresses = unit["family"]?["inet"]?["address"]?.rows.compactMap { $0["name"]?.text } ?? []
            }
            return SwitchVLAN(id: id, name: name, l3Ips: addresses)
        }.sorted { $0.id < $1.id }
    }

    public func interfaceCommands(from current: SwitchInterface, to desired: SwitchInterface) -> [String] {
        let name = desired.name
        let switching = "interfaces \(name) unit 0 family ethernet-switching"
        var commands: [String] = []
        if desired.description != current.description {
            commands.append(desired.description.isEmpty ? "delete interfaces \(name) description" : "set interfaces \(name) description \"\(desired.description)\"")
        }
        if desired.mode != current.mode, desired.mode != .routed {
            commands.append("set \(switching) interface-mode \(desired.mode.rawValue)")
        }
        switch desired.mode {
        case .access:
            if desired.accessVlan != current.accessVlan || current.mode != .access {
                commands.append("delete \(switching) vlan members")
                commands.append("set \(switching) vlan members \(desired.accessVlan ?? 1)")
            }
        case .trunk:
            if desired.trunkVlans != current.trunkVlans || current.mode != .trunk {
                commands.append("delete \(switching) vlan members")
                if let vlans = desired.trunkVlans {
                    if !vlans.isEmpty { commands.append("set \(switching) vlan members [ \(vlans.map(String.init).joined(separator: " ")) ]") }
                } else {
                    commands.append("set \(switching) vlan members all")
                }
            }
            if desired.nativeVlan != current.nativeVlan {
                commands.append("set interfaces \(name) native-vlan-id \(desired.nativeVlan ?? 1)")
            }
        case .routed:
            break
        }
        if desired.enabled != current.enabled {
            commands.append(desired.enabled ? "delete interfaces \(name) disable" : "set interfaces \(name) disable")
        }
        return commands
    }

    public func vlanCommands(from current: SwitchVLAN?, to desired: SwitchVLAN) -> [String] {
        var commands: [String] = []
        if let current, current.name != desired.name {
            commands.append("rename vlans \(current.name) to \(desired.name)")
        }
        if current == nil { commands.append("set vlans \(desired.name) vlan-id \(desired.id)") }
        let before = current?.l3Ips ?? []
        if desired.l3Ips != before {
            let unit = "interfaces irb unit \(desired.id) family inet"
            for address in before where !desired.l3Ips.contains(address) { commands.append("delete \(unit) address \(address)") }
            for address in desired.l3Ips where !before.contains(address) { commands.append("set \(unit) address \(address)") }
            if before.isEmpty { commands.append("set vlans \(desired.name) l3-interface irb.\(desired.id)") }
            if desired.l3Ips.isEmpty { commands.append("delete vlans \(desired.name) l3-interface") }
        }
        return commands
    }

    public func applyScript(_ lines: [String], job: String) -> [String] {
        ["configure private"] + lines + ["commit confirmed 5 comment \"rackagent \(job)\"", "exit configuration-mode"]
    }

    public var confirmScript: [String] { ["configure private", "commit comment \"rackagent confirmed\"", "exit configuration-mode"] }
    public var abortScript: [String] { ["rollback 0", "exit configuration-mode"] }
    public var rollbackScript: [String]? { ["configure private", "rollback 1", "commit comment \"rackagent rollback\"", "exit configuration-mode"] }
}
