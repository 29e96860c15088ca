import AgentCore

/// What went wrong talking to a Redfish service. Messages name the BMC's address, never a password or token.
public enum RedfishError: Error, Sendable, Equatable, AgentErrorConvertible, DeviceEffectDescribing, CustomStringConvertible {
    /// No connection (refused, no route, TLS handshake failed): nothing was sent.
    case unreachable(bmc: String, detail: String)
    /// The request went out and no answer came within the timeout: it may have been carried out.
    case timeout(bmc: String, seconds: Double)
    /// The login was refused (401/403 to the session or Basic credentials, after one fresh login).
    case authenticationFailed(bmc: String, detail: String)
    /// The BMC presented a certificate other than the pinned or first-seen one.
    case certificateMismatch(bmc: String, expected: String, presented: String)
    /// 503 (or 429) every time, after the bounded retries: the BMC refused the request while busy.
    case busy(bmc: String, attempts: Int)
    /// The BMC refused the request with a 4xx naming why (a reset type it does not take, a boot target it refuses).
    case refused(bmc: String, status: Int, message: String)
    /// The service does not offer what the call needs (no Systems, no reset action, a reset type not advertised).
    case unsupported(bmc: String, detail: String)
    /// An answer the agent cannot use (not JSON, a link outside the service).
    case malformedAnswer(bmc: String, detail: String)
    /// A 5xx other than 503: the BMC failed while handling the request, which may have been carried out in part.
    case serverError(bmc: String, status: Int, message: String)
    /// The change was accepted but reading back showed a different state.
    case verificationFailed(bmc: String, expected: String, actual: String)

    public var description: String { agentError.message }

    /// A refused request (4xx, 503, a login refused, a certificate that did not match) was not carried out. A timeout
    /// or an answer the agent cannot read may have come after the BMC acted.
    public var deviceEffect: DeviceEffect {
        switch self {
        case .unreachable, .authenticationFailed, .certificateMismatch, .busy, .refused, .unsupported: return .untouched
        case .timeout, .malformedAnswer, .serverError: return .unknown
        case .verificationFailed: return .accepted
        }
    }

    public var agentError: AgentError {
        switch self {
        case .unreachable(let bmc, let detail):
            return AgentError(status: .gatewayTimeout, code: "bmc_unreachable", message: "BMC \(bmc) did not answer: \(detail)", details: ["bmc": .string(bmc)])
        case .timeout(let bmc, let seconds):
            return AgentError(
                status: .gatewayTimeout, code: "timeout", message: "BMC \(bmc) did not answer within \(seconds) s",
                details: ["bmc": .string(bmc), "timeoutSeconds": .double(seconds)])
        case .authenticationFailed(let bmc, let detail):
            return AgentError(status: .badGateway, code: "auth_failed", message: "BMC \(bmc) refused the login: \(detail)", details: ["bmc": .string(bmc)])
        case .certificateMismatch(let bmc, let expected, let presented):
            return AgentError(
                status: .badGateway, code: "certificate_mismatch",
                message: "BMC \(bmc) presented certificate \(presented), expected \(expected) (replace certificateSha256 or forget the remembered one if the BMC was replaced)",
                details: ["bmc": .string(bmc), "expected": .string(expected), "presented": .string(presented)])
        case .busy(let bmc, let attempts):
            return AgentError(
                status: .conflict, code: "bmc_busy", message: "BMC \(bmc) answered busy (503) \(attempts) times",
                details: ["bmc": .string(bmc), "attempts": .integer(Int64(attempts))])
        case .refused(let bmc, let status, let message):
            return AgentError(
                status: .unprocessable, code: "bmc_refused", message: "BMC \(bmc) refused the request (HTTP \(status)): \(message)",
                details: ["bmc": .string(bmc), "httpStatus": .integer(Int64(status))])
        case .unsupported(let bmc, let detail):
            return AgentError(
                status: .unprocessable, code: "unsupported_command", message: "BMC \(bmc) does not support this: \(detail)", details: ["bmc": .string(bmc)])
        case .malformedAnswer(let bmc, let detail):
            return AgentError(status: .badGateway, code: "bmc_error", message: "BMC \(bmc): \(detail)", details: ["bmc": .string(bmc)])
        case .serverError(let bmc, let status, let message):
            return AgentError(
                status: .badGateway, code: "bmc_error", message: "BMC \(bmc) failed handling the request (HTTP \(status)): \(message)",
                details: ["bmc": .string(bmc), "httpStatus": .integer(Int64(status))])
        case .verificationFailed(let bmc, let expected, let actual):
            return AgentError(
                status: .badGateway, code: "verify_failed", message: "BMC \(bmc) reports \(actual), expected \(expected)",
                details: ["bmc": .string(bmc), "expected": .string(expected), "actual": .string(actual)])
        }
    }
}
