import AgentCore
import Foundation
import SNMP
import Synchronization

/// Outlets of registered PDUs: list them, switch them, and verify every switch by reading the state back.
public struct PDUService: Sendable {
    /// Finds a registered device by id (the agent's registry; the CLI has none).
    public typealias Lookup = @Sendable (String) async throws -> NetworkDevice

    let client: SNMPClient
    let lookup: Lookup
    let settings: SNMPConfiguration
    /// How long a cycled outlet stays off.
    let cycleDelay: Duration
    /// How long a switch may take to show in the state column.
    let verifyTimeout: Duration
    /// Which candidate dialect each device answered (by device id, type and host).
    private let chosen = DialectChoices()

    public init(client: SNMPClient, settings: SNMPConfiguration, cycleDelay: Duration = .seconds(5), verifyTimeout: Duration = .seconds(10),
                lookup: @escaping Lookup) {
        self.client = client
        self.lookup = lookup
        self.settings = settings
        self.cycleDelay = cycleDelay
        self.verifyTimeout = verifyTimeout
    }

    /// The outlet dialects a device's type may speak; a type without outlets answers why (422).
    static func outletCandidates(_ device: NetworkDevice) throws -> [OutletDialect] {
        switch DeviceTypeCatalogue.support(device.deviceType) {
        case .outlets(let candidates)?:
            return candidates
        case .transferSwitch?:
            throw AgentError.unsupported(
                "an automatic transfer switch has no outlets to switch; its sources are under /v1/network-devices/\(device.id)/ats",
                details: ["deviceType": .string(device.deviceType)])
        case .consolePorts?:
            throw AgentError.unsupported(
                "a console switch has no outlets; its ports are under /v1/network-devices/\(device.id)/console-ports",
                details: ["deviceType": .string(device.deviceType)])
        case .unsupported(let reason)?:
            throw AgentError.unsupported(reason, details: ["deviceType": .string(device.deviceType)])
        case nil:
            throw AgentError.unsupported("device type \(device.deviceType) has no outlets", details: ["deviceType": .string(device.deviceType)])
        }
    }

    /// Fails (404, 422) unless the device is registered and its type has outlets; no SNMP traffic.
    public func checkHasOutlets(_ deviceId: String) async throws {
        _ = try Self.outletCandidates(try await lookup(deviceId))
    }

    /// The outlet dialect of a device: its type's only one, or the first of its candidates whose outlet table the
    /// device answers (remembered per device).
    func dialect(_ device: NetworkDevice) async throws -> OutletDialect {
        let candidates = try Self.outletCandidates(device)
        if candidates.count == 1 { return candidates[0] }
        let key = "\(device.id)|\(device.deviceType)|\(device.host)"
        if let known = chosen[key] { return candidates[known] }
        let target = try device.snmpTarget(settings: settings)
        for (index, candidate) in candidates.enumerated() {
            for column in candidate.nameColumns {
                let next = try await client.getNext(target, [column])
                if let first = next.first, column.isAncestor(of: first.oid) {
                    chosen[key] = index
                    return candidate
                }
            }
        }
        throw AgentError(
            status: .badGateway, code: "pdu_unrecognised",
            message: "\(device.host) answers none of the outlet tables of \(device.deviceType) (\(candidates.map(\.family).joined(separator: ", ")))",
            details: ["deviceType": .string(device.deviceType)])
    }

    /// Every outlet with its name, state and meters, and the PDU's own load.
    public func outlets(_ deviceId: String) async throws -> OutletListing {
        try await outlets(of: try await lookup(deviceId))
    }

    /// Every outlet of a PDU given in full (the CLI's, not registered).
    public func outlets(of device: NetworkDevice) async throws -> OutletListing {
        let dialect = try await dialect(device)
        let target = try device.snmpTarget(settings: settings)
        let rows = try await self.rows(device, dialect)
        let states = try await client.walk(target, dialect.stateColumn)
        var stateByInstance: [[UInt]: OutletState] = [:]
        for binding in states {
            let suffix = dialect.stateColumn.suffix(of: binding.oid)
            guard suffix.count >= dialect.stateSuffix.count, Array(suffix.suffix(dialect.stateSuffix.count)) == dialect.stateSuffix else { continue }
            stateByInstance[Array(suffix.dropLast(dialect.stateSuffix.count))] = dialect.state(binding.value)
        }
        var outlets = rows.map { Outlet(number: $0.number, name: $0.name, state: stateByInstance[$0.instance] ?? .unknown) }
        for meter in dialect.meters {
            let values = try await meterValues(target, meter)
            for index in outlets.indices {
                guard let value = values[rows[index].instance] else { continue }
                switch meter.quantity {
                case .currentAmps: outlets[index].currentAmps = value
                case .powerWatts: outlets[index].powerWatts = value
                case .energyKWh: outlets[index].energyKWh = value
                }
            }
        }
        return OutletListing(family: dialect.family, outlets: outlets, load: try await load(target, dialect))
    }

    /// A meter column's readings by row instance, scaled; negative readings mean "not measured" and are left out.
    func meterValues(_ target: SNMPTarget, _ meter: OutletMeter) async throws -> [[UInt]: Double] {
        var digits: [[UInt]: Int] = [:]
        if let column = meter.decimalDigitsColumn {
            for binding in try await client.walk(target, column) {
                let suffix = column.suffix(of: binding.oid)
                guard Array(suffix.suffix(meter.suffix.count)) == meter.suffix, let value = binding.value.number else { continue }
                digits[Array(suffix.dropLast(meter.suffix.count))] = Int(value)
            }
        }
        var values: [[UInt]: Double] = [:]
        for binding in try await client.walk(target, meter.column) {
            let suffix = meter.column.suffix(of: binding.oid)
            guard Array(suffix.suffix(meter.suffix.count)) == meter.suffix, let value = binding.value.number, value >= 0 else { continue }
            let instance = Array(suffix.dropLast(meter.suffix.count))
            let decimal = digits[instance].map { pow(10, -Double($0)) } ?? 1
            values[instance] = Self.rounded(Double(value) * meter.scale * decimal)
        }
        return values
    }

    /// The PDU's own readings; unsupported ones (absent, -1) are left out.
    func load(_ target: SNMPTarget, _ dialect: OutletDialect) async throws -> PDULoad? {
        guard !dialect.deviceMeters.isEmpty else { return nil }
        let bindings = try await client.get(target, dialect.deviceMeters.map(\.oid))
        let digitObjects = dialect.deviceMeters.compactMap(\.decimalDigits)
        var digits: [OID: Int64] = [:]
        if !digitObjects.isEmpty {
            for binding in try await client.get(target, digitObjects) { digits[binding.oid] = binding.value.number }
        }
        var load = PDULoad()
        for (meter, binding) in zip(dialect.deviceMeters, bindings) {
            guard let value = binding.value.number, value >= 0 else { continue }
            let decimal = meter.decimalDigits.flatMap { digits[$0] }.map { pow(10, -Double($0)) } ?? 1
            let scaled = Self.rounded(Double(value) * meter.scale * decimal)
            switch meter.quantity {
            case .currentAmps: load.currentAmps = load.currentAmps ?? scaled
            case .powerWatts: load.powerWatts = load.powerWatts ?? scaled
            case .energyKWh: load.energyKWh = load.energyKWh ?? scaled
            }
        }
        return load == PDULoad() ? nil : load
    }

    static func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

    struct Row {
        var number: Int
        var instance: [UInt]
        var name: String
    }

    /// The outlet rows from the first name column that has any, numbered as the dialect numbers them; a row whose
    /// name is empty takes the next column's (Raritan's outletName falls back to the printed outletLabel).
    func rows(_ device: NetworkDevice, _ dialect: OutletDialect) async throws -> [Row] {
        let target = try device.snmpTarget(settings: settings)
        var names: [VariableBinding] = []
        var nameColumn = dialect.nameColumns[0]
        var fallbacks = dialect.nameColumns.dropFirst()
        for column in dialect.nameColumns {
            fallbacks = fallbacks.drop { $0 == column }
            names = try await client.walk(target, column)
            nameColumn = column
            if !names.isEmpty { break }
        }
        var nameByInstance = Dictionary(
            names.map { (nameColumn.suffix(of: $0.oid), ($0.value.text ?? "").trimmingCharacters(in: .whitespaces)) },
            uniquingKeysWith: { first, _ in first })
        for column in fallbacks where nameByInstance.values.contains(where: \.isEmpty) {
            for binding in try await client.walk(target, column) {
                let instance = column.suffix(of: binding.oid)
                if nameByInstance[instance]?.isEmpty == true {
                    nameByInstance[instance] = (binding.value.text ?? "").trimmingCharacters(in: .whitespaces)
                }
            }
        }
        var numbers: [[UInt]: Int] = [:]
        if case .numberColumn(let column) = dialect.numbering {
            for binding in try await client.walk(target, column) {
                if let value = binding.value.number { numbers[column.suffix(of: binding.oid)] = Int(value) }
            }
        }
        return names.enumerated().compactMap { position, binding in
            let instance = nameColumn.suffix(of: binding.oid)
            guard let first = instance.first else { return nil }
            let number: Int
            switch dialect.numbering {
            case .index: number = Int(first)
            case .position: number = position + 1
            case .numberColumn:
                // A row without a number, or numbered 0, is filler (cPDU and Enlogic tables have a fixed size).
                guard let value = numbers[instance], value > 0 else { return nil }
                number = value
            }
            return Row(number: number, instance: instance, name: nameByInstance[instance] ?? "")
        }
    }

    /// The table instance of outlet `number`: the number itself, or the row that carries it.
    func instance(_ device: NetworkDevice, _ dialect: OutletDialect, outlet: Int) async throws -> [UInt] {
        if dialect.numbering == .index { return [UInt(outlet)] }
        guard let row = try await rows(device, dialect).first(where: { $0.number == outlet }) else {
            throw AgentError.notFound("outlet", "\(outlet) on \(device.id)")
        }
        return row.instance
    }

    /// The state of one outlet.
    public func state(_ deviceId: String, outlet: Int) async throws -> OutletState {
        let device = try await lookup(deviceId)
        let dialect = try await dialect(device)
        return try await read(device, dialect, instance: try await instance(device, dialect, outlet: outlet))
    }

    /// Switches an outlet and reads it back; a cycle is off (verified), the cycle delay, on (verified).
    public func perform(_ action: OutletAction, deviceId: String, outlet: Int) async throws -> OutletReport {
        try await perform(action, device: try await lookup(deviceId), outlet: outlet)
    }

    /// Switches an outlet of a PDU given in full.
    ///
    /// Errors say what the PDU did: a failure reading the outlet first leaves it `untouched`; once a SET went out,
    /// a failure to read it back means the PDU `accepted` it.
    public func perform(_ action: OutletAction, device: NetworkDevice, outlet: Int) async throws -> OutletReport {
        let dialect = try await dialect(device)
        guard dialect.commandColumn != nil else {
            throw AgentError.unsupported("\(dialect.family) has no outlet switching", details: ["deviceType": .string(device.deviceType)])
        }
        let started = ContinuousClock.now
        let name = "outlet \(outlet) \(action.rawValue) on \(device.id)"
        let instance: [UInt]
        let before: OutletState
        do {
            instance = try await self.instance(device, dialect, outlet: outlet)
            before = try await read(device, dialect, instance: instance)
        } catch {
            throw DeviceActionFailure.beforeSending(name, error)
        }
        var steps: [String] = []
        var evidence: String
        switch action {
        case .on, .off:
            let wanted: OutletState = action == .on ? .on : .off
            if before != wanted { try await set(device, dialect, instance: instance, wanted, action: name) }
            steps.append(before == wanted ? "already \(wanted.rawValue)" : "\(wanted.rawValue) verified")
            evidence = "outlet read back \(wanted.rawValue)"
        case .cycle:
            if before != .off {
                try await set(device, dialect, instance: instance, .off, action: name)
                steps.append("off verified")
            }
            do {
                try await Task.sleep(for: cycleDelay)
            } catch {
                throw DeviceActionFailure.afterAcceptance(name, error)
            }
            try await set(device, dialect, instance: instance, .on, action: name)
            steps.append("on verified")
            evidence = before == .off ? "outlet was off; read back on" : "outlet read back off, then on"
        }
        return OutletReport(outlet: outlet, action: action.rawValue, before: before, state: action == .off ? .off : .on, verified: true,
                            evidence: evidence, steps: steps,
                            seconds: ((ContinuousClock.now - started).inSeconds * 1000).rounded() / 1000)
    }

    func read(_ device: NetworkDevice, _ dialect: OutletDialect, instance: [UInt]) async throws -> OutletState {
        let oid = dialect.stateColumn.appending(instance + dialect.stateSuffix)
        let outlet = instance.map(String.init).joined(separator: ".")
        guard let binding = try await client.get(try device.snmpTarget(settings: settings), [oid]).first else {
            throw AgentError(status: .badGateway, code: "snmp_error", message: "\(device.snmpHost): no answer for outlet \(outlet)")
        }
        if binding.value == .noSuchInstance || binding.value == .noSuchObject {
            throw AgentError.notFound("outlet", "\(outlet) on \(device.id)")
        }
        return dialect.state(binding.value)
    }

    /// Writes the command column, then reads the state column until it shows `wanted` (or the verify timeout).
    func set(_ device: NetworkDevice, _ dialect: OutletDialect, instance: [UInt], _ wanted: OutletState, action: String) async throws {
        let outlet = instance.map(String.init).joined(separator: ".")
        guard let commandColumn = dialect.commandColumn else { throw AgentError.unsupported("\(dialect.family) has no outlet switching") }
        let binding = VariableBinding(oid: commandColumn.appending(instance), value: .integer(dialect.command(wanted)))
        do {
            _ = try await client.set(try device.snmpTarget(settings: settings, write: true), [binding])
        } catch SNMPError.deviceError(_, let status, _) where OutletError.refusals.contains(status) {
            throw OutletError.rejected(device: device.id, outlet: outlet, status: status)
        }
        let seen: OutletState
        do {
            let deadline = ContinuousClock.now + verifyTimeout
            var reading = try await read(device, dialect, instance: instance)
            while reading != wanted, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(250))
                reading = try await read(device, dialect, instance: instance)
            }
            seen = reading
        } catch {
            throw DeviceActionFailure.afterAcceptance(action, error)
        }
        guard seen == wanted else {
            throw OutletError.verificationFailed(device: device.id, outlet: outlet, expected: wanted, actual: seen)
        }
    }
}

/// An outlet switch the PDU refused, or accepted and did not carry out.
public enum OutletError: Error, Sendable, Equatable, AgentErrorConvertible, DeviceEffectDescribing {
    /// The PDU refused the SET (a read-only community, a column it does not let be written): nothing changed.
    case rejected(device: String, outlet: String, status: String)
    /// The SET was accepted, but the state never showed the requested state within the verify time.
    case verificationFailed(device: String, outlet: String, expected: OutletState, actual: OutletState)

    /// SET error statuses that mean the PDU did not act.
    static let refusals: Set<String> = [
        "noAccess", "notWritable", "readOnly", "authorizationError", "noSuchName", "noCreation", "wrongValue", "badValue", "inconsistentValue",
        "wrongType", "inconsistentName",
    ]

    public var deviceEffect: DeviceEffect {
        switch self {
        case .rejected: return .untouched
        case .verificationFailed: return .accepted
        }
    }

    public var agentError: AgentError {
        switch self {
        case .rejected(let device, let outlet, let status):
            return AgentError(
                status: .badGateway, code: "pdu_rejected",
                message: "\(device) refused to switch outlet \(outlet) (\(status)); check that the write community can set the outlet table",
                details: ["outlet": .string(outlet), "status": .string(status), "deviceEffect": .string(deviceEffect.rawValue)])
        case .verificationFailed(let device, let outlet, let expected, let actual):
            return AgentError(
                // The PDU answered, with the wrong state: a device error (502), not a device that did not answer (504).
                status: .badGateway, code: "verify_timeout",
                message: "\(device) outlet \(outlet) still reads \(actual.rawValue) after switching \(expected.rawValue)",
                details: [
                    "outlet": .string(outlet), "expected": .string(expected.rawValue), "actual": .string(actual.rawValue),
                    "deviceEffect": .string(deviceEffect.rawValue),
                ])
        }
    }
}

/// The outlets of a PDU and its own load.
public struct OutletListing: Sendable, Codable, Equatable {
    /// The MIB family the device answered with.
    public var family: String
    public var outlets: [Outlet]
    public var load: PDULoad?
}

/// A PDU's whole-unit readings (inlet or unit tables), where its MIB has them.
public struct PDULoad: Sendable, Codable, Equatable {
    /// The first inlet's (or first phase's) current.
    public var currentAmps: Double?
    public var powerWatts: Double?
    public var energyKWh: Double?
}

/// A verified outlet switch.
public struct OutletReport: Sendable, Codable, Equatable {
    public var outlet: Int
    public var action: String
    public var before: OutletState
    public var state: OutletState
    public var verified: Bool
    /// What the PDU showed: the outlet read back in the new state (for a cycle: off, then on).
    public var evidence: String
    public var steps: [String]
    public var seconds: Double
}

/// Which candidate dialect each device answered, remembered for the next call.
final class DialectChoices: Sendable {
    private let choices = Mutex<[String: Int]>([:])

    subscript(key: String) -> Int? {
        get { choices.withLock { $0[key] } }
        set { choices.withLock { $0[key] = newValue } }
    }
}

/// An automatic transfer switch's sources and output.
public struct TransferSwitchStatus: Sendable, Codable, Equatable {
    public struct Source: Sendable, Codable, Equatable {
        public var source: String
        public var name: String
        public var voltage: Double?
        public var voltageState: String?
    }

    public var family: String
    public var selectedSource: String?
    public var preferredSource: String?
    public var redundancy: String?
    public var sources: [Source]
    public var outputCurrentAmps: Double?
    public var outputPowerWatts: Double?
}

/// One port of a KVM or serial console switch and the target connected to it.
public struct ConsolePort: Sendable, Codable, Equatable {
    public var index: Int
    public var number: Int?
    public var name: String
    public var type: String?
    public var status: String
}

extension PDUService {
    /// The sources of an automatic transfer switch (which one feeds the load, each one's voltage) and its output.
    public func transferSwitch(_ deviceId: String) async throws -> TransferSwitchStatus {
        try await transferSwitch(of: try await lookup(deviceId))
    }

    /// The status of a transfer switch given in full (the CLI's, not registered).
    public func transferSwitch(of device: NetworkDevice) async throws -> TransferSwitchStatus {
        guard case .transferSwitch(let dialect)? = DeviceTypeCatalogue.support(device.deviceType) else {
            throw AgentError.unsupported("device type \(device.deviceType) is not a transfer switch", details: ["deviceType": .string(device.deviceType)])
        }
        let target = try device.snmpTarget(settings: settings)
        let scalars = try await client.get(target, [dialect.selectedSource, dialect.preferredSource, dialect.redundancy, dialect.outputCurrent,
                                                    dialect.outputPower])
        func number(_ index: Int) -> Int64? { index < scalars.count ? scalars[index].value.number : nil }
        let names = try await client.walk(target, dialect.inputName)
        let voltages = try await client.walk(target, dialect.inputVoltage)
        let states = try await client.walk(target, dialect.inputVoltageState)
        func byRow(_ bindings: [VariableBinding], _ column: OID) -> [[UInt]: SNMPValue] {
            Dictionary(bindings.map { (column.suffix(of: $0.oid), $0.value) }, uniquingKeysWith: { first, _ in first })
        }
        let voltageByRow = byRow(voltages, dialect.inputVoltage)
        let stateByRow = byRow(states, dialect.inputVoltageState)
        let sources = names.enumerated().map { position, binding -> TransferSwitchStatus.Source in
            let row = dialect.inputName.suffix(of: binding.oid)
            return TransferSwitchStatus.Source(
                source: dialect.sources[Int64(position + 1)] ?? String(position + 1), name: binding.value.text ?? "",
                voltage: voltageByRow[row]?.number.flatMap { $0 >= 0 ? Self.rounded(Double($0) * dialect.voltageScale) : nil },
                voltageState: stateByRow[row]?.number.map { dialect.voltageStates[$0] ?? String($0) })
        }
        return TransferSwitchStatus(
            family: dialect.family, selectedSource: number(0).map { dialect.sources[$0] ?? String($0) },
            preferredSource: number(1).map { dialect.sources[$0] ?? String($0) }, redundancy: number(2).map { dialect.redundancyStates[$0] ?? String($0) },
            sources: sources, outputCurrentAmps: number(3).flatMap { $0 >= 0 ? Self.rounded(Double($0) * dialect.currentScale) : nil },
            outputPowerWatts: number(4).flatMap { $0 >= 0 ? Double($0) : nil })
    }

    /// The ports of a KVM or serial console switch with their target names and status.
    public func consolePorts(_ deviceId: String) async throws -> [ConsolePort] {
        try await consolePorts(of: try await lookup(deviceId))
    }

    /// The ports of a console switch given in full (the CLI's, not registered).
    public func consolePorts(of device: NetworkDevice) async throws -> [ConsolePort] {
        guard case .consolePorts(let dialect)? = DeviceTypeCatalogue.support(device.deviceType) else {
            throw AgentError.unsupported("device type \(device.deviceType) is not a console switch", details: ["deviceType": .string(device.deviceType)])
        }
        guard device.snmpCommunity != nil || device.snmpVersion == .v3 else {
            throw AgentError.invalidField("snmpCommunity", "needed to read the console switch's ports over SNMP (RemoteKVMDevice-MIB)")
        }
        let target = try device.snmpTarget(settings: settings)
        func column(_ oid: OID) async throws -> [UInt: SNMPValue] {
            Dictionary(try await client.walk(target, oid).compactMap { binding in oid.suffix(of: binding.oid).first.map { ($0, binding.value) } },
                       uniquingKeysWith: { first, _ in first })
        }
        let names = try await column(dialect.name)
        if names.isEmpty {
            throw AgentError(
                status: .badGateway, code: "console_ports_unavailable",
                message: "\(device.host) answers no \(dialect.family) port table (portDataTable needs firmware from 2016 on)",
                details: ["deviceType": .string(device.deviceType)])
        }
        let numbers = try await column(dialect.number)
        let types = try await column(dialect.type)
        let statuses = try await column(dialect.status)
        return names.keys.sorted().map { index in
            ConsolePort(
                index: Int(index), number: numbers[index]?.number.map(Int.init), name: names[index]?.text ?? "", type: types[index]?.text,
                status: statuses[index]?.number.map { dialect.statuses[$0] ?? String($0) } ?? "unknown")
        }
    }
}
