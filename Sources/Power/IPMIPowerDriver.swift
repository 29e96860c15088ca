import AgentCore
import IPMI

/// Power over a BMC with ipmitool: every method of the seed, each change verified by reading back.
public struct IPMIPowerDriver: PowerDriver {
    let service: IPMIService

    public init(service: IPMIService) {
        self.service = service
    }

    public var connectionType: String { "ipmi" }
    public var supportedMethods: [PowerMethod] { PowerMethod.allCases }

    public func target(meta: JSONValue, path: String) throws -> String {
        "ipmi:" + (try meta.decode(as: IPMIConnection.self, at: path)).address
    }

    public func validate(_ method: PowerMethod, parameters: PowerParameters) throws {
        switch method {
        case .setBootType: _ = try BootTypeRequest(parameters)
        case .setBmcReset: _ = try Self.isWarmReset(parameters)
        case .executeCustomCommand:
            guard case .text(let line) = parameters else { throw AgentError.missingField("params") }
            _ = try service.customCommandTokens(line)
        default: break
        }
    }

    public func perform(_ method: PowerMethod, parameters: PowerParameters, meta: JSONValue) async throws -> PowerOutcome {
        let connection = try meta.decode(as: IPMIConnection.self, at: "connection.meta")
        if let change = method.change { return .change(try await service.setPower(change, connection)) }
        switch method {
        case .getPowerStatus: return .state(try await service.powerStatus(connection).seedWord)
        case .setPowerOn, .setPowerOff, .setPowerSoft, .setPowerReset, .setPowerCycle:
            throw AgentError.internalError("\(method.rawValue) is a power change")
        case .setBootType:
            let request = try BootTypeRequest(parameters)
            return .bootDevice(try await service.setBootDevice(request.device, efi: request.efi, persistent: request.persistent, connection))
        case .setBmcReset:
            return .bmcReset(try await service.resetBMC(warm: try Self.isWarmReset(parameters), connection))
        case .executeCustomCommand:
            guard case .text(let line) = parameters else { throw AgentError.missingField("params") }
            return .commandOutput(try await service.customCommand(line, connection))
        }
    }

    public func testConnection(meta: JSONValue) async throws -> String {
        try await service.testConnection(try meta.decode(as: IPMIConnection.self, at: "connection.meta"))
    }

    /// setBmcReset params: "cold" (default) or "warm".
    static func isWarmReset(_ parameters: PowerParameters) throws -> Bool {
        switch parameters {
        case .none: return false
        case .text(let text):
            switch text.trimmingCharacters(in: .whitespaces).lowercased() {
            case "cold": return false
            case "warm": return true
            default: throw AgentError.invalidField("params", "must be cold or warm")
            }
        case .object(let members):
            guard let value = members["type"]?.stringValue ?? members["reset"]?.stringValue else { return false }
            return try isWarmReset(.text(value))
        }
    }
}

/// setBootType params: a device (pxe, disk, bios, cdrom) with the options efi and persistent, as a string
/// (`"pxe"`, `"pxe efi persistent"`, `"pxe,efi"`) or an object (`{"device": "pxe", "efi": true, "persistent": false}`).
public struct BootTypeRequest: Sendable, Equatable {
    public var device: BootDevice
    public var efi: Bool
    /// Legacy (BIOS) boot asked for explicitly; neither this nor `efi` leaves a Redfish system's mode as it is.
    public var legacy: Bool
    public var persistent: Bool

    public init(_ parameters: PowerParameters) throws {
        switch parameters {
        case .none:
            throw AgentError.missingField("params")
        case .text(let text):
            let words = text.lowercased().split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
            guard let first = words.first, let device = BootDevice(rawValue: first) else {
                throw AgentError.invalidField("params", "boot device must be one of pxe, disk, bios, cdrom")
            }
            for option in words.dropFirst() where !["efi", "persistent", "legacy", "once"].contains(option) {
                throw AgentError.invalidField("params", "unknown boot option \(option) (efi, persistent)")
            }
            self.device = device
            efi = words.contains("efi")
            legacy = words.contains("legacy") && !efi
            persistent = words.contains("persistent")
        case .object(let members):
            guard let text = members["device"]?.stringValue ?? members["bootType"]?.stringValue,
                let device = BootDevice(rawValue: text.lowercased())
            else { throw AgentError.invalidField("params.device", "must be one of pxe, disk, bios, cdrom") }
            self.device = device
            efi = Self.flag(members["efi"]) || members["mode"]?.stringValue?.lowercased() == "uefi"
            legacy = !efi && (Self.flag(members["legacy"]) || members["mode"]?.stringValue?.lowercased() == "legacy")
            persistent = Self.flag(members["persistent"])
        }
    }

    static func flag(_ value: JSONValue?) -> Bool {
        switch value {
        case .bool(let flag): return flag
        case .integer(let number): return number == 1
        case .string(let text): return ["1", "true", "yes", "on"].contains(text.lowercased())
        default: return false
        }
    }
}
