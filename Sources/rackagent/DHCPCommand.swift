import AgentCore
import ArgumentParser
import ControllerAPI
import Foundation
import Logging
import Provisioning

/// Read access to the agent's state for diagnostics: opens the database (beside a running daemon) without
/// touching its jobs.
struct StateAccess {
    let configuration: AgentConfiguration
    let database: AgentDatabase
    let dhcp: DHCPService

    init(_ options: ConfigurationOptions) throws {
        configuration = try options.load()
        guard FileManager.default.fileExists(atPath: configuration.databasePath) else {
            throw CommandFailure(message: "no agent state at \(configuration.stateDirectory) (use --state-dir)")
        }
        database = try AgentDatabase(path: configuration.databasePath, migrations: AgentRuntime.migrations)
        let logger = Logger(label: "rackagent.cli")
        let outbox = Outbox(database: database, maximumEvents: configuration.controller.maxOutboxEvents, logger: logger)
        dhcp = DHCPService(
            configuration: configuration, database: database, outbox: outbox, actionLog: ActionLog(database: database), runner: ProcessRunner(),
            scratch: try ScratchDirectory.forCommandLine(), supervisor: nil, logger: logger)
    }
}

extension DHCPBackendKind: ExpressibleByArgument {}

struct DHCPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dhcp",
        abstract: "Inspect the DHCP entries and the configuration the agent renders from them.",
        subcommands: [Render.self, Validate.self, Entries.self]
    )

    struct Render: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the configuration rendered from the stored entries.")
        @Option(help: "dnsmasq, kea or isc (default: the configured backend).") var backend: DHCPBackendKind?
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let state = try StateAccess(options)
            guard let rendered = try state.dhcp.render(try await state.dhcp.store.all(), backend: backend ?? state.configuration.dhcp.backend) else {
                throw CommandFailure(message: "dhcp.backend is none; pass --backend")
            }
            print(rendered.main, terminator: "")
            for (name, content) in rendered.hostFiles.sorted(by: { $0.key < $1.key }) { print("# hosts/\(name)\n\(content)", terminator: "") }
            for (name, content) in rendered.optionFiles.sorted(by: { $0.key < $1.key }) { print("# options/\(name)\n\(content)", terminator: "") }
        }
    }

    struct Validate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Render and check with the daemon's own validator; exit 1 if it refuses.")
        @Option(help: "dnsmasq, kea or isc (default: the configured backend).") var backend: DHCPBackendKind?
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let state = try StateAccess(options)
            let chosen = backend ?? state.configuration.dhcp.backend
            guard let rendered = try state.dhcp.render(try await state.dhcp.store.all(), backend: chosen) else {
                throw CommandFailure(message: "dhcp.backend is none; pass --backend")
            }
            try await exitingOnFailure {
                try await DHCPValidator(runner: ProcessRunner(), settings: state.configuration.dhcp, scratch: try ScratchDirectory.forCommandLine())
                    .validate(rendered.validationConfig, backend: chosen)
            }
            print("\(chosen.rawValue): configuration valid")
        }
    }

    struct Entries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the stored DHCP entries.")
        @OptionGroup var options: ConfigurationOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let entries = try await StateAccess(options).dhcp.store.all()
            if output.json {
                try Self.printJSON(entries.map(\.apiRepresentation))
                return
            }
            for entry in entries {
                let address = [entry.ipv4?.ip, entry.ipv6?.ip].compactMap { $0 }.joined(separator: " ")
                let lifetime = entry.expiresAt.map { "until \(UTCTime.iso8601($0))" } ?? "permanent"
                print("\(entry.mac)  \(entry.hostname.padding(toLength: 20, withPad: " ", startingAt: 0)) \(address)  pxe \(entry.pxe ? "on " : "off") \(lifetime)")
            }
        }
    }
}
