import AgentCore
import ArgumentParser
import ControllerAPI
import Foundation
import Logging
import SwitchSSH

struct SwitchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch",
        abstract: "Manage a switch over SSH with the agent's dialects: read, change (read, diff, apply, verify), run commands.",
        discussion: """
            Every subcommand takes the switch options. The password comes from --password-file, --password-env or a \
            prompt (or --key-file for public-key authentication), never from the command line. Host keys follow \
            ssh.hostKeyPolicy: --host-key pins one; otherwise the first key seen is recorded in the agent's state \
            database and a different one is refused. Changes print the commands sent; --dry-run prints them without \
            sending.
            """,
        subcommands: [ShowInterface.self, SetPort.self, SetDescription.self, VLANs.self, Run.self]
    )

    struct SwitchOptions: ParsableArguments {
        @Option(help: "Dialect: \(SwitchDialects.vendors.joined(separator: ", ")).") var vendor: String
        @Option(help: "Address or name of the switch.") var host: String
        @Option(help: "SSH port.") var port = 22
        @Option(help: "SSH user.") var user: String
        @Option(name: .customLong("password-file"), help: ArgumentHelp("File holding the password.", valueName: "file")) var passwordFile: String?
        @Option(name: .customLong("password-env"), help: ArgumentHelp("Environment variable holding the password.", valueName: "name")) var passwordEnvironment: String?
        @Option(name: .customLong("key-file"), help: ArgumentHelp("Private key file (public-key authentication).", valueName: "file")) var keyFile: String?
        @Option(name: .customLong("host-key"), help: ArgumentHelp("Pinned host key, SHA256:... as ssh-keygen -l prints it.", valueName: "fingerprint"))
        var hostKey: String?
        @Option(name: .customLong("device-id"), help: "The name its host key is recorded under (default: the host).") var deviceId: String?
        @Option(help: "Command timeout in seconds.") var timeout = 30.0
        @OptionGroup var configurationOptions: ConfigurationOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard SwitchDialects.dialect(for: vendor) != nil else { throw ValidationError("--vendor must be one of \(SwitchDialects.vendors.joined(separator: ", "))") }
            guard (1...65535).contains(port) else { throw ValidationError("--port must be 1-65535") }
        }

        func target() throws -> SwitchTarget {
            let credential: SSHCredential
            if let keyFile {
                guard let key = try? String(contentsOfFile: keyFile, encoding: .utf8) else { throw CommandFailure(message: "cannot read \(keyFile)") }
                credential = .privateKey(Secret(key), passphrase: nil)
            } else {
                credential = .password(try SecretSource(file: passwordFile, environment: passwordEnvironment, prompt: "SSH password for \(user)@\(host): ").read())
            }
            return SwitchTarget(deviceId: deviceId ?? host, host: host, port: port, user: user, credential: credential, vendor: vendor, pinnedHostKey: hostKey)
        }

        /// The switch service on the agent's state database (host keys, snapshots, the action log).
        func service() throws -> SwitchService {
            var configuration = try configurationOptions.load()
            configuration.ssh.commandTimeoutSeconds = timeout
            try StateDirectory.prepare(configuration.stateDirectory)
            let database = try AgentDatabase(path: configuration.databasePath, migrations: AgentRuntime.migrations)
            var logger = Logger(label: "rackagent.switch")
            logger.logLevel = .warning
            let store = SwitchStore(database: database)
            return SwitchService(pool: SwitchSessionPool(settings: configuration.ssh, store: store, logger: logger), store: store,
                                 actionLog: ActionLog(database: database), logger: logger)
        }

        /// Runs `body` and turns failures into a message and exit status 1.
        func perform<Value>(_ body: (SwitchService, SwitchTarget) async throws -> Value) async throws -> Value {
            let service = try service()
            defer { service.pool.closeAll() }
            return try await exitingOnFailure { try await body(service, try target()) }
        }
    }

    static func describe(_ interface: SwitchInterface) -> String {
        let vlans: String
        switch interface.mode {
        case .access: vlans = "access VLAN \(interface.accessVlan.map(String.init) ?? "-")"
        case .trunk: vlans = "trunk native \(interface.nativeVlan.map(String.init) ?? "-"), VLANs \(interface.trunkVlans.map(VLANList.format) ?? "all")"
        case .routed: vlans = "routed"
        }
        return "\(interface.name): \(interface.enabled ? "enabled" : "disabled"), \(vlans), description \"\(interface.description)\""
    }

    static func printChange(_ result: SwitchChangeResult, json: Bool) throws {
        if json {
            try printJSON(result)
            return
        }
        print(result.message)
        for command in result.commands { print("  \(command)") }
        if let snapshot = result.snapshotId { print("configuration snapshot \(snapshot) saved before the change") }
    }

    struct ShowInterface: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show-interface", abstract: "Read an interface: admin state, description, VLANs.")
        @Argument(help: "Interface name in the switch's own notation (Ethernet1, ge-0/0/1 ...).") var interface: String
        @OptionGroup var options: SwitchOptions

        func run() async throws {
            let state = try await options.perform { service, target in try await service.interface(target, name: interface) }
            if options.output.json { try Self.printJSON(state) } else { print(SwitchCommand.describe(state)) }
        }
    }

    struct SetPort: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-port", abstract: "Enable or disable an interface (read, apply, verify).")
        @Argument(help: "Interface name.") var interface: String
        @Argument(help: "enabled or disabled.") var state: String
        @Flag(name: .customLong("dry-run"), help: "Print the commands without sending them.") var dryRun = false
        @OptionGroup var options: SwitchOptions

        func run() async throws {
            guard ["enabled", "disabled"].contains(state) else { throw ValidationError("state must be enabled or disabled") }
            let result = try await options.perform { service, target in
                try await service.changeInterface(target, name: interface, change: InterfaceChange(enabled: state == "enabled"), dryRun: dryRun, jobId: nil)
            }
            try SwitchCommand.printChange(result, json: options.output.json)
        }
    }

    struct SetDescription: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-description", abstract: "Set an interface description (validated before anything is sent).")
        @Argument(help: "Interface name.") var interface: String
        @Argument(help: "The description (printable ASCII, no ; | quotes backslash backtick $ ?).") var description: String
        @Flag(name: .customLong("dry-run"), help: "Print the commands without sending them.") var dryRun = false
        @OptionGroup var options: SwitchOptions

        func run() async throws {
            let text = try SwitchValidation.description(description, field: "description")
            let result = try await options.perform { service, target in
                try await service.changeInterface(target, name: interface, change: InterfaceChange(description: text), dryRun: dryRun, jobId: nil)
            }
            try SwitchCommand.printChange(result, json: options.output.json)
        }
    }

    struct VLANs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "vlans", abstract: "List the VLANs with their names and layer-3 addresses.")
        @OptionGroup var options: SwitchOptions

        func run() async throws {
            let vlans = try await options.perform { service, target in try await service.vlans(target) }
            if options.output.json {
                try Self.printJSON(vlans)
                return
            }
            for vlan in vlans { print("\(String(vlan.id).padding(toLength: 5, withPad: " ", startingAt: 0)) \(vlan.name.padding(toLength: 33, withPad: " ", startingAt: 0)) \(vlan.l3Ips.joined(separator: ", "))") }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one command: on the CLI session (prompt handling, paging off) or, with --exec, on an exec channel with its exit status.")
        @Argument(help: "The command.") var command: String
        @Flag(help: "Use an exec channel instead of the interactive CLI.") var exec = false
        @OptionGroup var options: SwitchOptions

        func run() async throws {
            if exec {
                let result = try await options.perform { service, target in try await service.exec(target, command: command) }
                if options.output.json {
                    try Self.printJSON(["exitStatus": .integer(Int64(result.exitStatus)), "stdout": .string(result.standardOutput), "stderr": .string(result.standardError)] as JSONValue)
                } else {
                    print(result.standardOutput, terminator: "")
                    FileHandle.standardError.write(Data(result.standardError.utf8))
                }
                if result.exitStatus != 0 { throw ExitCode(Int32(clamping: result.exitStatus)) }
                return
            }
            let output = try await options.perform { service, target in try await service.run(target, command: command) }
            if options.output.json { try Self.printJSON(["output": .string(output)] as JSONValue) } else { print(output) }
        }
    }
}
