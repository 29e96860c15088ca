/// What a failed action did to the device it was sent to. It decides whether a fallback connection (a PDU
/// outlet behind a BMC) may act instead: only when the primary provably did not act, or the server would be
/// switched twice.
public enum DeviceEffect: String, Sendable, Codable, Equatable {
    /// The device provably did not act: unreachable, the login refused, or the command refused before execution.
    case untouched
    /// It may have acted: the command went out and no clear answer came back (a timeout, a lost connection).
    case unknown
    /// It accepted the command; what failed came after (the read-back).
    case accepted

    /// The effect an error describes; an error that does not describe one counts as `unknown`, which never
    /// allows acting a second time.
    public static func of(_ error: any Error) -> DeviceEffect {
        (error as? any DeviceEffectDescribing)?.deviceEffect ?? .unknown
    }
}

/// An error that knows whether the device acted before it was raised.
public protocol DeviceEffectDescribing: Error {
    var deviceEffect: DeviceEffect { get }
}

/// A device action that failed at a known point: before anything was sent (reading the state first, the
/// evidence baseline) or after the device accepted the command (reading back). The point overrides what the
/// underlying error would suggest on its own: a timeout while reading back does not mean the command was lost.
public struct DeviceActionFailure: Error, Sendable, AgentErrorConvertible, DeviceEffectDescribing, CustomStringConvertible {
    public let deviceEffect: DeviceEffect
    /// `setPowerOff`, `outlet 3 off` ...
    public let action: String
    public let underlying: AgentError

    /// The error was raised before the command was sent.
    public static func beforeSending(_ action: String, _ error: any Error) -> DeviceActionFailure {
        DeviceActionFailure(deviceEffect: .untouched, action: action, underlying: AgentError.from(error))
    }

    /// The error was raised by the command itself: what the error says about the device stands.
    public static func whileSending(_ action: String, _ error: any Error) -> DeviceActionFailure {
        if let failure = error as? DeviceActionFailure { return failure }
        return DeviceActionFailure(deviceEffect: DeviceEffect.of(error), action: action, underlying: AgentError.from(error))
    }

    /// The error was raised after the device accepted the command.
    public static func afterAcceptance(_ action: String, _ error: any Error) -> DeviceActionFailure {
        if let failure = error as? DeviceActionFailure, failure.deviceEffect == .accepted { return failure }
        return DeviceActionFailure(deviceEffect: .accepted, action: action, underlying: AgentError.from(error))
    }

    /// Before or while sending: the underlying error as it is, with `deviceEffect` in its details. After acceptance: `not_verified`, so that nobody retries a
    /// command the device already took because the message happens to say "unreachable".
    public var agentError: AgentError {
        var error = underlying
        switch deviceEffect {
        case .untouched, .unknown:
            break
        case .accepted:
            error.status = underlying.status == .gatewayTimeout ? .gatewayTimeout : .badGateway
            error.code = "not_verified"
            error.message = "\(action) was accepted but could not be verified: \(underlying.message)"
            error.details["cause"] = .string(underlying.code)
        }
        error.details["deviceEffect"] = .string(deviceEffect.rawValue)
        return error
    }

    public var description: String { agentError.message }
}
