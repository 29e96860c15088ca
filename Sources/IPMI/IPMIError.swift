import AgentCore

/// What went wrong talking to a BMC. Messages name the BMC's address, never a password.
public enum IPMIError: Error, Sendable, Equatable, AgentErrorConvertible, DeviceEffectDescribing, CustomStringConvertible {
    /// Wrong user name or password, or a privilege the account does not have.
    case authenticationFailed(bmc: String, detail: String)
    /// No answer from the BMC while setting up the session: nothing was sent.
    case unreachable(bmc: String, detail: String)
    /// The session was up and the command sent, but its answer never came (or the BMC dropped the session on the
    /// way): the command may have been carried out.
    case answerLost(bmc: String, detail: String)
    /// The BMC says it is busy or out of sessions.
    case busy(bmc: String, detail: String)
    /// The BMC does not implement the command.
    case unsupportedCommand(bmc: String, detail: String)
    /// The BMC refused a parameter.
    case invalidParameter(bmc: String, detail: String)
    /// ipmitool did not finish within the timeout and was killed.
    case timeout(bmc: String, seconds: Double)
    /// The command ran but reading back showed a different state.
    case verificationFailed(bmc: String, expected: String, actual: String)
    /// Any other ipmitool failure.
    case commandFailed(bmc: String, detail: String)
    /// The custom command is outside the allow-list.
    case commandNotAllowed(command: String, reason: String)

    public var description: String { agentError.message }

    /// ipmitool opens a session before it sends anything: a refused login, a BMC that never answered the session
    /// set-up and a command the BMC refused leave the server untouched. A timeout or an unexplained failure may
    /// have come after the command reached the BMC.
    public var deviceEffect: DeviceEffect {
        switch self {
        case .authenticationFailed, .unreachable, .busy, .unsupportedCommand, .invalidParameter, .commandNotAllowed: return .untouched
        case .timeout, .commandFailed, .answerLost: return .unknown
        case .verificationFailed: return .accepted
        }
    }

    public var agentError: AgentError {
        switch self {
        case .authenticationFailed(let bmc, let detail):
            return AgentError(status: .badGateway, code: "auth_failed", message: "BMC \(bmc) refused the login: \(detail)", details: ["bmc": .string(bmc)])
        case .unreachable(let bmc, let detail):
            return AgentError(status: .gatewayTimeout, code: "bmc_unreachable", message: "BMC \(bmc) did not answer: \(detail)", details: ["bmc": .string(bmc)])
        case .answerLost(let bmc, let detail):
            return AgentError(
                status: .gatewayTimeout, code: "bmc_no_answer", message: "BMC \(bmc) took the command but did not answer: \(detail)",
                details: ["bmc": .string(bmc)])
        case .busy(let bmc, let detail):
            return AgentError(status: .conflict, code: "bmc_busy", message: "BMC \(bmc) is busy: \(detail)", details: ["bmc": .string(bmc)])
        case .unsupportedCommand(let bmc, let detail):
            return AgentError(
                status: .unprocessable, code: "unsupported_command", message: "BMC \(bmc) does not support this: \(detail)",
                details: ["bmc": .string(bmc)])
        case .invalidParameter(let bmc, let detail):
            return AgentError(
                status: .unprocessable, code: "invalid_parameter", message: "BMC \(bmc) refused a parameter: \(detail)",
                details: ["bmc": .string(bmc)])
        case .timeout(let bmc, let seconds):
            return AgentError(
                status: .gatewayTimeout, code: "timeout", message: "BMC \(bmc) did not finish within \(seconds) s",
                details: ["bmc": .string(bmc), "timeoutSeconds": .double(seconds)])
        case .verificationFailed(let bmc, let expected, let actual):
            return AgentError(
                status: .badGateway, code: "verify_failed", message: "BMC \(bmc) reports \(actual), expected \(expected)",
                details: ["bmc": .string(bmc), "expected": .string(expected), "actual": .string(actual)])
        case .commandFailed(let bmc, let detail):
            return AgentError(status: .badGateway, code: "bmc_error", message: "BMC \(bmc): \(detail)", details: ["bmc": .string(bmc)])
        case .commandNotAllowed(let command, let reason):
            return AgentError(
                status: .badRequest, code: "command_not_allowed", message: "params: \(reason)",
                details: ["field": "params", "command": .string(command)])
        }
    }
}

/// Maps ipmitool's error text to a typed error.
enum IPMIErrorClassifier {
    /// Phrases ipmitool prints when the session could not be set up at all; the cause needs a closer look.
    static let sessionFailures = ["Unable to establish IPMI v2 / RMCP+ session", "Unable to establish LAN session", "Unable to establish IPMI v1.5"]

    static func isSessionFailure(_ text: String) -> Bool {
        sessionFailures.contains { text.contains($0) }
    }

    /// Classifies a failed command from its stderr (and stdout, where some errors land). The detail is the
    /// line that decided the class, so "RAKP 2 HMAC is invalid" wins over the generic session message.
    static func classify(_ text: String, bmc: String) -> IPMIError {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        func line(matching phrases: [String]) -> String? {
            for phrase in phrases {
                if let match = lines.first(where: { $0.lowercased().contains(phrase.lowercased()) }) { return String(match.prefix(300)) }
            }
            return nil
        }
        if let detail = line(matching: authenticationPhrases) { return .authenticationFailed(bmc: bmc, detail: detail) }
        if let detail = line(matching: busyPhrases) { return .busy(bmc: bmc, detail: detail) }
        if let detail = line(matching: unreachablePhrases) { return .unreachable(bmc: bmc, detail: detail) }
        if let detail = line(matching: lostAnswerPhrases) { return .answerLost(bmc: bmc, detail: detail) }
        if let detail = line(matching: unsupportedPhrases) { return .unsupportedCommand(bmc: bmc, detail: detail) }
        if let detail = line(matching: invalidParameterPhrases) { return .invalidParameter(bmc: bmc, detail: detail) }
        let detail = summary(text)
        return .commandFailed(bmc: bmc, detail: detail.isEmpty ? "ipmitool failed" : detail)
    }

    static let authenticationPhrases = [
        "RAKP 2 HMAC is invalid", "unauthorized name", "RAKP 4 message has invalid integrity", "Invalid user name",
        "Activate Session command failed", "Password is invalid", "Insufficient privilege",
    ]
    static let busyPhrases = ["Node busy", "insufficient resources for session", "Out of space", "compcode = c0", "Insufficient resources"]
    /// Failures of the session set-up, before any command was sent.
    static let unreachablePhrases = [
        "Get Auth Capabilities error", "Error issuing Get Channel Authentication", "Connection refused", "Name or service not known",
        "Address lookup", "Unable to establish",
    ]
    /// Checked after the session set-up phrases: on their own, these mean the command went out and its answer did
    /// not come back (ipmitool prints "No response from remote controller" for both).
    static let lostAnswerPhrases = ["No response from remote controller", "Invalid session ID in request"]
    static let unsupportedPhrases = [
        "Invalid command", "Invalid chassis command", "not supported", "Command not supported", "Unknown command",
        "compcode = c1", "compcode = d5",
    ]
    static let invalidParameterPhrases = [
        "Invalid data field", "Parameter out of range", "Request data length invalid", "is invalid", "out of range",
        "is limited to", "too long", "Invalid argument", "compcode = cc", "compcode = c9",
    ]

    /// The last meaningful line of ipmitool's error text, trimmed to a sane length.
    static func summary(_ text: String) -> String {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("Loading IANA") && !$0.hasPrefix("Running Get") && !$0.hasPrefix("Discovered") }
        let line = lines.last(where: { $0.hasPrefix("Error") }) ?? lines.last ?? ""
        return String(line.prefix(300))
    }
}
