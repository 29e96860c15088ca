import AgentCore
import ArgumentParser
import Foundation
import IPMI
import Logging

struct IPMICommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ipmi",
        abstract: "Talk to a BMC with ipmitool the way the agent does: power, boot device, BMC users, inventory.",
        discussion: """
            Every subcommand takes the BMC connection options. The password comes from --password-file, \
            --password-env or a prompt, and reaches ipmitool through its environment, never its command line.
            """,
        subcommands: [Power.self, BootDevice.self, BMCReset.self, Run.self, Test.self, Users.self, Sensors.self, SEL.self, FRU.self, LAN.self]
    )

    /// The BMC connection flags shared by every subcommand.
    struct ConnectionOptions: ParsableArguments {
        @Option(name: .long, help: "BMC address (IP or host name).") var host: String
        @Option(name: .long, help: "BMC UDP port.") var port = 623
        @Option(name: [.customShort("U"), .customLong("user")], help: "BMC user name.") var user: String
        @Option(name: .customLong("password-file"), help: ArgumentHelp("File holding the password.", valueName: "file")) var passwordFile: String?
        @Option(name: .customLong("password-env"), help: ArgumentHelp("Environment variable holding the password.", valueName: "name"))
        var passwordEnvironment: String?
        @Option(name: .long, help: "lanplus (IPMI 2.0, default) or lan (IPMI 1.5).") var interface = "lanplus"
        @Option(name: .customLong("cipher-suite"), help: "RMCP+ cipher suite.") var cipherSuite = 3
        @Option(name: .long, help: "ADMINISTRATOR or OPERATOR.") var privilege = "ADMINISTRATOR"
        @Option(name: .long, help: "Seconds before ipmitool is killed.") var timeout: Double?
        @Option(name: .long, help: "ipmitool retries (a serial console uses at least 2, of at least 3 s each).") var retries: Int?
        @OptionGroup var configurationOptions: ConfigurationOptions
        @OptionGroup var output: OutputOptions

        func connection() throws -> IPMIConnection {
            let password = try SecretSource(file: passwordFile, environment: passwordEnvironment, prompt: "BMC password for \(user)@\(host): ").read()
            var meta: [String: JSONValue] = [
                "ip": .string(host), "username": .string(user), "password": .string(password.revealed), "bmcPort": .integer(Int64(port)),
                "interface": .string(interface), "cipherSuite": .integer(Int64(cipherSuite)), "privilege": .string(privilege),
            ]
            if let timeout { meta["timeoutSeconds"] = .double(timeout) }
            if let retries { meta["retries"] = .integer(Int64(retries)) }
            return try JSONValue.object(meta).decode(as: IPMIConnection.self, at: "connection")
        }

        func services() throws -> (IPMIService, BMCUserManager) {
            let configuration = try configurationOptions.load()
            let settings = configuration.ipmi
            let executor = IPMIExecutor(
                runner: ProcessRunner(), settings: settings, scratch: try ScratchDirectory.forCommandLine(),
                logger: Logger(label: "rackagent.ipmi"))
            return (IPMIService(executor: executor, settings: settings), BMCUserManager(executor: executor))
        }

        /// Runs a BMC user operation on this connection and reports it like ``report(_:human:)``.
        func reportUsers<Value: Encodable>(
            _ work: (BMCUserManager, IPMIConnection) async throws -> Value, human: (Value) -> String
        ) async throws {
            let connection = try connection()
            let (_, users) = try services()
            try await report({ try await work(users, connection) }, human: human)
        }

        @discardableResult
        func report<Value: Encodable>(_ work: () async throws -> Value, human: (Value) -> String) async throws -> Value {
            try await output.report(work, human: human)
        }
    }

    struct Power: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or change chassis power; changes are verified by reading back.",
            discussion: """
                on, off and soft are verified by reading the power state back. reset and cycle are verified only by \
                evidence that the machine restarted (power seen off and on again, the restart cause changed, a new \
                restart event in the SEL). Exit status: 0 done and verified, 1 failed, 3 the BMC accepted a reset or \
                cycle but showed no evidence of a restart (the reason is printed).
                """)

        enum Action: String, ExpressibleByArgument, CaseIterable { case status, on, off, soft, reset, cycle }

        @Argument(help: "status, on, off, soft (ACPI), reset or cycle.") var action: Action
        @OptionGroup var options: ConnectionOptions

        func run() async throws {
            let connection = try options.connection()
            let (service, _) = try options.services()
            guard let change = PowerChange(rawValue: action.rawValue) else {
                try await options.report({ try await service.powerStatus(connection).seedWord }) { "power: \($0)" }
                return
            }
            let report = try await options.report({ try await service.setPower(change, connection) }) { report in
                report.verified
                    ? "power \(report.action): \(report.powerState), verified: \(report.evidence ?? "") (\(report.checks) checks, \(report.seconds) s)"
                    : "power \(report.action): \(report.powerState), NOT verified: \(report.reason ?? "") (\(report.checks) checks, \(report.seconds) s)"
            }
            if !report.verified { throw ExitCode(3) }
        }
    }

    struct BootDevice: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bootdev", abstract: "Set the next boot device and verify the BMC stored it.")

        @Argument(help: "pxe, disk, bios or cdrom.") var device: String
        @Flag(help: "Boot in EFI mode.") var efi = false
        @Flag(help: "Apply to all future boots, not just the next.") var persistent = false
        @OptionGroup var options: ConnectionOptions

        func run() async throws {
            guard let device = IPMI.BootDevice(rawValue: device) else { throw ValidationError("device must be pxe, disk, bios or cdrom") }
            let connection = try options.connection()
            let (service, _) = try options.services()
            try await options.report({ try await service.setBootDevice(device, efi: efi, persistent: persistent, connection) }) { report in
                "boot device \(report.device) stored: \(report.stored.deviceSelector)\(report.stored.efi ? ", EFI" : "")\(report.stored.persistent ? ", persistent" : "")"
            }
        }
    }

    struct BMCReset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "bmc-reset", abstract: "Reset the BMC and wait until it answers again.")

        @Flag(help: "Warm reset instead of cold.") var warm = false
        @OptionGroup var options: ConnectionOptions

        func run() async throws {
            let connection = try options.connection()
            let (service, _) = try options.services()
            try await options.report({ try await service.resetBMC(warm: warm, connection) }) { _ in "BMC reset (\(warm ? "warm" : "cold")) and answering again" }
        }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run an allowed ipmitool subcommand line (the API's executeCustomCommand), e.g. \"chassis status\".")

        @Argument(help: "The subcommand line, quoted.") var command: String
        @OptionGroup var options: ConnectionOptions

        func run() async throws {
            let connection = try options.connection()
            let (service, _) = try options.services()
            try await options.report({ try await service.customCommand(command, connection) }) { $0 }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check that the BMC answers with these credentials.")
        @OptionGroup var options: ConnectionOptions

        func run() async throws {
            let connection = try options.connection()
            let (service, _) = try options.services()
            try await options.report({ try await service.testConnection(connection) }) { $0 }
        }
    }

    struct Sensors: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Sensor readings (sdr elist).")
        @OptionGroup var options: ConnectionOptions

        func run() async throws {
            let connection = try options.connection()
            let (service, _) = try options.services()
            try await options.report({ try await service.sensors(connection) }) { sensors in
                sensors.map { "\($0.name.padding(toLength: 20, withPad: " ", startingAt: 0)) \($0.status.padding(toLength: 4, withPad: " ", startingAt: 0)) \($0.reading)" }
                    .joined(separator: "\n")
            }
        }
    }

    struct SEL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "sel", abstract: "List (or clear) the system event log.")
        @Flag(help: "Clear the log.") var clear = false
        @OptionGroup var options: ConnectionOptions

        func run() async throws {
            let connection = try options.connection()
            let (service, _) = try options.services()
            if clear {
                try await options.report({ try await service.clearSEL(connection) }) { $0 }
                return
            }
            try await options.report({ try await service.selEntries(connection) }) { entries in
                entries.isEmpty ? "SEL has no entries" : entries.map { "\($0.id) \($0.date) \($0.time) \($0.sensor): \($0.event) \($0.direction ?? "")" }.joined(separator: "\n")
            }
        }
    }

    struct FRU: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "fru", abstract: "Field-replaceable unit data.")
        @OptionGroup var options: ConnectionOptions

        func run() async throws {
            let connection = try options.connection()
            let (service, _) = try options.services()
            try await options.report({ try await service.fru(connection) }) { devices in
                devices.map { device in
                    ([device.description] + device.fields.map { "  \($0.key): \($0.value)" }).joined(separator: "\n")
                }.joined(separator: "\n")
            }
        }
    }

    struct LAN: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "lan", abstract: "The BMC's LAN configuration (lan print).")
        @Option(help: "LAN channel.") var channel = 1
        @OptionGroup var options: ConnectionOptions

        func run() async throws {
            let connection = try options.connection()
            let (service, _) = try options.services()
            try await options.report({ try await service.lanConfiguration(channel: channel, connection) }) { pairs in
                pairs.map { "\($0.key): \($0.value)" }.joined(separator: "\n")
            }
        }
    }
}
