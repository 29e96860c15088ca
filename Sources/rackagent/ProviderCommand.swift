import AgentCore
import ArgumentParser
import Foundation
import Logging
import Providers

struct ProviderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provider",
        abstract: "Power, status, templates, reinstall, console and traffic of servers at IONOS, Venocix or CloudSigma.",
        discussion: """
            Every subcommand takes --type and the account's credentials: the IONOS apiKey, the Venocix token or the \
            CloudSigma password (with --user), read from --credential-file or --credential-env, never from the command \
            line. Power changes are read back (and composed where the provider lacks the call, e.g. a CloudSigma \
            reboot is shutdown, wait for stopped, start). `support` prints which operation each provider has natively.
            """,
        subcommands: [
            Status.self, Power.self, Servers.self, Templates.self, Reinstall.self, Recovery.self, ISO.self, PasswordReset.self, Console.self,
            Traffic.self, Support.self,
        ]
    )

    struct ProviderOptions: ParsableArguments {
        @Option(help: "Provider: ionos, venocix or cloudsigma.") var type: String
        @Option(name: .customLong("server"), help: "The provider's server id.") var serverId: String?
        @Option(help: "CloudSigma user (e-mail).") var user: String?
        @Option(name: .customLong("credential-file"), help: ArgumentHelp("File holding the API key, token or password.", valueName: "file"))
        var credentialFile: String?
        @Option(name: .customLong("credential-env"), help: ArgumentHelp("Environment variable holding the API key, token or password.", valueName: "name"))
        var credentialEnvironment: String?
        @Option(help: "Venocix: vm (default) or dedicated.") var kind: String?
        @Option(help: "CloudSigma: zrh (default) or lvs.") var region: String?
        @Option(name: .customLong("base-url"), help: "Override the documented API address.") var baseURL: String?
        @OptionGroup var configurationOptions: ConfigurationOptions
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard ProviderType(rawValue: type) != nil else { throw ValidationError("--type must be ionos, venocix or cloudsigma") }
            if type == "cloudsigma", user == nil { throw ValidationError("--user is required for cloudsigma") }
        }

        func connection(requireServer: Bool = true) throws -> ProviderConnection {
            let provider = try ProviderType(field: "--type", type)
            let credential = try SecretSource(file: credentialFile, environment: credentialEnvironment, prompt: "\(type) credential: ").read()
            var meta: [String: JSONValue] = [:]
            switch provider {
            case .ionos: meta["apiKey"] = .string(credential.revealed)
            case .venocix: meta["token"] = .string(credential.revealed)
            case .cloudsigma:
                meta["password"] = .string(credential.revealed)
                meta["username"] = user.map(JSONValue.string) ?? .null
            }
            if let serverId { meta["serverId"] = .string(serverId) }
            if let kind { meta["kind"] = .string(kind) }
            if let region { meta["region"] = .string(region) }
            if let baseURL { meta["baseUrl"] = .string(baseURL) }
            do {
                return try ProviderConnection(type: provider, meta: .object(meta), path: "options", requireServer: requireServer)
            } catch {
                throw CommandFailure(message: AgentError.from(error).message
                    .replacingOccurrences(of: "options.serverId", with: "--server").replacingOccurrences(of: "options.", with: "--"))
            }
        }

        func service() throws -> ProviderService {
            let configuration = try configurationOptions.load()
            var logger = Logger(label: "rackagent.provider")
            logger.logLevel = .warning
            return ProviderService(settings: configuration.providers, logger: logger)
        }

        /// Runs `body`; failures become a message on stderr and exit status 1.
        func perform<Value>(requireServer: Bool = true, _ body: (ProviderService, ProviderConnection) async throws -> Value) async throws -> Value {
            let service = try service()
            let connection = try connection(requireServer: requireServer)
            return try await exitingOnFailure { try await body(service, connection) }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The server's power state, normalised and in the provider's word.")
        @OptionGroup var options: ProviderOptions

        func run() async throws {
            let status = try await options.perform { service, connection in try await service.status(connection) }
            if options.output.json { try Self.printJSON(status) } else {
                print("\(status.state.seedWord) (\(status.providerState)\(status.percent.map { ", \($0) %" } ?? ""))")
            }
        }
    }

    struct Power: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "on, off (hard), shutdown (graceful), reboot (graceful) or reset (hard), verified by reading back.",
            discussion: "Exit status: 0 done and verified, 1 failed, 3 a reset or reboot was accepted but the state never showed the restart.")
        @Argument(help: "on, off, shutdown, reboot or reset.") var action: String
        @OptionGroup var options: ProviderOptions

        func run() async throws {
            guard let action = ProviderPowerAction(rawValue: action) else { throw ValidationError("action must be on, off, shutdown, reboot or reset") }
            let report = try await options.perform { service, connection in try await service.power(action, connection) }
            if options.output.json { try Self.printJSON(report) } else {
                let verification = report.verified ? "verified: \(report.evidence ?? "")" : "NOT verified: \(report.reason ?? "")"
                print("\(report.action): \(report.powerState) (\(report.providerState)), \(verification)\(report.emulated ? ", composed by the agent" : "") in \(report.seconds) s")
                for step in report.steps { print("  \(step)") }
            }
            // 3: the provider accepted a reset or reboot but its state never showed the restart.
            if !report.verified { throw ExitCode(3) }
        }
    }

    struct Servers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The account's servers.")
        @OptionGroup var options: ProviderOptions

        func run() async throws {
            let servers = try await options.perform(requireServer: false) { service, connection in
                try await service.driver(for: connection).listServers()
            }
            if options.output.json { try Self.printJSON(servers) } else {
                for server in servers { print([server.id, server.name, server.providerState].compactMap { $0 }.joined(separator: "  ")) }
            }
        }
    }

    struct Templates: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "OS templates a reinstall can use (id and name).")
        @OptionGroup var options: ProviderOptions

        func run() async throws {
            let templates = try await options.perform(requireServer: false) { service, connection in
                try await service.driver(for: connection).templates()
            }
            if options.output.json { try Self.printJSON(templates) } else {
                for template in templates { print(template.id == template.name ? template.name : "\(template.id)  \(template.name)") }
            }
        }
    }

    struct Reinstall: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Reinstall the server and follow the provider until it is done; prints the credentials it hands out.")
        @Option(help: "Template: IONOS appliance id, Venocix template name, CloudSigma image drive UUID.") var template: String
        @Option(help: "Host name (Venocix).") var hostname: String?
        @Option(name: .customLong("ssh-key-file"), help: "Public key file to install (IONOS, Venocix VMs).") var sshKeyFile: String?
        @OptionGroup var options: ProviderOptions

        func run() async throws {
            let sshKey = try sshKeyFile.map { path -> String in
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CommandFailure(message: "cannot read \(path)") }
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let json = options.output.json
            let result = try await options.perform { service, connection in
                try await service.reinstall(ProviderReinstallRequest(template: template, hostname: hostname, sshKey: sshKey), connection) { message, fraction in
                    guard !json else { return }
                    let percent = fraction.map { " \(Int(($0 * 100).rounded())) %" } ?? ""
                    FileHandle.standardError.write(Data("\(message)\(percent)\n".utf8))
                }
            }
            // The operator asked on their own terminal: the generated password is shown here, once, and kept nowhere.
            var members = result.details
            if let password = result.generatedPassword { members["password"] = .string(password.revealed) }
            if json { try Self.printJSON(JSONValue.object(members)) } else {
                for key in members.keys.sorted() { print("\(key): \(members[key].map { $0.stringValue ?? $0.jsonText } ?? "")") }
            }
        }
    }

    struct Recovery: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restart the server into the provider's recovery system (IONOS recovery_mode), verified by its state.")
        @Option(help: "The recovery image (IONOS: an id from GET /recovery_appliances).") var image: String
        @OptionGroup var options: ProviderOptions

        func run() async throws {
            let result = try await options.perform { service, connection in try await service.bootRecovery(image: image, connection) }
            try Self.printResult(result, json: options.output.json)
        }
    }

    struct ISO: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "iso", abstract: "The server's virtual drive (IONOS DVD unit, Venocix VMs): list the ISOs, insert one (read back), or eject.",
            discussion: "Without --insert or --eject, lists the ISOs the provider offers.")
        @Option(help: "Insert this ISO id (from the list); the provider may restart the server from it.") var insert: String?
        @Flag(help: "Eject the ISO.") var eject = false
        @OptionGroup var options: ProviderOptions

        func validate() throws {
            if insert != nil, eject { throw ValidationError("--insert and --eject exclude each other") }
        }

        func run() async throws {
            if insert == nil, !eject {
                let images = try await options.perform { service, connection in
                    try await service.driver(for: connection).isoImages(serverId: connection.serverId)
                }
                if options.output.json { try Self.printJSON(images) } else { for image in images { print("\(image.id)  \(image.name)") } }
                return
            }
            let result = try await options.perform { service, connection in try await service.setISO(insert, connection) }
            try Self.printResult(result, json: options.output.json)
        }
    }

    struct PasswordReset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "password-reset",
            abstract: "Reset the root password (Venocix VMs): to the one in --password-file, or one the provider generates (shown once).")
        @Option(name: .customLong("password-file"), help: "A file holding the new password (never on the command line).") var passwordFile: String?
        @OptionGroup var options: ProviderOptions

        func run() async throws {
            let password = try passwordFile.map { path -> Secret in
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CommandFailure(message: "cannot read \(path)") }
                let password = text.trimmingCharacters(in: .newlines)
                guard (6...64).contains(password.count), !password.contains(where: { $0.isNewline || $0.asciiValue.map { $0 < 0x20 } ?? false }) else {
                    throw CommandFailure(message: "the password in \(path) must be one line of 6 to 64 characters")
                }
                return Secret(password)
            }
            let generated = try await options.perform { service, connection in
                try await service.driver(for: connection).resetRootPassword(serverId: connection.serverId, password: password)
            }
            // The operator asked on their own terminal: a generated password is shown here, once, and kept nowhere.
            let result: JSONValue = ["passwordSet": true, "password": generated.map { .string($0.revealed) } ?? .null]
            try Self.printResult(result, json: options.output.json)
        }
    }

    struct Console: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "How to reach the console: a noVNC URL (with its expiry) or VNC host, port and password.")
        @OptionGroup var options: ProviderOptions

        func run() async throws {
            let access = try await options.perform { service, connection in
                try await service.driver(for: connection).console(serverId: connection.serverId)
            }
            if options.output.json { try Self.printJSON(access.json) } else {
                switch access {
                case .noVNC(let url, let expiresAt):
                    print(url.revealed)
                    if let expiresAt { print("expires \(UTCTime.iso8601(expiresAt))") }
                case .vnc(let host, let port, let password): print("vnc://\(host):\(port) password \(password.revealed)")
                case .unsupported(let reason): print("no console: \(reason)")
                }
            }
        }
    }

    struct Traffic: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Traffic as the provider counts it.")
        @OptionGroup var options: ProviderOptions

        func run() async throws {
            let traffic = try await options.perform { service, connection in
                try await service.driver(for: connection).traffic(serverId: connection.serverId)
            }
            if options.output.json { try Self.printJSON(traffic) } else {
                if let inbound = traffic.inboundBytes, let outbound = traffic.outboundBytes { print("in \(inbound) bytes, out \(outbound) bytes (\(traffic.source))") }
                for sample in traffic.samples {
                    print("\(sample.date)  down \(sample.downstreamBitsPerSecond) bit/s  up \(sample.upstreamBitsPerSecond) bit/s")
                }
            }
        }
    }

    struct Support: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Which operation each provider supports natively, emulated, or not at all.")
        @OptionGroup var output: OutputOptions

        func run() throws {
            let rows = ProviderSupportTable.rows
            if output.json {
                try Self.printJSON(Dictionary(uniqueKeysWithValues: rows.map { ($0.name, $0.support) }))
                return
            }
            print("| operation | " + rows.map(\.name).joined(separator: " | ") + " |")
            print("|---|" + rows.map { _ in "---|" }.joined())
            for operation in ProviderOperation.allCases {
                print("| \(operation.rawValue) | " + rows.map { $0.support[operation.rawValue]?.rawValue ?? "-" }.joined(separator: " | ") + " |")
            }
        }
    }
}

extension ParsableCommand {
    /// A provider call's result: JSON, or one `key: value` line per member.
    static func printResult(_ result: JSONValue, json: Bool) throws {
        if json { return try printJSON(result) }
        guard case .object(let members) = result else { return print(result.stringValue ?? result.jsonText) }
        for key in members.keys.sorted() { print("\(key): \(members[key].map { $0.stringValue ?? $0.jsonText } ?? "")") }
    }
}
