import AgentCore
import IPMI
import Providers
import Redfish

/// What a driver reports after a power change: the state it read back and what verified the change (or why
/// nothing could). Each driver keeps its own details (IPMI checks, outlets, provider steps), encoded as they are.
public protocol PowerChangeReporting: Sendable, Encodable {
    /// The state read back after the change.
    var powerState: ServerPowerState { get }
    /// True only with ``evidence``.
    var verified: Bool { get }
    /// What proved the change: the state read back, power seen off and on again, a new restart cause.
    var evidence: String? { get }
    /// Why the change is not verified.
    var reason: String? { get }
}

/// What a driver reports after setting the boot device: what the BMC stored, read back.
public protocol BootDeviceReporting: Sendable, Encodable {
    /// True when the read-back shows what was asked for.
    var verified: Bool { get }
    /// The read-back as text for the installation log.
    var readBack: String { get }
}

/// What a driver reports after resetting the BMC itself.
public protocol BMCResetReporting: Sendable, Encodable {
    /// True when the BMC answered again after the reset.
    var verified: Bool { get }
    /// `warm`, `cold`, `GracefulRestart` ...
    var resetKind: String { get }
}

extension PowerChangeReport: PowerChangeReporting {}
extension ProviderPowerReport: PowerChangeReporting {}

extension BootDeviceReport: BootDeviceReporting {
    public var verified: Bool { stored.valid }
    public var readBack: String { (try? JSONValue(encoding: stored).jsonText) ?? stored.deviceSelector }
}

extension RedfishBootReport: BootDeviceReporting {
    public var readBack: String { (try? JSONValue(encoding: stored).jsonText) ?? (stored.target ?? "") }
}

extension BMCResetReport: BMCResetReporting {
    public var resetKind: String { reset }
}

extension RedfishManagerResetReport: BMCResetReporting {
    public var resetKind: String { resetType }
}

/// What a power method did. Drivers return it; the API edge encodes it to the seed's shapes, installations read
/// it directly.
public enum PowerOutcome: Sendable {
    /// getPowerStatus: the state read.
    case state(ServerPowerState)
    /// A power change and its verification.
    case change(any PowerChangeReporting)
    /// A boot device set and read back.
    case bootDevice(any BootDeviceReporting)
    /// A BMC reset and the BMC answering again.
    case bmcReset(any BMCResetReporting)
    /// executeCustomCommand: the command's output.
    case commandOutput(String)

    /// The state the outcome shows the server in: the state read, or a change's read-back.
    public var powerState: ServerPowerState? {
        switch self {
        case .state(let state): return state
        case .change(let report): return report.powerState
        case .bootDevice, .bmcReset, .commandOutput: return nil
        }
    }
}

/// A method's outcome as the router returns it, with the failover that produced it, if any.
public struct PowerResult: Sendable {
    /// What the method did (on the fallback when ``failover`` is set).
    public var outcome: PowerOutcome
    /// Set when the fallback connection produced the outcome because the primary failed.
    public var failover: PowerFailover?

    public init(outcome: PowerOutcome, failover: PowerFailover? = nil) {
        self.outcome = outcome
        self.failover = failover
    }
}

/// Why the fallback connection answered instead of the primary.
public struct PowerFailover: Sendable {
    /// The fallback's connection type (`pdu` ...).
    public var via: String
    /// The primary's error.
    public var primaryError: AgentError
    /// What the primary's failure did to the device (only `untouched` lets a change fail over).
    public var deviceEffect: DeviceEffect

    public init(via: String, primaryError: AgentError, deviceEffect: DeviceEffect) {
        self.via = via
        self.primaryError = primaryError
        self.deviceEffect = deviceEffect
    }
}
