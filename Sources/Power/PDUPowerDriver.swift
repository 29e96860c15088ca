import AgentCore
import PDU

/// Power through PDU outlets: connection `pdu` with meta `deviceId` (a registered PDU) and `outlet` (a number,
/// or several for servers with redundant supplies: `[3, 4]` or `"3,4"`). Every outlet is switched and read back.
public struct PDUPowerDriver: PowerDriver {
    let service: PDUService

    public init(service: PDUService) {
        self.service = service
    }

    public var connectionType: String { "pdu" }
    /// Outlets switch power; they cannot shut an OS down gracefully, set a boot device or reset a BMC.
    public var supportedMethods: [PowerMethod] { [.getPowerStatus, .setPowerOn, .setPowerOff, .setPowerReset, .setPowerCycle] }

    struct Connection {
        var deviceId: String
        var outlets: [Int]
    }

    static func connection(_ meta: JSONValue, path: String) throws -> Connection {
        guard let deviceId = meta["deviceId"]?.stringValue, !deviceId.isEmpty else { throw AgentError.missingField("\(path).deviceId") }
        let outlets: [Int]
        switch meta["outlet"] ?? meta["outlets"] {
        case .integer(let number): outlets = [Int(number)]
        case .string(let text):
            outlets = try text.split(separator: ",").map {
                guard let number = Int($0.trimmingCharacters(in: .whitespaces)) else { throw AgentError.invalidField("\(path).outlet", "not an outlet number: \($0)") }
                return number
            }
        case .array(let items):
            outlets = try items.map {
                guard case .integer(let number) = $0 else { throw AgentError.invalidField("\(path).outlet", "outlet numbers must be integers") }
                return Int(number)
            }
        case .none, .null: throw AgentError.missingField("\(path).outlet")
        default: throw AgentError.invalidField("\(path).outlet", "a number, a list of numbers or \"3,4\"")
        }
        guard !outlets.isEmpty, outlets.allSatisfy({ (1...4096).contains($0) }) else {
            throw AgentError.invalidField("\(path).outlet", "outlet numbers run from 1 to 4096")
        }
        return Connection(deviceId: deviceId, outlets: outlets)
    }

    public func target(meta: JSONValue, path: String) throws -> String {
        let connection = try Self.connection(meta, path: path)
        return "pdu:\(connection.deviceId):\(connection.outlets.map(String.init).joined(separator: ","))"
    }

    public func perform(_ method: PowerMethod, parameters: PowerParameters, meta: JSONValue) async throws -> PowerOutcome {
        let connection = try Self.connection(meta, path: "connection.meta")
        switch method {
        case .getPowerStatus:
            var anyOn = false
            for outlet in connection.outlets where try await service.state(connection.deviceId, outlet: outlet) == .on { anyOn = true }
            return .state(anyOn ? .online : .offline)
        case .setPowerOn, .setPowerOff:
            let action: OutletAction = method == .setPowerOn ? .on : .off
            let reports = try await switchAll(action, connection, method: method)
            return .change(OutletPowerReport(action, reports, evidence: "every outlet read back \(action.rawValue)"))
        case .setPowerReset, .setPowerCycle:
            // All supplies go off before any comes back, or the server never loses power.
            let off = try await switchAll(.off, connection, method: method)
            let on = try await switchAll(.cycle, connection, method: method, actedBefore: off.contains { $0.before != .off })
            return .change(OutletPowerReport(.cycle, off + on, evidence: "every outlet read back off, then on"))
        default:
            throw AgentError.unsupported("\(method.rawValue) is not supported by pdu connections")
        }
    }

    /// Switches the outlets one by one. Once one of them changed, a later failure no longer leaves the server
    /// untouched: it is reported as a failure after acceptance, so no fallback switches it a second time.
    func switchAll(_ action: OutletAction, _ connection: Connection, method: PowerMethod, actedBefore: Bool = false) async throws -> [OutletReport] {
        var reports: [OutletReport] = []
        for outlet in connection.outlets {
            do {
                reports.append(try await service.perform(action, deviceId: connection.deviceId, outlet: outlet))
            } catch {
                guard actedBefore || reports.contains(where: { $0.before != $0.state }) else { throw error }
                throw DeviceActionFailure.afterAcceptance("\(method.rawValue) on pdu \(connection.deviceId)", error)
            }
        }
        return reports
    }

    public func checkReferences(meta: JSONValue, path: String) async throws {
        try await service.checkHasOutlets(try Self.connection(meta, path: path).deviceId)
    }

    public func testConnection(meta: JSONValue) async throws -> String {
        let connection = try Self.connection(meta, path: "connection.meta")
        for outlet in connection.outlets { _ = try await service.state(connection.deviceId, outlet: outlet) }
        return "online"
    }
}

/// A change made on outlets: every outlet switched and read back.
public struct OutletPowerReport: PowerChangeReporting, Equatable {
    /// `on`, `off` or `cycle`.
    public var action: String
    public var powerState: ServerPowerState
    public var verified: Bool
    public var evidence: String?
    public var reason: String?
    /// Each outlet's switch and read-back, in order (a cycle: every outlet off, then every outlet on).
    public var outlets: [OutletReport]

    init(_ action: OutletAction, _ outlets: [OutletReport], evidence: String) {
        self.action = action.rawValue
        powerState = action == .off ? .offline : .online
        verified = true
        self.evidence = evidence
        reason = nil
        self.outlets = outlets
    }
}
