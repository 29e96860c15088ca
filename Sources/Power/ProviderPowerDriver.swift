import AgentCore
import Providers

/// Power through a provider API (connection types `ionos`, `venocix`, `cloudsigma`): every change is read back,
/// and a power cycle is off (verified) then on (verified).
public struct ProviderPowerDriver: PowerDriver {
    let type: ProviderType
    let service: ProviderService

    public init(type: ProviderType, service: ProviderService) {
        self.type = type
        self.service = service
    }

    public var connectionType: String { type.rawValue }
    public var supportedMethods: [PowerMethod] { [.getPowerStatus, .setPowerOn, .setPowerOff, .setPowerSoft, .setPowerReset, .setPowerCycle] }

    func connection(_ meta: JSONValue, path: String = "connection.meta") throws -> ProviderConnection {
        try ProviderConnection(type: type, meta: meta, path: path)
    }

    public func target(meta: JSONValue, path: String) throws -> String {
        let connection = try connection(meta, path: path)
        return "\(type.rawValue):\(connection.serverId)"
    }

    public func perform(_ method: PowerMethod, parameters: PowerParameters, meta: JSONValue) async throws -> PowerOutcome {
        let connection = try connection(meta)
        switch method {
        case .getPowerStatus: return .state(try await service.status(connection).state.seedWord)
        case .setPowerOn: return .change(try await service.power(.on, connection))
        case .setPowerOff: return .change(try await service.power(.off, connection))
        case .setPowerSoft: return .change(try await service.power(.shutdown, connection))
        case .setPowerReset: return .change(try await service.power(.reset, connection))
        case .setPowerCycle:
            let off = try await service.power(.off, connection)
            let on: ProviderPowerReport
            do {
                on = try await service.power(.on, connection)
            } catch {
                throw DeviceActionFailure.afterAcceptance("power cycle of \(type.rawValue) server \(connection.serverId)", error)
            }
            return .change(ProviderPowerReport(
                action: "cycle", powerState: on.powerState, providerState: on.providerState, verified: true,
                evidence: "state read back \(off.providerState), then \(on.providerState)", reason: nil, emulated: true,
                steps: off.steps + on.steps, checks: off.checks + on.checks, seconds: off.seconds + on.seconds))
        default:
            throw AgentError.unsupported("\(method.rawValue) is not supported by \(type.rawValue) connections")
        }
    }

    public func testConnection(meta: JSONValue) async throws -> String {
        let connection = try connection(meta)
        let driver = await service.driver(for: connection)
        try await driver.checkCredentials()
        _ = try await driver.status(serverId: connection.serverId)
        return "online"
    }
}
