import AgentCore
import ArgumentParser
import ControllerAPI
import Foundation
import Logging
import Provisioning
import Yams

struct PXECommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pxe",
        abstract: "Network boot and installations: boot scripts, rendered installer files, the OS file cache, inventories.",
        subcommands: [Script.self, Render.self, Installations.self, Follow.self, Cache.self, Inventory.self]
    )

    /// A JSON or YAML file as a JSON value.
    static func load(_ path: String) throws -> JSONValue {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw CommandFailure(message: "cannot read \(path)") }
        guard let document = try Yams.load(yaml: text) else { throw CommandFailure(message: "\(path) is empty") }
        return try JSONValue(yamlValue: document, path: path)
    }

    struct Script: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the iPXE script the boot listener serves for a MAC (a pending installation's, or local boot).")
        @Option(help: "The machine's MAC address.") var mac: String
        @Option(help: "Firmware: bios (pcbios), efi or arm64.") var arch: String?
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let state = try StateAccess(options)
            let address = try MACAddress.parse(mac, field: "mac")
            let index = try await BootIndex.open(database: state.database, logger: Logger(label: "rackagent.cli"))
            let gate = PXEGate(
                store: state.dhcp.store, index: index, provider: PendingBootScripts(store: InstallationStore(database: state.database)),
                unknownMACAction: state.configuration.dhcp.unknownMACAction)
            switch try await gate.answer(mac: address, architecture: BootArchitecture(query: arch), clientAddress: nil) {
            case .script(let script): print(script, terminator: "")
            case .refused:
                FileHandle.standardError.write(Data("\(address) is unknown and dhcp.unknownMACAction is refuse (404)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    struct Render: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render every file an installation would serve, without starting one.",
            discussion: """
                --profile is the seed's PXE profile object; --server is the rest of the installation body (the seed's \
                startReinstallation fields plus mac, ipassignments, disklayout, scripts ...). JSON or YAML. Template \
                errors name the variable and line; exit status 1.
                """)
        @Option(help: ArgumentHelp("The PXE profile (JSON or YAML).", valueName: "file")) var profile: String
        @Option(help: ArgumentHelp("The installation body without the profile (JSON or YAML).", valueName: "file")) var server: String
        @Option(help: "The server id (names the installation in rendered files).") var serverId = "1"
        @Option(help: ArgumentHelp("The boot listener URL the files point at (default: the configuration's).", valueName: "url")) var bootURL: String?
        @Option(help: ArgumentHelp("Write the files into this directory instead of printing them.", valueName: "dir")) var out: String?
        @OptionGroup var options: ConfigurationOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let configuration = try options.load()
            guard case .object(var body) = try PXECommand.load(server) else { throw CommandFailure(message: "\(server): expected an object") }
            body["profile"] = try PXECommand.load(profile)
            let rendered: RenderedInstallation
            do {
                let request = try InstallationRequest(serverId: serverId, body: .object(body))
                let library = try TemplateLibrary.locate(configured: configuration.provisioning.templatesDirectory)
                rendered = try InstallationRenderer(library: library).render(
                    request, token: String(repeating: "0", count: 48), bootBaseURL: bootURL ?? configuration.bootBaseURL,
                    rootPasswordHash: request.rootPassword.map { SHA512Crypt.hash($0.revealed) } ?? "")
            } catch {
                FileHandle.standardError.write(Data("\(AgentError.from(error).message)\n".utf8))
                throw ExitCode(1)
            }
            let names = rendered.files.keys.sorted()
            if let out {
                for name in names {
                    let path = "\(out)/\(name)"
                    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    try AtomicFile.write(Data(rendered.files[name]!.content.utf8), to: path, mode: 0o600)
                }
                print("\(names.count) files written to \(out): \(names.joined(separator: ", "))")
            } else if output.json {
                try Self.printJSON(JSONValue.object(rendered.files.mapValues { .string($0.content) }))
            } else {
                for name in names { print("==> \(name) <==\n\(rendered.files[name]!.content)") }
            }
        }
    }

    struct Installations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List installations with their state and last step.")
        @OptionGroup var options: ConfigurationOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let state = try StateAccess(options)
            let records = try await InstallationStore(database: state.database).all()
            if output.json {
                try Self.printJSON(JSONValue.array(records.map { $0.status(bootBaseURL: state.configuration.bootBaseURL) }))
                return
            }
            for record in records {
                let last = record.progress.last?.message ?? ""
                print("\(record.serverId.padding(toLength: 10, withPad: " ", startingAt: 0)) \(record.kind.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0)) \(record.state.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)) \(record.step.rawValue) \(record.step.name): \(last)")
            }
        }
    }

    struct Cache: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "The OS file cache: list, fetch a profile's files, clear a directory.", subcommands: [List.self, Fetch.self, Clear.self])

        static func open(_ options: ConfigurationOptions, progress: @escaping @Sendable (DownloadProgress) -> Void = { _ in }) throws -> OSCache {
            let configuration = try options.load()
            // The progress display says what was fetched; the log keeps to what needs attention (retries, bad checksums).
            var logger = Logger(label: "rackagent.cli")
            logger.logLevel = .warning
            return OSCache(
                directory: configuration.osCacheDirectory, timeoutSeconds: configuration.provisioning.downloadTimeoutSeconds,
                logger: logger, progress: progress)
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Cached directories with sizes and ages.")
            @OptionGroup var options: ConfigurationOptions
            @OptionGroup var output: OutputOptions

            func run() async throws {
                let entries = try Cache.open(options).list()
                if output.json {
                    try Self.printJSON(JSONValue.array(entries))
                    return
                }
                for entry in entries {
                    let bytes: Int64 = entry["bytes"].flatMap { if case .integer(let n) = $0 { n } else { nil } } ?? 0
                    let megabytes = Double(bytes) / 1_048_576
                    let age = entry["ageSeconds"].flatMap { if case .integer(let n) = $0 { n } else { nil } }.map { "\($0 / 3600) h" } ?? "-"
                    print("\(entry["cacheDirectory"]?.stringValue ?? "?")  \(entry["policy"]?.stringValue ?? "?")  \(entry["files"]?.jsonText ?? "0") files  \(String(format: "%.1f", megabytes)) MiB  age \(age)")
                }
            }
        }

        struct Fetch: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Fetch (or revalidate) a profile's boot files under its caching policy.",
                discussion: "Each download shows its bytes, rate and time left on stderr: a live line on a terminal, a line every 5 s otherwise, nothing with --json.")
            @Option(help: ArgumentHelp("The PXE profile (JSON or YAML).", valueName: "file")) var profile: String
            @OptionGroup var options: ConfigurationOptions
            @OptionGroup var output: OutputOptions

            func run() async throws {
                let parsed = try PXEProfile(try PXECommand.load(profile))
                let downloads = DownloadProgressView(display: ProgressDisplay(json: output.json), label: parsed.cacheDirectory)
                let result = try await exitingOnFailure {
                    do {
                        return try await Cache.open(options, progress: downloads.show).prepare(parsed)
                    } catch {
                        downloads.display.abandon()
                        throw error
                    }
                }
                if output.json {
                    try Self.printJSON([
                        "cacheDirectory": .string(parsed.cacheDirectory), "downloaded": .array(result.downloaded.map(JSONValue.string)),
                        "revalidated": .array(result.revalidated.map(JSONValue.string)), "reused": .array(result.reused.map(JSONValue.string)),
                    ] as JSONValue)
                    return
                }
                print("\(parsed.cacheDirectory): \(result.downloaded.count) downloaded, \(result.revalidated.count) revalidated, \(result.reused.count) reused")
            }
        }

        struct Clear: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove one cache directory.")
            @Argument(help: "The cacheDirectory.") var cacheDirectory: String
            @OptionGroup var options: ConfigurationOptions

            func run() async throws {
                guard try await Cache.open(options).clear(cacheDirectory) else { throw CommandFailure(message: "\(cacheDirectory) is not cached") }
                print("\(cacheDirectory) cleared")
            }
        }
    }

    struct Inventory: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Normalise a hardware detection report (what scripts/hwdetect.sh posts) into the seed's inventory components.")
        @Option(help: ArgumentHelp("The report (JSON).", valueName: "file")) var report: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let inventory = try HardwareInventory.normalize(try PXECommand.load(report))
            if output.json {
                try Self.printJSON(inventory)
                return
            }
            for key in ["mainboard", "cpu", "memory", "disk"] {
                let item = inventory[key]
                print("\(key.padding(toLength: 10, withPad: " ", startingAt: 0)) \(item?["model"]?.stringValue ?? "?")  \(item?["value"].map { $0.stringValue ?? $0.jsonText } ?? "")\(item?["valueType"]?.stringValue.map { " \($0)" } ?? "")  ×\(item?["count"]?.jsonText ?? "0")")
            }
            print("facts      \(inventory["facts"]?.jsonText ?? "{}")")
        }
    }
}

extension JSONValue {
    /// What Yams loads (JSON is YAML too) as a JSON value.
    init(yamlValue value: Any, path: String) throws {
        switch value {
        case let text as String: self = .string(text)
        case let flag as Bool: self = .bool(flag)
        case let number as Int: self = .integer(Int64(number))
        case let number as Double: self = .double(number)
        case let items as [Any]: self = .array(try items.map { try JSONValue(yamlValue: $0, path: path) })
        case let members as [String: Any]: self = .object(try members.mapValues { try JSONValue(yamlValue: $0, path: path) })
        case is NSNull: self = .null
        default: throw CommandFailure(message: "\(path): unsupported YAML value \(value)")
        }
    }
}
