import AgentCore

/// What went wrong talking SNMP to a device; messages name the host, never a community or passphrase.
public enum SNMPError: Error, Sendable, Equatable, AgentErrorConvertible, DeviceEffectDescribing, CustomStringConvertible {
    /// No answer within timeout × retries.
    case timeout(host: String)
    /// Wrong v3 credentials, unknown user or engine, or a community the device ignores as unauthenticated.
    case authenticationFailed(host: String, detail: String)
    /// The device answered with an error status (noSuchName, notWritable, ...).
    case deviceError(host: String, status: String, oid: String?)
    /// The session could not be opened (bad address, unknown host name).
    case sessionFailed(host: String, detail: String)
    /// An OID has no value on this device.
    case noSuchObject(host: String, oid: String)

    public var description: String { agentError.message }

    /// A SET that timed out may have been applied (the answer, not the request, may be what was lost), and so may
    /// one the device answered with commitFailed, undoFailed (RFC 3416: part of it stuck) or genErr (anything);
    /// any other error status, refused credentials or a session that never opened mean the device did not act.
    public var deviceEffect: DeviceEffect {
        switch self {
        case .timeout: return .unknown
        case .deviceError(_, let status, _) where Self.statusesThatMayHaveActed.contains(status): return .unknown
        case .authenticationFailed, .deviceError, .sessionFailed, .noSuchObject: return .untouched
        }
    }

    static let statusesThatMayHaveActed: Set<String> = ["commitFailed", "undoFailed", "genErr"]

    public var agentError: AgentError {
        switch self {
        case .timeout(let host):
            return AgentError(status: .gatewayTimeout, code: "snmp_timeout", message: "SNMP device \(host) did not answer in time", details: ["host": .string(host)])
        case .authenticationFailed(let host, let detail):
            return AgentError(status: .badGateway, code: "snmp_auth_failed", message: "SNMP device \(host) refused the credentials: \(detail)", details: ["host": .string(host)])
        case .deviceError(let host, let status, let oid):
            var details: [String: JSONValue] = ["host": .string(host), "status": .string(status)]
            if let oid { details["oid"] = .string(oid) }
            return AgentError(status: .badGateway, code: "snmp_error", message: "SNMP device \(host) answered \(status)\(oid.map { " for \($0)" } ?? "")", details: details)
        case .sessionFailed(let host, let detail):
            return AgentError(status: .badGateway, code: "snmp_session_failed", message: "cannot open an SNMP session to \(host): \(detail)", details: ["host": .string(host)])
        case .noSuchObject(let host, let oid):
            return AgentError(status: .badGateway, code: "snmp_no_such_object", message: "SNMP device \(host) has no value for \(oid)", details: ["host": .string(host), "oid": .string(oid)])
        }
    }

    /// RFC 3416 error-status names.
    static let statusNames = [
        1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly", 5: "genErr", 6: "noAccess", 7: "wrongType", 8: "wrongLength",
        9: "wrongEncoding", 10: "wrongValue", 11: "noCreation", 12: "inconsistentValue", 13: "resourceUnavailable",
        14: "commitFailed", 15: "undoFailed", 16: "authorizationError", 17: "notWritable", 18: "inconsistentName",
    ]
}
