import AgentCore
import ArgumentParser
import Foundation
import PDU
import SNMP

struct PDUCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pdu",
        abstract: "List and switch PDU outlets over SNMP; every switch is read back.",
        discussion: """
            Device types: \(OutletDialect.byDeviceType.keys.sorted().joined(separator: ", ")). The community comes from \
            --community-file or --community-env (SET uses --write-community-... when given, else the same community).
            """,
        subcommands: [Outlets.self, Switch.self]
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
            guard OutletDialect.byDeviceType[deviceType] != nil else {
                throw ValidationError("--type must be one of \(OutletDialect.byDeviceType.keys.sorted().joined(separator: ", "))")
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
            let outlets = try await options.perform { service, device in try await service.outlets(of: device) }
            if options.output.json { try Self.printJSON(outlets) } else {
                for outlet in outlets { print("\(outlet.number)\t\(outlet.state.rawValue)\t\(outlet.name)") }
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
}
