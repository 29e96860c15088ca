import AgentCore
import ArgumentParser
import Foundation
import SNMP
import Synchronization

struct SNMPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snmp",
        abstract: "Query a device over SNMP the way the agent does (net-snmp, numeric OIDs, no MIB files).",
        discussion: "The community or v3 passphrases come from files or environment variables, never plain flags.",
        subcommands: [Get.self, Walk.self, Ports.self, Poll.self]
    )

    struct TargetOptions: ParsableArguments {
        @Option(help: "Device address: name, IPv4 or IPv6, optionally :port / [v6]:port.") var host: String
        @Option(name: [.customShort("v"), .long], help: "SNMP version: 1, 2c or 3.") var version = "2c"
        @Option(name: .customLong("community-file"), help: ArgumentHelp("File holding the community.", valueName: "file")) var communityFile: String?
        @Option(name: .customLong("community-env"), help: ArgumentHelp("Variable holding the community.", valueName: "name")) var communityEnvironment: String?
        @Option(help: "SNMPv3 user.") var user: String?
        @Option(help: "SNMPv3 level: noAuthNoPriv, authNoPriv, authPriv.") var level = "authPriv"
        @Option(name: .customLong("auth"), help: "SNMPv3 authentication: MD5, SHA, SHA-224, SHA-256, SHA-384, SHA-512.") var authentication = "SHA"
        @Option(name: .customLong("auth-pass-file"), help: ArgumentHelp("File holding the authentication passphrase.", valueName: "file")) var authenticationFile: String?
        @Option(name: .customLong("auth-pass-env"), help: ArgumentHelp("Variable holding the authentication passphrase.", valueName: "name")) var authenticationEnvironment: String?
        @Option(name: .customLong("priv"), help: "SNMPv3 privacy: DES, AES, AES-192, AES-256.") var privacy = "AES"
        @Option(name: .customLong("priv-pass-file"), help: ArgumentHelp("File holding the privacy passphrase.", valueName: "file")) var privacyFile: String?
        @Option(name: .customLong("priv-pass-env"), help: ArgumentHelp("Variable holding the privacy passphrase.", valueName: "name")) var privacyEnvironment: String?
        @Option(help: "SNMPv3 context name.") var context: String?
        @Option(help: "Seconds per attempt.") var timeout = 2.0
        @Option(help: "Retries.") var retries = 1
        @Option(name: .customLong("max-repetitions"), help: "GETBULK max-repetitions.") var maxRepetitions = 32
        @OptionGroup var output: OutputOptions

        /// The same fields the API takes, so the CLI validates exactly like a PUT would.
        func device() throws -> NetworkDevice {
            var document: [String: JSONValue] = ["id": "cli", "deviceType": "snmp_switch", "name": "cli", "host": .string(host), "snmpVersion": .string(version)]
            if version == "3" {
                document["snmpUsername"] = user.map(JSONValue.string) ?? .null
                document["snmpAuthLevel"] = .string(level)
                if level != "noAuthNoPriv" {
                    document["snmpAuthAlgo"] = .string(authentication)
                    document["snmpAuthPassword"] = .string(try SecretSource(file: authenticationFile, environment: authenticationEnvironment, prompt: "Authentication passphrase: ").read().revealed)
                }
                if level == "authPriv" {
                    document["snmpCryptoAlgo"] = .string(privacy)
                    document["snmpCryptoPassword"] = .string(try SecretSource(file: privacyFile, environment: privacyEnvironment, prompt: "Privacy passphrase: ").read().revealed)
                }
                if let context { document["meta"] = ["snmpContext": .string(context)] }
            } else {
                document["snmpCommunity"] = .string(try SecretSource(file: communityFile, environment: communityEnvironment, prompt: "Community: ").read().revealed)
            }
            return try JSONValue.object(document).decode(as: NetworkDevice.self, at: "")
        }

        func target() throws -> SNMPTarget {
            var settings = SNMPConfiguration()
            settings.timeoutSeconds = timeout
            settings.retries = retries
            settings.maxRepetitions = maxRepetitions
            return try device().snmpTarget(settings: settings)
        }

        func run<Value: Encodable & Sendable>(_ work: @escaping @Sendable (SNMPSession) throws -> Value, human: (Value) -> String) async throws {
            let client = SNMPClient(threads: 1)
            do {
                let value = try await client.withSession(try target(), work)
                await client.shutdown()
                if output.json { try RackAgentCommand.printJSON(value) } else { print(human(value)) }
            } catch {
                await client.shutdown()
                let agentError = AgentError.from(error)
                FileHandle.standardError.write(Data("error (\(agentError.code)): \(agentError.message)\n".utf8))
                throw ExitCode(1)
            }
        }
    }

    /// A binding as the CLI prints it.
    struct Binding: Encodable, Sendable {
        let oid: String
        let type: String
        let value: String

        init(_ binding: VariableBinding) {
            oid = binding.oid.description
            switch binding.value {
            case .integer: type = "INTEGER"
            case .octets: type = "STRING"
            case .counter32: type = "Counter32"
            case .counter64: type = "Counter64"
            case .gauge32: type = "Gauge32"
            case .timeTicks: type = "Timeticks"
            case .objectIdentifier: type = "OID"
            case .ipAddress: type = "IpAddress"
            case .null: type = "NULL"
            case .opaque: type = "Opaque"
            case .noSuchObject: type = "noSuchObject"
            case .noSuchInstance: type = "noSuchInstance"
            case .endOfMibView: type = "endOfMibView"
            }
            value = binding.value.text ?? ""
        }

        var line: String { "\(oid) = \(type): \(value)" }
    }

    static func parse(_ texts: [String]) throws -> [OID] {
        try texts.map { text in
            guard let oid = OID(text) else { throw ValidationError("\(text) is not a numeric OID") }
            return oid
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "GET one or more numeric OIDs.")
        @Argument(help: "Numeric OIDs, e.g. 1.3.6.1.2.1.1.5.0") var oids: [String]
        @OptionGroup var options: TargetOptions

        func run() async throws {
            let oids = try SNMPCommand.parse(self.oids)
            try await options.run({ try $0.get(oids).map(Binding.init) }) { $0.map(\.line).joined(separator: "\n") }
        }
    }

    struct Walk: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Walk a subtree (GETBULK on v2c/v3, GETNEXT on v1).",
            discussion: "The values so far and the rate show on stderr while it walks: a live line on a terminal, a line every 5 s otherwise, nothing with --json.")
        @Argument(help: "Numeric root OID.") var root: String
        @OptionGroup var options: TargetOptions

        func run() async throws {
            guard let root = OID(root) else { throw ValidationError("\(self.root) is not a numeric OID") }
            let display = ProgressDisplay(json: options.output.json)
            let meter = Mutex(ProgressMeter(label: "walk \(root)", unit: .items("values")))
            try await options.run({ session in
                do {
                    let values = try session.walk(root) { count in
                        display.update(meter.withLock { meter in
                            meter.record(Int64(count))
                            return meter
                        })
                    }
                    display.finish(meter.withLock { $0 })
                    return values.map(Binding.init)
                } catch {
                    display.abandon()
                    throw error
                }
            }) { $0.map(\.line).joined(separator: "\n") }
        }
    }

    struct Ports: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The interface list as the API returns it (IF-MIB).")
        @OptionGroup var options: TargetOptions

        func run() async throws {
            try await options.run({ InterfacePort.ports(from: try $0.walkColumns(InterfaceMIB.portColumns)) }) { ports in
                ports.map { "\(String($0.id).padding(toLength: 6, withPad: " ", startingAt: 0)) \($0.name.padding(toLength: 24, withPad: " ", startingAt: 0)) admin \($0.portAdminStatus) oper \($0.portOperStatus) \($0.linkSpeed) Mbit/s \($0.alias)" }
                    .joined(separator: "\n")
            }
        }
    }

    struct Poll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the octet counters twice and print per-port rates, with the agent's counter maths.")
        @Option(help: "Seconds between the two readings.") var interval = 5.0
        @OptionGroup var options: TargetOptions

        struct Rate: Encodable, Sendable {
            let portId: Int
            let counterWidth: Int
            let inBitsPerSecond: Double?
            let outBitsPerSecond: Double?
            let dropped: String?
        }

        func run() async throws {
            let interval = self.interval
            try await options.run({ session in
                let first = try Self.read(session)
                Thread.sleep(forTimeInterval: interval)
                let second = try Self.read(session)
                return second.ports.map { counters -> Rate in
                    let previous = first.ports.first { $0.ifIndex == counters.ifIndex }.map {
                        PortBaseline(counters: $0, time: first.time, sysUpTime: first.uptime)
                    }
                    switch CounterMath.decide(previous: previous, current: counters, time: second.time, sysUpTime: second.uptime) {
                    case .delta(let received, let sent, let seconds):
                        return Rate(portId: counters.ifIndex, counterWidth: counters.width.rawValue, inBitsPerSecond: Double(received) * 8 / seconds,
                                    outBitsPerSecond: Double(sent) * 8 / seconds, dropped: nil)
                    case .dropped(let reason):
                        return Rate(portId: counters.ifIndex, counterWidth: counters.width.rawValue, inBitsPerSecond: nil, outBitsPerSecond: nil, dropped: reason)
                    case .baseline:
                        return Rate(portId: counters.ifIndex, counterWidth: counters.width.rawValue, inBitsPerSecond: nil, outBitsPerSecond: nil, dropped: "new port")
                    }
                }
            }) { (rates: [Rate]) -> String in
                rates.map { rate in
                    rate.dropped.map { "\(rate.portId): dropped (\($0))" }
                        ?? String(format: "%d: in %.0f bit/s, out %.0f bit/s (%d-bit counters)", rate.portId, rate.inBitsPerSecond ?? 0, rate.outBitsPerSecond ?? 0, rate.counterWidth)
                }.joined(separator: "\n")
            }
        }

        static func read(_ session: SNMPSession) throws -> (time: Date, uptime: UInt32, ports: [PortCounters]) {
            let uptime = UInt32(truncatingIfNeeded: try session.get([InterfaceMIB.sysUpTime]).first?.value.unsigned ?? 0)
            let columns = try session.walkColumns([InterfaceMIB.ifHCInOctets, InterfaceMIB.ifHCOutOctets, InterfaceMIB.ifHighSpeed])
            var ports = CounterTable.counters(columns, width: .bits64)
            if ports.isEmpty {
                ports = CounterTable.counters(try session.walkColumns([InterfaceMIB.ifInOctets, InterfaceMIB.ifOutOctets, InterfaceMIB.ifSpeed]), width: .bits32)
            }
            return (Date(), uptime, ports)
        }
    }
}
