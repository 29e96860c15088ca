import AgentCore
import ArgumentParser
import Foundation
import PDU
import SNMP

struct PDUCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pdu",
        abstract: "List and switch PDU outlets over SNMP (every switch is read back); transfer switch and console switch status.",
        discussion: """
            Device types with outlets: \(DeviceTypeCatalogue.deviceTypes.filter(DeviceTypeCatalogue.hasOutlets).joined(separator: ", ")). \
            `rackagent pdu types` says what every other type gets. The community comes from \
            --community-file or --community-env (SET uses --write-community-... when given, else the same community).
            """,
        subcommands: [Outlets.self, Switch.self, TransferSwitch.self, ConsolePorts.self, Types.self]
    )

    struct PDUOptions: ParsableArguments {
        @Option(name: .customLong("type"), help: "PDU device type (the seed's deviceType).") var deviceType: String
        @Option(help: "PDU address, optionally :port.") var host: String
        @Option(name: [.customShort("v"), .long], help: "SNMP version: 1 or 2c.") var version = "2c"
        @Option(name: .customLong("community-file"), help: ArgumentHelp("File holding the community.", valueName: "file")) var communityFile: String?
        @Option(name: .customLong("community-env"), help: ArgumentHelp("Variable holding the community.", valueName: "name")) var communityEnvironment: String?
        @Option(name: .customLong("write-community-env"), help: ArgumentHelp("Variable holding the write community.", valueName: "name"))
        var writeCommunityEnvironment: String?
        @Option(help: "Seconds per SNMP attempt.") var timeout = 2.0
        @Option(name: .customLong("cycle-delay"), help: "Seconds a cycled outlet stays off.") var cycleDelay = 5.0
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard DeviceTypeCatalogue.support(deviceType) != nil else {
                throw ValidationError("--type must be one of \(DeviceTypeCatalogue.deviceTypes.joined(separator: ", ")) (see `rackagent pdu types`)")
            }
        }

        /// The same fields the API takes, so the CLI validates like a PUT.
        func device() throws -> NetworkDevice {
            var document: [String: JSONValue] = [
                "id": "cli", "deviceType": .string(deviceType), "name": "cli", "host": .string(host), "snmpVersion": .string(version),
                "snmpCommunity": .string(try SecretSource(file: communityFile, environment: communityEnvironment, prompt: "Community: ").read().revealed),
            ]
            if let writeCommunityEnvironment {
                document["snmpWriteCommunity"] = .string(try SecretSource(file: nil, environment: writeCommunityEnvironment, prompt: "").read().revealed)
            }
            return try JSONValue.object(document).decode(as: NetworkDevice.self, at: "")
        }

        func perform<Value>(_ body: (PDUService, NetworkDevice) async throws -> Value) async throws -> Value {
            var settings = SNMPConfiguration()
            settings.timeoutSeconds = timeout
            let client = SNMPClient(threads: 1)
            let service = PDUService(client: client, settings: settings, cycleDelay: .seconds(cycleDelay)) { id in
                throw AgentError.notFound("network device", id)
            }
            do {
                let value = try await exitingOnFailure { try await body(service, try device()) }
                await client.shutdown()
                return value
            } catch {
                await client.shutdown()
                throw error
            }
        }
    }

    struct Outlets: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every outlet with its name and state.")
        @OptionGroup var options: PDUOptions

        func run() async throws {
            let listing = try await options.perform { service, device in try await service.outlets(of: device) }
            if options.output.json { try Self.printJSON(listing) } else {
                print("# \(listing.family)")
                for outlet in listing.outlets {
                    let meters = [outlet.currentAmps.map { "\($0) A" }, outlet.powerWatts.map { "\($0) W" }, outlet.energyKWh.map { "\($0) kWh" }]
                        .compactMap { $0 }.joined(separator: " ")
                    print("\(outlet.number)\t\(outlet.state.rawValue)\t\(outlet.name)\(meters.isEmpty ? "" : "\t\(meters)")")
                }
                if let load = listing.load {
                    print("load: " + [load.currentAmps.map { "\($0) A" }, load.powerWatts.map { "\($0) W" }, load.energyKWh.map { "\($0) kWh" }]
                        .compactMap { $0 }.joined(separator: ", "))
                }
            }
        }
    }

    struct Switch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "switch", abstract: "Switch an outlet on or off, or cycle it; read back.")
        @Argument(help: "Outlet number.") var outlet: Int
        @Argument(help: "on, off or cycle.") var action: String
        @OptionGroup var options: PDUOptions

        func run() async throws {
            guard let action = OutletAction(rawValue: action) else { throw ValidationError("action must be on, off or cycle") }
            let report = try await options.perform { service, device in try await service.perform(action, device: device, outlet: outlet) }
            if options.output.json { try Self.printJSON(report) } else {
                print("outlet \(report.outlet): \(report.before.rawValue) -> \(report.state.rawValue), verified (\(report.steps.joined(separator: ", ")))")
            }
        }
    }

    struct TransferSwitch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ats", abstract: "An automatic transfer switch's sources (selected, preferred, voltages) and output (cyberpowerAts).")
        @OptionGroup var options: PDUOptions

        func run() async throws {
            let status = try await options.perform { service, device in try await service.transferSwitch(of: device) }
            if options.output.json { try Self.printJSON(status) } else {
                print("# \(status.family)")
                print("selected source: \(status.selectedSource ?? "?"), preferred: \(status.preferredSource ?? "?"), \(status.redundancy ?? "")")
                for source in status.sources {
                    print("\(source.source)\t\(source.name)\t\(source.voltage.map { "\($0) V" } ?? "-")\t\(source.voltageState ?? "")")
                }
                let output = [status.outputCurrentAmps.map { "\($0) A" }, status.outputPowerWatts.map { "\($0) W" }].compactMap { $0 }
                if !output.isEmpty { print("output: " + output.joined(separator: ", ")) }
            }
        }
    }

    struct ConsolePorts: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "console-ports", abstract: "A KVM or serial console switch's ports with the connected target and status (Raritan Dominion).")
        @OptionGroup var options: PDUOptions

        func run() async throws {
            let ports = try await options.perform { service, device in try await service.consolePorts(of: device) }
            if options.output.json { try Self.printJSON(ports) } else {
                for port in ports {
                    print("\(port.number.map(String.init) ?? "-")\t\(port.status)\t\(port.name)\(port.type.map { $0.isEmpty ? "" : "\t\($0)" } ?? "")")
                }
            }
        }
    }

    struct Types: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What the agent does with every non-switch deviceType of the seed.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            if output.json {
                try Self.printJSON(Dictionary(uniqueKeysWithValues: DeviceTypeCatalogue.deviceTypes.map { ($0, DeviceTypeCatalogue.summary($0)) }))
            } else {
                for type in DeviceTypeCatalogue.deviceTypes { print("\(type)\t\(DeviceTypeCatalogue.summary(type))") }
            }
        }
    }
}
