import AgentCore
import Foundation
import SNMP

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

    public init(client: SNMPClient, settings: SNMPConfiguration, cycleDelay: Duration = .seconds(5), verifyTimeout: Duration = .seconds(10),
                lookup: @escaping Lookup) {
        self.client = client
        self.lookup = lookup
        self.settings = settings
        self.cycleDelay = cycleDelay
        self.verifyTimeout = verifyTimeout
    }

    func dialect(_ device: NetworkDevice) throws -> OutletDialect {
        guard let dialect = OutletDialect.byDeviceType[device.deviceType] else {
            throw AgentError.unsupported(
                "device type \(device.deviceType) has no outlet control (one of \(OutletDialect.byDeviceType.keys.sorted().joined(separator: ", ")))",
                details: ["deviceType": .string(device.deviceType)])
        }
        return dialect
    }

    /// Every outlet with its name and state.
    public func outlets(_ deviceId: String) async throws -> [Outlet] {
        try await outlets(of: try await lookup(deviceId))
    }

    /// Every outlet of a PDU given in full (the CLI's, not registered).
    public func outlets(of device: NetworkDevice) async throws -> [Outlet] {
        let dialect = try dialect(device)
        let target = try device.snmpTarget(settings: settings)
        let rows = try await self.rows(device, dialect)
        let states = try await client.walk(target, dialect.stateColumn)
        var stateByInstance: [[UInt]: OutletState] = [:]
        for binding in states { stateByInstance[dialect.stateColumn.suffix(of: binding.oid)] = dialect.state(binding.value) }
        return rows.map { Outlet(number: $0.number, name: $0.name, state: stateByInstance[$0.instance] ?? .unknown) }
    }

    struct Row {
        var number: Int
        var instance: [UInt]
        var name: String
    }

    /// The outlet rows from the name column, numbered as the dialect numbers them.
    func rows(_ device: NetworkDevice, _ dialect: OutletDialect) async throws -> [Row] {
        let names = try await client.walk(try device.snmpTarget(settings: settings), dialect.nameColumn)
        return names.enumerated().compactMap { position, binding in
            let instance = dialect.nameColumn.suffix(of: binding.oid)
            guard let first = instance.first else { return nil }
            let number = dialect.numbering == .index ? Int(first) : position + 1
            return Row(number: number, instance: instance, name: binding.value.text ?? "")
        }
    }

    /// The table instance of outlet `number`: the number itself, or the row at that position.
    func instance(_ device: NetworkDevice, _ dialect: OutletDialect, outlet: Int) async throws -> [UInt] {
        guard dialect.numbering == .position else { return [UInt(outlet)] }
        guard let row = try await rows(device, dialect).first(where: { $0.number == outlet }) else {
            throw AgentError.notFound("outlet", "\(outlet) on \(device.id)")
        }
        return row.instance
    }

    /// The state of one outlet.
    public func state(_ deviceId: String, outlet: Int) async throws -> OutletState {
        let device = try await lookup(deviceId)
        let dialect = try dialect(device)
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
        let dialect = try dialect(device)
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
        let oid = dialect.stateColumn.appending(instance)
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
        let binding = VariableBinding(oid: dialect.commandColumn.appending(instance), value: .integer(dialect.command(wanted)))
        _ = try await client.set(try device.snmpTarget(settings: settings, write: true), [binding])
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

/// An outlet that did not do what the PDU accepted.
public enum OutletError: Error, Sendable, Equatable, AgentErrorConvertible, DeviceEffectDescribing {
    /// The SET was accepted, but the state column never showed the requested state.
    case verificationFailed(device: String, outlet: String, expected: OutletState, actual: OutletState)

    public var deviceEffect: DeviceEffect { .accepted }

    public var agentError: AgentError {
        switch self {
        case .verificationFailed(let device, let outlet, let expected, let actual):
            return AgentError(
                status: .badGateway, code: "verify_failed",
                message: "\(device) outlet \(outlet) reads \(actual.rawValue) after switching \(expected.rawValue)",
                details: ["outlet": .string(outlet), "expected": .string(expected.rawValue), "actual": .string(actual.rawValue)])
        }
    }
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
