import AgentCore

/// What can go wrong talking to a switch; each maps to the envelope with a stable code.
public enum SwitchError: Error, Sendable, Equatable, AgentErrorConvertible, CustomStringConvertible {
    /// TCP connect, SSH handshake or a read did not finish in time (504).
    case timeout(device: String, phase: String)
    /// Connection refused, reset, DNS failure (502).
    case unreachable(device: String, detail: String)
    /// The SSH layer failed (handshake, channel) (502).
    case ssh(device: String, detail: String)
    /// The device refused the credentials (502, `authentication_failed`).
    case authenticationFailed(device: String, methods: String)
    /// The host key differs from the pinned or first-seen one (502, `host_key_mismatch`).
    case hostKeyMismatch(device: String, expected: String, presented: String)
    /// Pinned policy without a pinned key (400).
    case hostKeyNotPinned(device: String)
    /// The CLI rejected a command (502, `command_rejected`).
    case commandRejected(device: String, command: String, message: String)
    /// Output the dialect cannot read (502).
    case unexpectedOutput(device: String, command: String, detail: String)
    /// The platform lacks the structured output the dialect needs (422).
    case structuredOutputUnavailable(device: String, dialect: String, command: String)
    /// The change was applied but reading back found something else (502, `verify_failed`).
    case verifyFailed(device: String, detail: String)
    /// The change stopped half way for another reason (a command timed out, the session dropped) and the device
    /// was put back as it was (502, `change_interrupted`).
    case changeInterrupted(device: String, failure: String, outcome: String)
    /// A change failed (refused half way or read back wrong) and putting the device back failed too: it may be left
    /// half changed (502, `rollback_failed`).
    case rollbackFailed(device: String, failure: String, detail: String)
    /// The interface or VLAN does not exist on the device (404).
    case notFound(device: String, what: String)
    /// createVlan for a VLAN that exists with other settings (409).
    case vlanExists(device: String, id: Int)

    public var description: String { agentError.message }

    public var agentError: AgentError {
        switch self {
        case .timeout(let device, let phase):
            return AgentError(status: .gatewayTimeout, code: "device_timeout", message: "\(device) did not answer in time (\(phase))",
                              details: ["device": .string(device), "phase": .string(phase)])
        case .unreachable(let device, let detail):
            return AgentError(status: .badGateway, code: "device_unreachable", message: "\(device): \(detail)", details: ["device": .string(device)])
        case .ssh(let device, let detail):
            return AgentError(status: .badGateway, code: "ssh_error", message: "\(device): \(detail)", details: ["device": .string(device)])
        case .authenticationFailed(let device, let methods):
            return AgentError(status: .badGateway, code: "authentication_failed", message: "\(device) refused the credentials (offers: \(methods))",
                              details: ["device": .string(device)])
        case .hostKeyMismatch(let device, let expected, let presented):
            return AgentError(
                status: .badGateway, code: "host_key_mismatch",
                message: "\(device) presented host key \(presented), expected \(expected); refusing to connect",
                details: ["device": .string(device), "expected": .string(expected), "presented": .string(presented)])
        case .hostKeyNotPinned(let device):
            return AgentError(status: .badRequest, code: "invalid_field", message: "meta.hostKeySha256: required for \(device) (ssh.hostKeyPolicy is pinned)",
                              details: ["field": "meta.hostKeySha256"])
        case .commandRejected(let device, let command, let message):
            return AgentError(status: .badGateway, code: "command_rejected", message: "\(device) rejected `\(command)`: \(message)",
                              details: ["device": .string(device), "command": .string(command)])
        case .unexpectedOutput(let device, let command, let detail):
            return AgentError(status: .badGateway, code: "unexpected_output", message: "\(device): cannot read the output of `\(command)`: \(detail)",
                              details: ["device": .string(device), "command": .string(command)])
        case .structuredOutputUnavailable(let device, let dialect, let command):
            return AgentError(
                status: .unprocessable, code: "structured_output_unavailable",
                message: "\(device) does not offer `\(command)`; the \(dialect) dialect needs it (the platform is too old)",
                details: ["device": .string(device), "command": .string(command)])
        case .verifyFailed(let device, let detail):
            return AgentError(status: .badGateway, code: "verify_failed", message: "\(device): the change did not take: \(detail)",
                              details: ["device": .string(device)])
        case .changeInterrupted(let device, let failure, let outcome):
            return AgentError(
                status: .badGateway, code: "change_interrupted", message: "\(device): the change stopped half way: \(failure) (\(outcome))",
                details: ["device": .string(device), "failure": .string(failure)])
        case .rollbackFailed(let device, let failure, let detail):
            return AgentError(
                status: .badGateway, code: "rollback_failed",
                message: "\(device): \(failure); undoing it failed, the device may be left changed: \(detail)",
                details: ["device": .string(device), "failure": .string(failure)])
        case .notFound(let device, let what):
            return AgentError(status: .notFound, code: "not_found", message: "\(device) has no \(what)", details: ["device": .string(device)])
        case .vlanExists(let device, let id):
            return .conflict("vlan_exists", "\(device) already has VLAN \(id) with other settings; use updateVlan", details: ["vlanId": .integer(Int64(id))])
        }
    }
}
