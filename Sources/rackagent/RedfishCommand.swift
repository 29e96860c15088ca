import AgentCore
import ArgumentParser
import ControllerAPI
import Foundation
import Logging
import Redfish

struct RedfishCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redfish",
        abstract: "Talk to a Redfish BMC the way the agent does: power, boot override, BMC reset, inventory.",
        discussion: """
            Every subcommand takes the BMC connection options. The password comes from --password-file, \
            --password-env or a prompt and travels only in the login request (or the Basic authorization header). \
            Over https the BMC's certificate must match --certificate-sha256, or the one the agent remembered for it \
            in its state database; the first one seen is remembered (redfish.certificatePolicy trustOnFirstUse).
            """,
        subcommands: [Power.self, BootDevice.self, Media.self, Users.self, BMCReset.self, Inventory.self, Test.self, Certificate.self]
    )

    /// The BMC connection flags shared by every subcommand.
    struct ConnectionOptions: ParsableArguments {
        @Option(name: .long, help: "BMC address (IP or host name).") var host: String
        @Option(name: .long, help: "BMC port (default 443, 80 with --scheme http).") var port: Int?
        @Option(name: .long, help: "https (default) or http (emulators).") var scheme = "https"
        @Option(name: [.customShort("U"), .customLong("user")], help: "BMC user name.") var user: String
        @Option(name: .customLong("password-file"), help: ArgumentHelp("File holding the password.", valueName: "file")) var passwordFile: String?
        @Option(name: .customLong("password-env"), help: ArgumentHelp("Environment variable holding the password.", valueName: "name"))
        var passwordEnvironment: String?
        @Option(name: .customLong("certificate-sha256"), help: ArgumentHelp("The SHA-256 the BMC's certificate must have.", valueName: "hex"))
        var certificateSHA256: String?
        @Option(name: .customLong("system-id"), help: "The system, when the BMC manages several.") var systemId: String?
        @Option(name: .long, help: "Seconds before a request is given up.") var timeout: Double?
        @OptionGroup var configurationOptions: ConfigurationOptions
        @OptionGroup var output: OutputOptions

        func connection() throws -> RedfishConnection {
            let password = try SecretSource(file: passwordFile, environment: passwordEnvironment, prompt: "BMC password for \(user)@\(host): ").read()
            var meta: [String: JSONValue] = [
                "ip": .string(host), "scheme": .string(scheme), "username": .string(user), "password": .string(password.revealed),
            ]
            if let port { meta["port"] = .integer(Int64(port)) }
            if let certificateSHA256 { meta["certificateSha256"] = .string(certificateSHA256) }
            if let systemId { meta["systemId"] = .string(systemId) }
            if let timeout { meta["timeoutSeconds"] = .double(timeout) }
            return try JSONValue.object(meta).decode(as: RedfishConnection.self, at: "connection")
        }

        /// The Redfish service on the agent's state database (where first-seen certificates are remembered).
        func service() throws -> (RedfishService, RedfishCertificateStore) {
            let configuration = try configurationOptions.load()
            try StateDirectory.prepare(configuration.stateDirectory)
            let store = RedfishCertificateStore(database: try AgentDatabase(path: configuration.databasePath, migrations: AgentRuntime.migrations))
            var logger = Logger(label: "rackagent.redfish")
            logger.logLevel = .warning
            return (RedfishService(client: RedfishClient(transport: NIORedfishTransport(), trust: store, settings: configuration.redfish, logger: logger)), store)
        }

        /// Runs `work` on this connection and reports it as JSON or via `human`.
        @discardableResult
        func report<Value: Encodable>(_ work: (RedfishService, RedfishConnection) async throws -> Value, human: (Value) -> String) async throws -> Value {
            let connection = try connection()
            let (service, _) = try service()
            return try await output.report({
                do {
                    let value = try await work(service, connection)
                    await service.client.logOut(connection)
                    return value
                } catch {
                    await service.client.logOut(connection)
                    throw error
                }
            }, human: human)
        }
    }

    struct Power: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or change the system's power; changes are verified by reading back.",
            discussion: """
                on, off and soft are verified by reading PowerState back until it settles (BMCs apply changes seconds \
                later). reset and cycle are verified only by evidence that the system restarted (seen off or powering \
                on, then on; or LastResetTime moved). Exit status: 0 done and verified, 1 failed, 3 the BMC accepted a \
                reset or cycle but showed no evidence of a restart (the reason is printed).
                """)

        enum Action: String, ExpressibleByArgument, CaseIterable { case status, on, off, soft, reset, cycle }

        @Argument(help: "status, on, off, soft (graceful shutdown), reset or cycle.") var action: Action
        @OptionGroup var options: ConnectionOptions

        func run() async throws {
            guard let change = PowerChange(rawValue: action.rawValue) else {
                try await options.report({ try await $0.powerStatus($1).serverPowerState }) { "power: \($0)" }
                return
            }
            let report = try await options.report({ try await $0.setPower(change, $1) }) { report in
                let resets = (report.resetTypes ?? []).joined(separator: ", then ")
                return report.verified
                    ? "power \(report.action) (\(resets)): \(report.powerState), verified: \(report.evidence ?? "") (\(report.checks) reads, \(report.seconds) s)"
                    : "power \(report.action) (\(resets)): \(report.powerState), NOT verified: \(report.reason ?? "") (\(report.checks) reads, \(report.seconds) s)"
            }
            if !report.verified { throw ExitCode(3) }
        }
    }

    struct BootDevice: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bootdev", abstract: "Set the boot override and verify the BMC stored it.")

        @Argument(help: "pxe, disk, bios, cdrom or http (UEFI HTTP boot).") var device: String
        @Flag(help: "Boot in UEFI mode.") var efi = false
        @Flag(help: "Boot in legacy (BIOS) mode.") var legacy = false
        @Flag(help: "Apply to all future boots, not just the next.") var persistent = false
        @OptionGroup var options: ConnectionOptions

        func validate() throws {
            if efi && legacy { throw ValidationError("--efi and --legacy exclude each other") }
            if Self.targets[device] == nil { throw ValidationError("device must be one of \(Self.targets.keys.sorted().joined(separator: ", "))") }
        }

        static let targets: [String: BootOverrideTarget] = ["pxe": .pxe, "disk": .hdd, "bios": .biosSetup, "cdrom": .cd, "http": .uefiHttp]

        func run() async throws {
            guard let target = Self.targets[device] else { throw ValidationError("unknown device \(device)") }
            let mode: Bool? = efi ? true : (legacy ? false : nil)
            try await options.report({ try await $0.setBootOverride(target, persistent: persistent, uefi: mode, $1) }) { report in
                "boot override \(report.stored.target ?? "?") stored, \(report.stored.enabled ?? "?")\(report.stored.mode.map { ", \($0)" } ?? "")"
                    + (report.note.map { " (\($0))" } ?? "")
            }
        }
    }

    struct Media: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mount an ISO on the BMC's virtual CD (and boot from it once), eject it, or show what is mounted.",
            discussion: """
                insert mounts the image at --image (a URL the BMC can reach, such as an ISO the agent serves: GET \
                /v1/isos) and reads the mount back; the next boot goes to the CD unless --no-boot-once.
                """)

        enum Action: String, ExpressibleByArgument, CaseIterable { case insert, eject, status }

        @Argument(help: "insert, eject or status.") var action: Action
        @Option(name: .long, help: "insert: the image URL the BMC fetches.") var image: String?
        @Flag(name: .customLong("no-boot-once"), help: "insert: leave the boot order alone.") var noBootOnce = false
        @OptionGroup var options: ConnectionOptions

        func validate() throws {
            if action == .insert, image == nil { throw ValidationError("insert needs --image URL") }
            if let image, !(image.hasPrefix("http://") || image.hasPrefix("https://")) || image.contains(where: { $0.isWhitespace }) {
                throw ValidationError("--image must be an http(s) URL")
            }
        }

        func run() async throws {
            switch action {
            case .status:
                try await options.report({ try await $0.opticalMedia($1) }) { device in
                    "virtual \(device.id ?? "CD"): " + (device.inserted ? "\(device.image ?? "an image") inserted" : "empty")
                }
            case .insert:
                let url = image ?? ""
                try await options.report({ try await $0.insertMedia(imageURL: url, bootOnce: !noBootOnce, $1) }) { report in
                    "inserted \(report.device.image ?? url), read back" + (report.boot.map { "; next boot: \($0.stored.target ?? "?") (\($0.stored.enabled ?? "?"))" } ?? "")
                }
            case .eject:
                try await options.report({ try await $0.ejectMedia($1) }) { _ in "ejected, nothing mounted" }
            }
        }
    }

    struct BMCReset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "bmc-reset", abstract: "Reset the BMC (Manager.Reset) and wait until it answers again.")

        @Flag(help: "Graceful restart instead of a forced one.") var graceful = false
        @OptionGroup var options: ConnectionOptions

        func run() async throws {
            let report = try await options.report({ try await $0.resetManager(graceful: graceful, $1) }) { report in
                report.verified ? "BMC reset (\(report.resetType)) and answering again after \(report.seconds) s"
                    : "BMC reset (\(report.resetType)) sent, NOT answering again after \(report.seconds) s"
            }
            if !report.verified { throw ExitCode(3) }
        }
    }

    struct Inventory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What the BMC says the server is made of: system, CPUs, memory, NICs, drives.")
        @OptionGroup var options: ConnectionOptions

        func run() async throws {
            try await options.report({ try await $0.inventory($1) }) { inventory in
                var lines = ["system: \(inventory.system.manufacturer ?? "?") \(inventory.system.model ?? "?"), serial \(inventory.system.serialNumber ?? "?"), BIOS \(inventory.system.biosVersion ?? "?"), power \(inventory.system.powerState ?? "?")"]
                lines += inventory.processors.map { "cpu \($0.socket ?? $0.id ?? "?"): \($0.model ?? "?"), \($0.cores.map(String.init) ?? "?") cores" }
                lines += inventory.memory.map { "memory \($0.name ?? $0.id ?? "?"): \($0.capacityMiB) MiB \($0.type ?? "")" }
                lines += inventory.networkInterfaces.map { "nic \($0.id ?? "?"): \($0.macAddress)\($0.linkStatus.map { " \($0)" } ?? "")" }
                lines += inventory.drives.map { "drive \($0.name ?? "?"): \($0.model ?? "?") \($0.capacityBytes.map { "\($0 / 1_000_000_000) GB" } ?? "")" }
                if let bmc = inventory.bmc { lines.append("bmc: \(bmc.model ?? "?") firmware \(bmc.firmwareVersion ?? "?")") }
                lines += inventory.unavailable.sorted { $0.key < $1.key }.map { "unavailable \($0.key): \($0.value)" }
                return lines.joined(separator: "\n")
            }
        }
    }

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check that the BMC answers with these credentials.")
        @OptionGroup var options: ConnectionOptions

        func run() async throws {
            try await options.report({ try await $0.testConnection($1) }) { $0 }
        }
    }

    struct Certificate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forget the certificate remembered for a BMC (after its certificate was replaced on purpose).")
        @Option(name: .long, help: "BMC address (IP or host name).") var host: String
        @Option(name: .long, help: "BMC port.") var port = 443
        @Flag(help: "Forget the remembered certificate.") var forget = false
        @OptionGroup var configurationOptions: ConfigurationOptions

        func run() async throws {
            guard forget else { throw ValidationError("say --forget to forget the remembered certificate") }
            let configuration = try configurationOptions.load()
            let store = RedfishCertificateStore(database: try AgentDatabase(path: configuration.databasePath, migrations: AgentRuntime.migrations))
            let address = RedfishConnection.address(host: RedfishConnection.canonicalHost(try Validation.host(host, field: "host")), port: port)
            let forgotten = try await store.forget(address)
            print(forgotten ? "forgot the certificate remembered for \(address)" : "no certificate was remembered for \(address)")
        }
    }
}
