import AgentCore
import Console
import IPMI
import Power
import Provisioning
import Redfish

/// Installations switch servers through the same power router (and so the same verified drivers) as the
/// power API.
struct RouterInstallationPower: InstallationPowerControl {
    let router: PowerRouter
    /// Virtual media: the router switches power and boot devices only.
    let redfish: RedfishService

    func descriptor(_ connection: JSONValue) throws -> ConnectionDescriptor {
        try connection.decode(as: ConnectionDescriptor.self, at: "connection")
    }

    func validate(connection: JSONValue, virtualMedia: Bool) throws {
        let descriptor = try descriptor(connection)
        for method in [PowerMethod.setBootType, .getPowerStatus, .setPowerCycle, .setPowerOn, .setPowerReset] {
            _ = try router.prepare(method, parameters: method == .setBootType ? .text("pxe") : .none, connection: descriptor, fallback: nil)
        }
        if virtualMedia { _ = try redfishConnection(descriptor) }
    }

    func mountBootMedia(imageURL: String, connection: JSONValue) async throws -> InstallationPowerStep {
        let report = try await redfish.insertMedia(imageURL: imageURL, bootOnce: true, try redfishConnection(try descriptor(connection)))
        let boot = report.boot.map { ", next boot \($0.stored.target ?? "?")\($0.verified ? "" : " (not verified)")" } ?? ""
        return .mediaMounted(imageURL, PowerStepCheck(
            verified: report.verified && report.boot?.verified == true, summary: "read back: inserted \(report.device.inserted)\(boot)"))
    }

    func ejectBootMedia(connection: JSONValue) async throws -> InstallationPowerStep {
        let report = try await redfish.ejectMedia(try redfishConnection(try descriptor(connection)))
        return .mediaEjected(PowerStepCheck(verified: report.verified, summary: "read back: inserted \(report.device.inserted)"))
    }

    private func redfishConnection(_ descriptor: ConnectionDescriptor) throws -> RedfishConnection {
        guard descriptor.type == "redfish" else {
            throw AgentError.invalidField("connection.type", "virtual media needs a redfish connection, not \(descriptor.type)")
        }
        return try descriptor.meta.decode(as: RedfishConnection.self, at: "connection.meta")
    }

    func setBootDevice(_ device: String, connection: JSONValue) async throws -> InstallationPowerStep {
        let result = try await perform(.setBootType, parameters: .text(device), connection: try descriptor(connection))
        return .bootDevice(device, try Self.check(result))
    }

    func restart(connection: JSONValue, hard: Bool) async throws -> InstallationPowerStep {
        let descriptor = try descriptor(connection)
        if try await perform(.getPowerStatus, connection: descriptor).powerState == .offline {
            return .poweredOn(try Self.check(try await perform(.setPowerOn, connection: descriptor)))
        }
        return .restarted(hard: hard, try Self.check(try await perform(hard ? .setPowerReset : .setPowerCycle, connection: descriptor)))
    }

    func reset(connection: JSONValue) async throws -> InstallationPowerStep {
        let descriptor = try descriptor(connection)
        if try await perform(.getPowerStatus, connection: descriptor).powerState == .offline { return .leftOff }
        return .reset(try Self.check(try await perform(.setPowerReset, connection: descriptor)))
    }

    /// Installations never fail over: they act on the connection they were given.
    private func perform(_ method: PowerMethod, parameters: PowerParameters = .none, connection: ConnectionDescriptor) async throws -> PowerOutcome {
        try await router.perform(method, parameters: parameters, connection: connection, fallback: nil, noFailover: true).outcome
    }

    /// How the driver verified what it did.
    static func check(_ outcome: PowerOutcome) throws -> PowerStepCheck {
        switch outcome {
        case .change(let report):
            if report.verified { return PowerStepCheck(verified: true, summary: "verified \(report.powerState)" + (report.evidence.map { ": \($0)" } ?? "")) }
            return PowerStepCheck(verified: false, summary: "\(report.powerState), not verified" + (report.reason.map { ": \($0)" } ?? ""))
        case .bootDevice(let report):
            return PowerStepCheck(verified: report.verified, summary: "read back \(report.readBack)")
        case .state(let state): return PowerStepCheck(verified: true, summary: "read \(state)")
        case .bmcReset(let report): return PowerStepCheck(verified: report.verified, summary: "BMC \(report.resetKind) reset")
        case .commandOutput(let output): return PowerStepCheck(verified: false, summary: String(output.prefix(120)))
        }
    }
}

/// Installations watch the serial console of servers they restart through an IPMI connection.
struct ConsoleInstallationCapture: InstallationConsoleCapture {
    let console: ConsoleService

    func startCapture(serverId: String, connection: JSONValue) async {
        guard connection["type"]?.stringValue == "ipmi", ConsoleRequest.isServerId(serverId),
              let ipmi = try? (connection["meta"] ?? .null).decode(as: IPMIConnection.self)
        else { return }
        await console.startCapture(serverId: serverId, connection: ipmi)
    }

    func stopCapture(serverId: String) async {
        await console.stopCapture(serverId: serverId)
    }
}
