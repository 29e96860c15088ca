import AgentCore
import Console
import IPMI
import Power
import Provisioning

/// Installations switch servers through the same power router (and so the same verified drivers) as the
/// power API.
struct RouterInstallationPower: InstallationPowerControl {
    let router: PowerRouter

    func descriptor(_ connection: JSONValue) throws -> ConnectionDescriptor {
        try connection.decode(as: ConnectionDescriptor.self, at: "connection")
    }

    func validate(connection: JSONValue) throws {
        let descriptor = try descriptor(connection)
        for method in [PowerMethod.setBootType, .getPowerStatus, .setPowerCycle, .setPowerOn, .setPowerReset] {
            _ = try router.prepare(method, parameters: method == .setBootType ? .text("pxe") : .none, connection: descriptor, fallback: nil)
        }
    }

    func setBootDevice(_ device: String, connection: JSONValue) async throws -> String {
        let result = try await router.perform(.setBootType, parameters: .text(device), connection: try descriptor(connection), fallback: nil, noFailover: true)
        return "\(device) (\(Self.summary(result)))"
    }

    func restart(connection: JSONValue, hard: Bool) async throws -> String {
        let descriptor = try descriptor(connection)
        let state = try await router.perform(.getPowerStatus, parameters: .none, connection: descriptor, fallback: nil, noFailover: true)
        if state.stringValue == "offline" {
            let result = try await router.perform(.setPowerOn, parameters: .none, connection: descriptor, fallback: nil, noFailover: true)
            return "was off, powered on (\(Self.summary(result)))"
        }
        let method: PowerMethod = hard ? .setPowerReset : .setPowerCycle
        let result = try await router.perform(method, parameters: .none, connection: descriptor, fallback: nil, noFailover: true)
        return "\(hard ? "reset" : "power cycled") (\(Self.summary(result)))"
    }

    func reset(connection: JSONValue) async throws -> String {
        let descriptor = try descriptor(connection)
        let state = try await router.perform(.getPowerStatus, parameters: .none, connection: descriptor, fallback: nil, noFailover: true)
        if state.stringValue == "offline" { return "server is off, left off" }
        let result = try await router.perform(.setPowerReset, parameters: .none, connection: descriptor, fallback: nil, noFailover: true)
        return "reset (\(Self.summary(result)))"
    }

    /// A short text of a driver's verified report.
    static func summary(_ result: JSONValue) -> String {
        if let text = result.stringValue { return text }
        if let state = result["powerState"]?.stringValue {
            if result["verified"] == .bool(true) { return "verified \(state)" + (result["evidence"]?.stringValue.map { ": \($0)" } ?? "") }
            return "\(state), not verified" + (result["reason"]?.stringValue.map { ": \($0)" } ?? "")
        }
        if let stored = result["stored"] { return "read back \(stored.jsonText)" }
        return result.jsonText.count > 120 ? String(result.jsonText.prefix(120)) + "…" : result.jsonText
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
