import AgentCore

/// One way of switching a server: a BMC, a PDU outlet, a provider API. Each driver decodes its own
/// connection meta and says which methods it supports.
public protocol PowerDriver: Sendable {
    /// The connection `type` it serves (`ipmi`, `pdu`, `ionos` ...).
    var connectionType: String { get }
    var supportedMethods: [PowerMethod] { get }
    /// What the job and the action log name as the target, e.g. `ipmi:10.0.0.5:623`. Validates the meta;
    /// errors name fields under `path` (`connection.meta`, `fallback.meta`).
    func target(meta: JSONValue, path: String) throws -> String
    /// Checks the method's parameters before any job exists (a bad request is a 400, not a failed job).
    func validate(_ method: PowerMethod, parameters: PowerParameters) throws
    /// Checks what the meta refers to, before any job exists and without touching the device (a PDU that is not
    /// registered, or whose type has no outlets).
    func checkReferences(meta: JSONValue, path: String) async throws
    /// Performs the method: the state read, a verified change, a boot device read back, command output.
    func perform(_ method: PowerMethod, parameters: PowerParameters, meta: JSONValue) async throws -> PowerOutcome
    /// "online" when the connection works.
    func testConnection(meta: JSONValue) async throws -> String
    /// The methods this device offers: by default every supported method; a driver that can ask the device (a Redfish
    /// BMC lists its reset types) answers from what the device advertises.
    func advertisedMethods(meta: JSONValue) async throws -> [PowerMethod]
}

extension PowerDriver {
    public func validate(_ method: PowerMethod, parameters: PowerParameters) throws {}
    public func checkReferences(meta: JSONValue, path: String) async throws {}
    public func advertisedMethods(meta: JSONValue) async throws -> [PowerMethod] { supportedMethods }
}

/// Routes power calls to the driver for the connection type, with failover to a fallback connection, and for an ipmi
/// connection whose BMC also speaks Redfish, optionally Redfish first.
public struct PowerRouter: Sendable {
    let drivers: [String: any PowerDriver]
    /// `redfish.preferForIPMIConnections`: ipmi connections try Redfish on the same BMC first (meta `preferRedfish`
    /// overrides it per connection).
    let preferRedfishForIPMI: Bool

    public init(drivers: [any PowerDriver], preferRedfishForIPMI: Bool = false) {
        self.drivers = Dictionary(drivers.map { ($0.connectionType, $0) }, uniquingKeysWith: { first, _ in first })
        self.preferRedfishForIPMI = preferRedfishForIPMI
    }

    public var connectionTypes: [String] { drivers.keys.sorted() }

    public func driver(for connection: ConnectionDescriptor, field: String = "connection.type") throws -> any PowerDriver {
        guard let driver = drivers[connection.type] else {
            throw AgentError.invalidField(field, "unknown connection type \(connection.type) (one of \(connectionTypes.joined(separator: ", ")))")
        }
        return driver
    }

    /// Validates the connection and method up front, so a bad request fails before any job exists.
    public func prepare(
        _ method: PowerMethod, parameters: PowerParameters, connection: ConnectionDescriptor, fallback: ConnectionDescriptor?
    ) throws -> String {
        let driver = try driver(for: connection)
        guard driver.supportedMethods.contains(method) else {
            throw AgentError.unsupported("\(method.rawValue) is not supported by \(connection.type) connections", details: ["method": .string(method.rawValue)])
        }
        let target = try driver.target(meta: connection.meta, path: "connection.meta")
        try driver.validate(method, parameters: parameters)
        if let preferred = try preferredRedfish(for: connection, method: method) {
            _ = try self.driver(for: preferred).target(meta: preferred.meta, path: "connection.meta")
        }
        if let fallback {
            let fallbackDriver = try self.driver(for: fallback, field: "fallback.type")
            _ = try fallbackDriver.target(meta: fallback.meta, path: "fallback.meta")
        }
        return target
    }

    /// What ``prepare(_:parameters:connection:fallback:)`` cannot check without a lookup: the registered devices the
    /// connections refer to (still no traffic to them).
    public func checkReferences(connection: ConnectionDescriptor, fallback: ConnectionDescriptor?) async throws {
        try await driver(for: connection).checkReferences(meta: connection.meta, path: "connection.meta")
        if let fallback { try await driver(for: fallback, field: "fallback.type").checkReferences(meta: fallback.meta, path: "fallback.meta") }
    }

    /// The Redfish connection to try before an ipmi connection, when Redfish is preferred for it: the same address and
    /// credentials, meta `redfishPort` (443), `redfishScheme` (https) and `redfishCertificateSha256`. Under the agent-wide
    /// preference an ipmi connection whose meta Redfish cannot take (a user name with a colon) simply stays on IPMI; one
    /// that asks for Redfish itself (`preferRedfish: true`) gets a 400 naming its own field.
    func preferredRedfish(for connection: ConnectionDescriptor, method: PowerMethod) throws -> ConnectionDescriptor? {
        guard connection.type == "ipmi", let redfish = drivers["redfish"], redfish.supportedMethods.contains(method) else { return nil }
        let asked = connection.meta["preferRedfish"]?.boolValue
        guard asked ?? preferRedfishForIPMI else { return nil }
        let fields = [("ip", "ip"), ("username", "username"), ("password", "password"), ("redfishPort", "port"), ("redfishScheme", "scheme"),
                      ("redfishCertificateSha256", "certificateSha256"), ("timeoutSeconds", "timeoutSeconds")]
        var meta: [String: JSONValue] = [:]
        for (ipmiKey, redfishKey) in fields { if let value = connection.meta[ipmiKey] { meta[redfishKey] = value } }
        let preferred = ConnectionDescriptor(type: "redfish", meta: .object(meta))
        do {
            _ = try redfish.target(meta: preferred.meta, path: "connection.meta")
        } catch {
            guard asked == true else { return nil }
            var agentError = AgentError.from(error)
            if case .string(let field)? = agentError.details["field"], let key = field.split(separator: ".").last,
                let ipmiKey = fields.first(where: { $0.1 == key })?.0 {
                agentError.details["field"] = .string("connection.meta.\(ipmiKey)")
                agentError.message = "connection.meta.\(ipmiKey) (for Redfish): " + agentError.message
            }
            throw agentError
        }
        return preferred
    }

    /// Runs the method; when it fails and another way can do it, runs it there. A status read moves on whatever the
    /// failure; a change only when the one that failed provably did not act (unreachable, login refused, command refused
    /// before execution). A primary that accepted the command, or may have (a timeout), keeps its error and nothing else
    /// is tried: switching the outlets after the BMC already acted would cut the power a second time.
    ///
    /// The ways, in order: Redfish on the same BMC when preferred for an ipmi connection (any method Redfish has), the
    /// connection itself, then `fallback` (only for the methods a fallback can stand in for). `noFailover` keeps to the
    /// first way: the preferred protocol when there is one, else the connection.
    public func perform(
        _ method: PowerMethod, parameters: PowerParameters, connection: ConnectionDescriptor, fallback: ConnectionDescriptor?,
        noFailover: Bool
    ) async throws -> PowerResult {
        var ways: [(connection: ConnectionDescriptor, field: String)] = [(connection, "connection.type")]
        if let preferred = try preferredRedfish(for: connection, method: method) { ways.insert((preferred, "connection.type"), at: 0) }
        if let fallback, method.canFailOver { ways.append((fallback, "fallback.type")) }
        if noFailover { ways = Array(ways.prefix(1)) }
        var firstFailure: (any Error)?
        for (index, way) in ways.enumerated() {
            let driver = try self.driver(for: way.connection, field: way.field)
            guard driver.supportedMethods.contains(method) else {
                if let firstFailure { throw firstFailure }
                throw AgentError.unsupported("\(method.rawValue) is not supported by \(way.connection.type) connections")
            }
            do {
                let outcome = try await driver.perform(method, parameters: parameters, meta: way.connection.meta)
                guard index > 0, let firstFailure else { return PowerResult(outcome: outcome) }
                return PowerResult(
                    outcome: outcome,
                    failover: PowerFailover(via: way.connection.type, primaryError: AgentError.from(firstFailure), deviceEffect: DeviceEffect.of(firstFailure)))
            } catch {
                firstFailure = firstFailure ?? error
                // A read changes nothing, so any failure lets the next way answer; a change only when nothing happened.
                guard index + 1 < ways.count, method.isReadOnly || DeviceEffect.of(error) == .untouched else { throw error }
            }
        }
        throw firstFailure ?? AgentError.internalError("no way to run \(method.rawValue)")
    }

    public func testConnection(_ connection: ConnectionDescriptor) async throws -> String {
        let driver = try driver(for: connection)
        _ = try driver.target(meta: connection.meta, path: "connection.meta")
        return try await driver.testConnection(meta: connection.meta)
    }

    /// The connection's power methods, as the device advertises them where it can say.
    public func supportedActions(_ connection: ConnectionDescriptor) async throws -> [String] {
        let driver = try driver(for: connection)
        _ = try driver.target(meta: connection.meta, path: "connection.meta")
        return try await driver.advertisedMethods(meta: connection.meta).map(\.rawValue)
    }
}
