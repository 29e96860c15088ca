import AgentCore
import CNetSNMP
import Console
import Dispatch
import Foundation
import IPMI
import Logging
import PDU
import Providers
import Provisioning
import Redfish
import SNMP
import SwitchSSH

/// One parser the agent runs on text it does not control, driven by an arbitrary input. A target only calls the
/// parser: a trap (an index out of range, a force unwrap, an overflow) or a hang is the finding; thrown errors are the
/// parser doing its job.
struct FuzzTarget: Sendable {
    let name: String
    /// What the input is, for the seed corpus and for a reader of a crash report.
    let input: String
    let run: @Sendable ([UInt8]) -> Void
}

/// Every target, by name. `make fuzz` runs each for a bounded time; `rackagent-fuzz replay` runs saved inputs
/// through them in an ordinary build (the regression tests do).
enum FuzzTargets {
    static let all: [FuzzTarget] = ipmi + snmp + switches + providers + redfish + provisioning + validators

    static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }

    // MARK: ipmitool output

    static let ipmi: [FuzzTarget] = [
        text("ipmi-chassis-power", "`ipmitool chassis status` / `power status` output") { _ = IPMIOutputParser.chassisPower($0) },
        text("ipmi-restart-cause", "`ipmitool chassis restart_cause` output") { _ = IPMIOutputParser.restartCause($0) },
        text("ipmi-boot-flags", "`ipmitool chassis bootparam get 5` output") { _ = IPMIOutputParser.bootFlags($0) },
        text("ipmi-users", "`ipmitool user list` output") { _ = IPMIOutputParser.users($0) },
        text("ipmi-sensors", "`ipmitool sensor` / `sdr` output") { _ = IPMIOutputParser.sensors($0) },
        text("ipmi-sel", "`ipmitool sel list` / `sel info` output") { output in
            for entry in IPMIOutputParser.selEntries(output) { _ = IPMIOutputParser.isRestartEvent(entry) }
            _ = IPMIOutputParser.selMark(output)
        },
        text("ipmi-fru", "`ipmitool fru print` output") { _ = IPMIOutputParser.fruDevices($0) },
        text("ipmi-lan", "`ipmitool lan print` / `channel getaccess` output") { output in
            _ = IPMIOutputParser.keyValues(output)
            _ = IPMIOutputParser.channelAccess(output)
        },
    ]

    // MARK: SNMP

    static let snmp: [FuzzTarget] = [
        FuzzTarget(name: "snmp-value-decoding", input: "a BER-encoded SNMP PDU, as a device sends it") { bytes in
            SNMPPacket.decode(bytes)
        },
        text("snmp-interface-table", "an snmprec capture (oid|tag|value lines): the IF-MIB port list and counter tables") { text in
            let walked = Snmprec.columns(text, under: InterfaceMIB.portColumns + CounterTable.columns(.bits32) + CounterTable.columns(.bits64))
            _ = InterfacePort.ports(from: walked)
            for width in [CounterWidth.bits32, .bits64] {
                _ = CounterTable.counters(walked, width: width)
                _ = CounterTable.counters(walked, width: width, flip: true)
            }
        },
        text("snmp-oid", "a dotted OID as typed in a request or a capture") { text in
            guard let oid = OID(text) else { return }
            _ = oid.description
            _ = oid.isAncestor(of: InterfaceMIB.ifDescr)
        },
        FuzzTarget(name: "counter-math", input: "two readings of a port's counters, any widths, times and uptimes") { bytes in
            var input = FuzzInput(bytes)
            let width: CounterWidth = input.bool() ? .bits64 : .bits32
            let previous = PortCounters(
                ifIndex: Int(input.uint32()), inOctets: input.uint64(), outOctets: input.uint64(), width: width, speedMbps: input.uint64(),
                discontinuityTime: input.bool() ? input.uint64() : nil)
            let current = PortCounters(
                ifIndex: previous.ifIndex, inOctets: input.uint64(), outOctets: input.uint64(), width: input.bool() ? .bits64 : .bits32,
                speedMbps: input.uint64(), discontinuityTime: input.bool() ? input.uint64() : nil)
            let start = Date(timeIntervalSince1970: input.double(in: -1e10...1e10))
            let end = start.addingTimeInterval(input.double(in: -1e9...1e9))
            let baseline = PortBaseline(counters: previous, time: start, sysUpTime: input.uint32(), present: input.bool())
            _ = CounterMath.decide(previous: input.bool() ? baseline : nil, current: current, time: end, sysUpTime: input.uint32())
            _ = CounterMath.difference(from: previous.inOctets, to: current.inOctets, width: width)
            _ = CounterMath.isUptimeWrap(previous: input.uint32(), current: input.uint32(), elapsed: input.double(in: -1e9...1e9))
            // As the store calls it: spans that `decide` turned into a sample (at most maximumSampleSeconds), 5-minute buckets.
            let span = input.double(in: 0...CounterMath.maximumSampleSeconds)
            _ = CounterMath.apportion(input.uint64(), from: start, to: start.addingTimeInterval(span), bucketSeconds: 300)
            _ = Percentile.ninetyFifth((0..<Int(input.uint32() % 64)).map { _ in input.double(in: -1e12...1e12) })
        },
        text("pdu-outlet-state", "an outlet state value as a PDU answers it, for every catalogued family") { text in
            for deviceType in DeviceTypeCatalogue.deviceTypes {
                guard case .outlets(let dialects)? = DeviceTypeCatalogue.support(deviceType) else { continue }
                for dialect in dialects {
                    _ = dialect.state(.octets(Array(text.utf8)))
                    _ = dialect.state(.integer(Int64(text) ?? 0))
                }
            }
        },
    ]

    // MARK: Switch CLI

    static let switches: [FuzzTarget] = [
        text("cli-prompt-and-pager", "what a switch prints before its prompt: escapes, backspaces, pagers, prompts") { text in
            let cleaned = CLISession.clean(text)
            let last = CLISession.lastLine(cleaned)
            for vendor in ["aristaSsh", "ciscoNxosSsh", "dellOs10Ssh", "ciscoIosSsh", "juniperSsh"] {
                guard let conventions = SwitchDialects.dialect(for: vendor)?.conventions else { continue }
                for pattern in [conventions.promptPattern, conventions.pagerPattern] + conventions.errorPatterns + conventions.noisePatterns {
                    guard let expression = try? NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines]) else { continue }
                    _ = expression.firstMatch(in: last, range: NSRange(last.startIndex..., in: last))
                    _ = expression.firstMatch(in: cleaned, range: NSRange(cleaned.startIndex..., in: cleaned))
                }
            }
        },
        parts("switch-arista", "`show interfaces ... | json`, `show interfaces switchport | json`, `show vlan | json` (NUL-separated)") { part in
            _ = try? AristaEOSDialect.parseInterface(name: "Ethernet1", status: part(0), switchport: part(1))
            _ = try? AristaEOSDialect.parseVLANs(part(2), svis: part(3))
            _ = readThroughDialect("aristaSsh", part)
        },
        parts("switch-nxos", "NX-OS `| json` interface, switchport and VLAN output (NUL-separated)") { part in
            _ = try? CiscoNXOSDialect.parseInterface(name: "Ethernet1/1", status: part(0), switchport: part(1))
            _ = try? CiscoNXOSDialect.parseVLANs(part(2), svis: part(3))
            _ = readThroughDialect("ciscoNxosSsh", part)
        },
        parts("switch-os10", "OS10 `| display-xml` interface XML, running configuration, VLAN XML (NUL-separated)") { part in
            _ = try? DellOS10Dialect.parseInterface(name: "ethernet1/1/1", xml: part(0), configuration: part(1))
            _ = DellOS10Dialect.parseVLANs(part(2))
            _ = readThroughDialect("dellOs10Ssh", part)
        },
        parts("switch-ios", "IOS running configuration of an interface, `show vlan brief`, SVI configuration (NUL-separated)") { part in
            _ = try? CiscoIOSDialect.parseInterface(name: "GigabitEthernet1/0/1", configuration: part(0))
            _ = CiscoIOSDialect.parseVLANs(part(1), svis: part(2))
            _ = IOSFamily.parseSVIs(part(2))
            _ = readThroughDialect("ciscoIosSsh", part)
        },
        parts("switch-junos", "Junos `show configuration ... | display json` or `| display xml` (NUL-separated)") { part in
            for text in [part(0), part(1)] {
                let configuration = (try? JSONCoding.decoder.decode(JSONValue.self, from: Data(text.utf8)))
                    ?? (try? JunosDialect.xmlConfiguration(text, command: "show configuration"))
                guard let configuration else { continue }
                let vlans = JunosDialect.parseVLANs(configuration, irb: configuration)
                _ = try? JunosDialect.parseInterface(name: "ge-0/0/1", configuration: configuration, vlans: vlans)
            }
            _ = readThroughDialect("juniperSsh", part)
        },
    ]

    /// A dialect's whole read path (probe, interface, VLANs) with the switch answering each command with the next part.
    static func readThroughDialect(_ vendor: String, _ part: @escaping @Sendable (Int) -> String) -> Bool {
        guard let dialect = SwitchDialects.dialect(for: vendor) else { return false }
        let switchCLI = ScriptedCLI(part)
        return blocking {
            _ = try? await dialect.readInterface(dialect is JunosDialect ? "ge-0/0/1" : "Ethernet1", using: switchCLI)
            _ = try? await dialect.readVLANs(using: switchCLI)
            return true
        }
    }

    // MARK: Providers

    static let providers: [FuzzTarget] = [
        text("cloudsigma-text", "CloudSigma's key-value text answers") { text in
            _ = CloudSigmaText.objects(text)
            _ = CloudSigmaText.object(text)
            _ = CloudSigmaText.list(text)
            _ = CloudSigmaText.errors(text)
        },
        FuzzTarget(name: "provider-answers", input: "a provider API answer: byte 0 picks the HTTP status, byte 1 the provider, byte 2 the call; the rest is the body") { bytes in
            var header = FuzzInput(Array(bytes.prefix(3)))
            // No 429: the client rightly waits out a rate limit, seconds the fuzzer would spend idle.
            let status = [200, 201, 202, 400, 401, 404, 409, 500][Int(header.byte()) % 8]
            let type = ProviderType.allCases[Int(header.byte()) % ProviderType.allCases.count]
            let call = Int(header.byte())
            let http = ProviderHTTPClient(
                provider: type, transport: FixedAnswer(status: status, body: Array(bytes.dropFirst(3))), bucket: TokenBucket(ratePerSecond: 1e9),
                timeout: .seconds(5), maximumAttempts: 1, logger: quiet)
            let account = ProviderAccount(type: type, baseURL: "http://127.0.0.1:9", credential: Secret("fuzz-credential"), username: "fuzz@example.com")
            let driver: any ProviderDriver
            switch type {
            case .ionos: driver = IONOSDriver(account: account, http: http)
            case .venocix: driver = VenocixDriver(account: account, kind: call & 0x80 == 0 ? .vm : .dedicated, http: http)
            case .cloudsigma: driver = CloudSigmaDriver(account: account, http: http)
            }
            _ = blocking {
                switch call % 7 {
                case 0: _ = try? await driver.listServers()
                case 1: _ = try? await driver.status(serverId: "1")
                case 2: _ = try? await driver.templates()
                case 3: _ = try? await driver.traffic(serverId: "1")
                case 4: _ = try? await driver.console(serverId: "1")
                case 5: _ = try? await driver.isoImages(serverId: "1")
                default: _ = try? await driver.insertedISO(serverId: "1")
                }
                return true
            }
        },
    ]

    // MARK: Redfish

    static let redfish: [FuzzTarget] = [
        FuzzTarget(name: "redfish-documents", input: "a Redfish JSON document, read as every resource the agent reads") { bytes in
            guard let document = try? JSONCoding.decoder.decode(JSONValue.self, from: Data(bytes)) else { return }
            _ = ServiceRoot(document)
            let system = ComputerSystem(path: "/redfish/v1/Systems/1", document: document)
            _ = ManagerResource(path: "/redfish/v1/Managers/1", document: document)
            _ = ActionInfo.allowedValues(document)
            var inventory = RedfishInventory(system: system)
            inventory.processors = RedfishInventory.processor(document).map { [$0] } ?? []
            inventory.memory = RedfishInventory.memoryModule(document).map { [$0] } ?? []
            inventory.networkInterfaces = RedfishInventory.networkInterface(document).map { [$0] } ?? []
            inventory.drives = RedfishInventory.drive(document).map { [$0] } ?? []
            _ = try? JSONValue(encoding: inventory)
            _ = SensorReading.thermal(document) + SensorReading.power(document)
            _ = RedfishLogEntry(document)
            _ = try? document.decode(as: RedfishConnection.self, at: "connection.meta")
            for text in strings(in: document).prefix(64) {
                _ = RedfishPath.checked(text)
                _ = ResetType.advertised([text])
                _ = CertificateFingerprint.normalised(text)
            }
        },
    ]

    /// Every string value of a document, depth first.
    static func strings(in value: JSONValue) -> [String] {
        switch value {
        case .string(let text): return [text]
        case .array(let values): return values.flatMap(strings)
        case .object(let members): return members.values.flatMap(strings)
        default: return []
        }
    }

    // MARK: Installations, inventory, templates, request bodies

    static let provisioning: [FuzzTarget] = [
        FuzzTarget(name: "hardware-inventory", input: "a hardware detection report (JSON) as scripts/hwdetect.sh posts it") { bytes in
            guard let report = try? JSONCoding.decoder.decode(JSONValue.self, from: Data(bytes)) else {
                _ = HardwareInventory.dmiRecords(String(decoding: bytes, as: UTF8.self))
                return
            }
            _ = try? HardwareInventory.normalize(report)
        },
        text("xml-tree", "any text read as XML: switch answers and rendered answer files, whole (document type included)") { text in
            _ = XMLTree.parse(text)
        },
        text("template-engine", "a controller-supplied template (mustache), rendered with an installation's context") { source in
            _ = try? TemplateEngine().render(source, name: "fuzz", context: templateContext)
        },
        FuzzTarget(name: "request-bodies", input: "a JSON request body, decoded as each body the API takes") { bytes in
            guard let body = try? JSONCoding.decoder.decode(JSONValue.self, from: Data(bytes)) else { return }
            _ = try? body.decode(as: NetworkDevice.self, at: "")
            _ = try? body.decode(as: IPMIConnection.self, at: "connection")
            _ = try? body.decode(as: DHCPEntryRequest.self, at: "")
            _ = try? body.decode(as: [PortAssignment].self, at: "assignments")
            _ = try? ConsoleRequest.decode(body)
            _ = try? InstallationRequest(serverId: "1", body: body)
            if case .object(let members) = body, case .object(let meta)? = members["meta"] {
                for type in ProviderType.allCases { _ = try? ProviderConnection(type: type, meta: .object(meta), path: "connection.meta") }
            }
        },
        text("yaml-configuration", "an agent.yaml") { text in
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("rackagent-fuzz-\(getpid()).yaml").path
            guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else { return }
            _ = try? ConfigurationLoader(environment: [:]).load(path: path, required: true)
        },
    ]

    static let validators: [FuzzTarget] = [
        text("address-validators", "a MAC, an IP address or network, a host name, host:port, a boot file name") { text in
            _ = MACAddress(text)
            _ = IPAddress(text)
            _ = IPNetwork(text)
            _ = Validation.isHostName(text)
            _ = try? Validation.hostAndPort(text, defaultPort: 623, field: "host")
            _ = Validation.isBootFile(text)
            _ = Validation.isInterfaceName(text)
            _ = Validation.isPlainPath(text)
            _ = try? Validation.noControlCharacters(text, field: "name")
        },
    ]

    // MARK: Helpers

    static let quiet: Logger = {
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        return logger
    }()

    /// The context an installation's templates see, with the fields the seed documents.
    static let templateContext: JSONValue = [
        "hostname": "node1.example.com", "rootpassword_hash": "$6$salt$hash", "server": ["id": "1", "name": "node1", "tags": ["a", "b"]],
        "ipassignments": [["ip": "192.0.2.10", "primary_ip": 1, "subnetinformation": ["netmask": "255.255.255.0", "gateway": "192.0.2.1"]]],
        "disklayout": ["partitions": [["mountpoint": "/", "size": 0, "fstype": "ext4"]]], "scripts": [["id": 1, "name": "upgrade"]],
    ]

    static func text(_ name: String, _ input: String, _ body: @escaping @Sendable (String) -> Void) -> FuzzTarget {
        FuzzTarget(name: name, input: input) { bytes in body(String(decoding: bytes, as: UTF8.self)) }
    }

    /// Several texts in one input, separated by NUL bytes; a missing part is empty.
    static func parts(_ name: String, _ input: String, _ body: @escaping @Sendable (@escaping @Sendable (Int) -> String) -> Void) -> FuzzTarget {
        FuzzTarget(name: name, input: input) { bytes in
            let pieces = bytes.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            body { index in index < pieces.count ? pieces[index] : "" }
        }
    }
}

/// Runs async work to its end from the fuzzer's synchronous callback.
func blocking<Value: Sendable>(_ work: @escaping @Sendable () async -> Value) -> Value {
    let done = DispatchSemaphore(value: 0)
    let result = ResultBox<Value>()
    Task {
        result.value = await work()
        done.signal()
    }
    done.wait()
    return result.value!
}

private final class ResultBox<Value>: @unchecked Sendable {
    var value: Value?
}

/// A switch that answers each command with the next part of the input, in turn.
final class ScriptedCLI: CLICommandRunner, @unchecked Sendable {
    let part: @Sendable (Int) -> String
    private var next = 0
    private var facts: Set<String> = []
    private let lock = NSLock()

    init(_ part: @escaping @Sendable (Int) -> String) {
        self.part = part
    }

    func run(_ command: String) async throws -> String {
        let index = lock.withLock {
            defer { next += 1 }
            return next % 8
        }
        return part(index)
    }

    func knows(_ fact: String) -> Bool { lock.withLock { facts.contains(fact) } }
    func learn(_ fact: String) { _ = lock.withLock { facts.insert(fact) } }
}

/// A provider API that answers every request with the same status and body.
struct FixedAnswer: ProviderTransport {
    let status: Int
    let body: [UInt8]

    func send(_ request: ProviderRequest, timeout: Duration) async throws -> ProviderResponse {
        ProviderResponse(status: status, headers: [("Content-Type", "application/json")], body: body)
    }
}

/// Reads numbers from the input, zero once it is used up.
struct FuzzInput {
    var bytes: ArraySlice<UInt8>

    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    mutating func uint64() -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(bytes.popFirst() ?? 0) }
        return value
    }

    mutating func uint32() -> UInt32 { UInt32(truncatingIfNeeded: uint64() >> 32) }
    mutating func byte() -> UInt8 { bytes.popFirst() ?? 0 }
    mutating func bool() -> Bool { (bytes.popFirst() ?? 0) & 1 == 1 }

    /// A finite double in `range` (NaN and infinities are not readings).
    mutating func double(in range: ClosedRange<Double>) -> Double {
        let fraction = Double(uint64()) / Double(UInt64.max)
        return range.lowerBound + (range.upperBound - range.lowerBound) * fraction
    }
}

/// snmprec captures (snmpsim's format: `oid|tag|value`, `x` after the tag for hex) as walked columns.
enum Snmprec {
    static func bindings(_ text: String) -> [VariableBinding] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: "|", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, let oid = OID(String(fields[0])) else { return nil }
            let tag = fields[1].hasSuffix("x") ? fields[1].dropLast() : fields[1]
            let raw = String(fields[2])
            let octets: [UInt8] = fields[1].hasSuffix("x") ? hex(raw) : Array(raw.utf8)
            let value: SNMPValue
            switch tag {
            case "2": value = .integer(Int64(raw) ?? 0)
            case "4": value = .octets(octets)
            case "5": value = .null
            case "6": value = OID(raw).map(SNMPValue.objectIdentifier) ?? .null
            case "64": value = .ipAddress(octets)
            case "65": value = .counter32(UInt32(raw) ?? 0)
            case "66": value = .gauge32(UInt32(raw) ?? 0)
            case "67": value = .timeTicks(UInt32(raw) ?? 0)
            case "68": value = .opaque(octets)
            case "70": value = .counter64(UInt64(raw) ?? 0)
            default: value = .noSuchObject
            }
            return VariableBinding(oid: oid, value: value)
        }
    }

    /// The bindings under each column, in OID order, as a walk returns them.
    static func columns(_ text: String, under columns: [OID]) -> [OID: [VariableBinding]] {
        var walked: [OID: [VariableBinding]] = [:]
        for binding in bindings(text).sorted(by: { $0.oid < $1.oid }) {
            guard let column = columns.first(where: { $0.isAncestor(of: binding.oid) }) else { continue }
            walked[column, default: []].append(binding)
        }
        return walked
    }

    static func hex(_ text: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex, let next = text.index(index, offsetBy: 2, limitedBy: text.endIndex) {
            if let byte = UInt8(text[index..<next], radix: 16) { bytes.append(byte) }
            index = next
        }
        return bytes
    }
}

/// SNMP answers as they arrive: net-snmp parses the BER, the agent turns its variables into values.
enum SNMPPacket {
    static func decode(_ bytes: [UInt8]) {
        guard !bytes.isEmpty, let pdu = snmp_pdu_create(RA_MSG_GET) else { return }
        defer { snmp_free_pdu(pdu) }
        var data = bytes
        var length = data.count
        _ = data.withUnsafeMutableBufferPointer { snmp_pdu_parse(pdu, $0.baseAddress, &length) }
        _ = SNMPSession.bindings(of: pdu)
    }
}
