import AgentCore

/// Errors of installations; on the boot side a wrong or expired token is a plain 404 (and a log line).
public enum InstallationError: Error, Sendable, AgentErrorConvertible {
    case running(serverId: String, kind: InstallationKind)
    case macBusy(mac: String, serverId: String)
    case unknownToken
    case notRunning(String)
    /// The installation needs the boot device or the power switched, and this agent has no power drivers.
    case noPowerDrivers
    /// The installation ended, but part of its clean-up (DHCP restore, boot device, power reset) failed.
    case cleanupFailed(serverId: String, state: InstallationState, failures: [CleanupStep])

    public var agentError: AgentError {
        switch self {
        case .running(let serverId, let kind):
            return .conflict("installation_running", "server \(serverId) already has a running \(kind.rawValue)", details: ["serverId": .string(serverId)])
        case .macBusy(let mac, let serverId):
            return .conflict("installation_running", "\(mac) is being installed as server \(serverId)", details: ["mac": .string(mac), "serverId": .string(serverId)])
        case .unknownToken:
            return AgentError(status: .notFound, code: "not_found", message: "unknown or expired installation URL")
        case .noPowerDrivers:
            return .unsupported("this agent has no power drivers for installations")
        case .notRunning(let serverId):
            return .conflict("installation_not_running", "server \(serverId) has no running installation", details: ["serverId": .string(serverId)])
        case .cleanupFailed(let serverId, let state, let failures):
            return AgentError(
                status: .badGateway, code: "installation_cleanup_failed",
                message: "installation of server \(serverId) \(state.rawValue), but clean-up failed: "
                    + failures.map { "\($0.name): \($0.detail)" }.joined(separator: "; "),
                details: ["serverId": .string(serverId), "state": .string(state.rawValue), "failures": .array(failures.map(\.json))])
        }
    }
}
