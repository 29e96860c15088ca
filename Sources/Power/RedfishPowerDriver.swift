import AgentCore
import IPMI
import Redfish

/// Power over a Redfish BMC: the seed's methods through `ComputerSystem.Reset` with the reset types the system
/// advertises, the boot override, and `Manager.Reset`; each change verified by reading back.
public struct RedfishPowerDriver: PowerDriver {
    let service: RedfishService

    public init(service: RedfishService) {
        self.service = service
    }

    public var connectionType: String { "redfish" }
    /// Custom commands are ipmitool command lines; Redfish has no equivalent the seed could send.
    public var supportedMethods: [PowerMethod] { PowerMethod.allCases.filter { $0 != .executeCustomCommand } }

    public func target(meta: JSONValue, path: String) throws -> String {
        let connection = try meta.decode(as: RedfishConnection.self, at: path)
        if service.client.settings.certificatePolicy == .pinned, connection.scheme == .https, connection.certificateSHA256 == nil {
            throw AgentError.invalidField("\(path).certificateSha256", "required (redfish.certificatePolicy is pinned)")
        }
        return "redfish:" + connection.address
    }

    public func validate(_ method: PowerMethod, parameters: PowerParameters) throws {
        switch method {
        case .setBootType: _ = try BootTypeRequest(parameters)
        case .setBmcReset: _ = try IPMIPowerDriver.isWarmReset(parameters)
        default: break
        }
    }

    public func perform(_ method: PowerMethod, parameters: PowerParameters, meta: JSONValue) async throws -> PowerOutcome {
        let connection = try meta.decode(as: RedfishConnection.self, at: "connection.meta")
        if let change = method.change { return .change(try await service.setPower(change, connection)) }
        switch method {
        case .getPowerStatus: return .state(try await service.powerStatus(connection).serverPowerState)
        case .setPowerOn, .setPowerOff, .setPowerSoft, .setPowerReset, .setPowerCycle:
            throw AgentError.internalError("\(method.rawValue) is a power change")
        case .setBootType:
            let request = try BootTypeRequest(parameters)
            return .bootDevice(try await service.setBootOverride(
                Self.target(request.device), persistent: request.persistent, uefi: request.efi ? true : (request.legacy ? false : nil), connection))
        case .setBmcReset:
            // A warm reset restarts the BMC's firmware gracefully; cold forces it.
            return .bmcReset(try await service.resetManager(graceful: try IPMIPowerDriver.isWarmReset(parameters), connection))
        case .executeCustomCommand:
            throw AgentError.unsupported("executeCustomCommand is not supported by redfish connections", details: ["method": .string(method.rawValue)])
        }
    }

    /// The methods the BMC's reset types, boot override targets and manager reset allow.
    public func advertisedMethods(meta: JSONValue) async throws -> [PowerMethod] {
        let connection = try meta.decode(as: RedfishConnection.self, at: "connection.meta")
        let capabilities = try await service.capabilities(connection)
        return supportedMethods.filter { method in
            if let change = method.change { return capabilities.canReset(change) }
            switch method {
            case .getPowerStatus: return true
            case .setPowerOn, .setPowerOff, .setPowerSoft, .setPowerReset, .setPowerCycle: return false
            case .setBootType: return capabilities.bootOverride
            case .setBmcReset: return capabilities.managerReset
            case .executeCustomCommand: return false
            }
        }
    }

    public func testConnection(meta: JSONValue) async throws -> String {
        try await service.testConnection(try meta.decode(as: RedfishConnection.self, at: "connection.meta"))
    }

    /// The seed's boot devices as Redfish override targets.
    static func target(_ device: BootDevice) -> BootOverrideTarget {
        switch device {
        case .pxe: return .pxe
        case .disk: return .hdd
        case .bios: return .biosSetup
        case .cdrom: return .cd
        }
    }
}
