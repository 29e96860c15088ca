import AgentCore

/// What can go wrong talking to a provider. Every case maps to the envelope; none carries a secret.
public enum ProviderError: Error, Sendable, Equatable {
    /// The provider refused the credentials (HTTP 401 or its own "unauthorized" code).
    case unauthorized(ProviderType, detail: String)
    /// The provider does not know the server (or another object).
    case notFound(ProviderType, detail: String)
    /// The provider answered with an error of its own (status, its error code, its message).
    case rejected(ProviderType, status: Int, code: String?, detail: String)
    /// Still rate limited after the bounded waits.
    case rateLimited(ProviderType, retryAfterSeconds: Double?)
    /// The answer cannot be read: not JSON, an HTML error page, a wrong type, a missing field.
    case malformedAnswer(ProviderType, detail: String)
    /// No answer: connection refused, DNS, TLS, timeout. `ambiguous` when a state-changing request may have
    /// reached the provider.
    case unreachable(ProviderType, detail: String, ambiguous: Bool)
    /// A state the agent waited for did not come.
    case timedOut(ProviderType, waitingFor: String, lastState: String)
    /// A provider job failed; `detail` is its output (redacted).
    case jobFailed(ProviderType, detail: String)
    /// The provider cannot do it, natively or emulated.
    case unsupported(ProviderType, operation: String)
    /// A change was accepted but the state read back says it did not happen.
    case verificationFailed(ProviderType, expected: String, actual: String)
}

extension ProviderError: DeviceEffectDescribing {
    /// Refusals (credentials, unknown server, a 4xx, the rate limit, an unsupported call) leave the server
    /// untouched; an unclear answer to a state change may have been applied; a failure while waiting for the
    /// result comes after the provider took the request.
    public var deviceEffect: DeviceEffect {
        switch self {
        case .unauthorized, .notFound, .rateLimited, .unsupported: return .untouched
        case .rejected(_, let status, _, _): return status >= 500 ? .unknown : .untouched
        case .unreachable(_, _, let ambiguous): return ambiguous ? .unknown : .untouched
        case .malformedAnswer: return .unknown
        case .timedOut, .jobFailed, .verificationFailed: return .accepted
        }
    }
}

extension ProviderError: AgentErrorConvertible {
    public var agentError: AgentError {
        switch self {
        case .unauthorized(let provider, let detail):
            return AgentError(status: .badGateway, code: "provider_auth_failed", message: "\(provider.rawValue) refused the credentials: \(detail)",
                              details: ["provider": .string(provider.rawValue)])
        case .notFound(let provider, let detail):
            return AgentError(status: .notFound, code: "provider_not_found", message: "\(provider.rawValue): \(detail)",
                              details: ["provider": .string(provider.rawValue)])
        case .rejected(let provider, let status, let code, let detail):
            return AgentError(status: .badGateway, code: "provider_error", message: "\(provider.rawValue) answered \(status): \(detail)",
                              details: ["provider": .string(provider.rawValue), "providerStatus": .integer(Int64(status)),
                                        "providerCode": code.map(JSONValue.string) ?? .null])
        case .rateLimited(let provider, let retryAfter):
            return AgentError(status: .serviceUnavailable, code: "provider_rate_limited", message: "\(provider.rawValue) rate limit reached",
                              details: ["provider": .string(provider.rawValue), "retryAfterSeconds": retryAfter.map(JSONValue.double) ?? .null])
        case .malformedAnswer(let provider, let detail):
            return AgentError(status: .badGateway, code: "provider_error", message: "\(provider.rawValue) sent an answer the agent cannot read: \(detail)",
                              details: ["provider": .string(provider.rawValue)])
        case .unreachable(let provider, let detail, let ambiguous):
            return AgentError(status: .gatewayTimeout, code: "provider_unreachable", message: "\(provider.rawValue) did not answer: \(detail)",
                              details: ["provider": .string(provider.rawValue), "mayHaveApplied": .bool(ambiguous)])
        case .timedOut(let provider, let waitingFor, let lastState):
            return AgentError(status: .gatewayTimeout, code: "provider_timeout",
                              message: "\(provider.rawValue): waited for \(waitingFor), last state \(lastState)",
                              details: ["provider": .string(provider.rawValue), "lastState": .string(lastState)])
        case .jobFailed(let provider, let detail):
            return AgentError(status: .badGateway, code: "provider_job_failed", message: "\(provider.rawValue) job failed: \(detail)",
                              details: ["provider": .string(provider.rawValue)])
        case .unsupported(let provider, let operation):
            return AgentError(status: .unprocessable, code: "unsupported", message: "\(provider.rawValue) cannot \(operation)",
                              details: ["provider": .string(provider.rawValue), "operation": .string(operation)])
        case .verificationFailed(let provider, let expected, let actual):
            return AgentError(status: .badGateway, code: "verify_failed", message: "\(provider.rawValue): expected \(expected), read back \(actual)",
                              details: ["provider": .string(provider.rawValue), "expected": .string(expected), "actual": .string(actual)])
        }
    }

    /// A state-changing request that may or may not have reached the provider.
    public var isAmbiguous: Bool {
        if case .unreachable(_, _, true) = self { return true }
        if case .rejected(_, let status, _, _) = self, status >= 500 { return true }
        return false
    }
}
