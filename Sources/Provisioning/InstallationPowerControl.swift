import AgentCore

/// What an installation needs from the power side; the controller API implements it with the power router
/// (IPMI, PDU, providers), so this module stays free of drivers.
public protocol InstallationPowerControl: Sendable {
    /// Checks the connection before anything happens (a 400 naming the field); `virtualMedia` when the installation
    /// boots an ISO through the BMC.
    func validate(connection: JSONValue, virtualMedia: Bool) throws
    /// `pxe` or `disk`, verified by reading back.
    func setBootDevice(_ device: String, connection: JSONValue) async throws -> InstallationPowerStep
    /// Power cycle (or hard reset when `hard`) a server that is on, power on one that is off.
    func restart(connection: JSONValue, hard: Bool) async throws -> InstallationPowerStep
    /// Mounts the image at `imageURL` on the server's virtual CD and sets the next boot (only that one) to the CD,
    /// both read back.
    func mountBootMedia(imageURL: String, connection: JSONValue) async throws -> InstallationPowerStep
    /// Ejects what the server's virtual CD holds, read back.
    func ejectBootMedia(connection: JSONValue) async throws -> InstallationPowerStep
    /// A hard reset of a server that is on, so it stops running the installer (aborting an installation); a server
    /// that is off is left off.
    func reset(connection: JSONValue) async throws -> InstallationPowerStep
}

/// What one power step of an installation did; its description is the line in the installation's log.
public enum InstallationPowerStep: Sendable, Equatable, CustomStringConvertible {
    /// The boot device was set and read back.
    case bootDevice(String, PowerStepCheck)
    /// The server was off and was powered on.
    case poweredOn(PowerStepCheck)
    /// The server was on and was power cycled, or reset when `hard`.
    case restarted(hard: Bool, PowerStepCheck)
    /// The server was on and was reset (to stop an installer).
    case reset(PowerStepCheck)
    /// The server was off and was left off.
    case leftOff
    /// The image was mounted on the virtual CD and the next boot set to it.
    case mediaMounted(String, PowerStepCheck)
    /// The virtual CD was emptied.
    case mediaEjected(PowerStepCheck)

    public var description: String {
        switch self {
        case .bootDevice(let device, let check): return "\(device) (\(check))"
        case .poweredOn(let check): return "was off, powered on (\(check))"
        case .restarted(let hard, let check): return "\(hard ? "reset" : "power cycled") (\(check))"
        case .reset(let check): return "reset (\(check))"
        case .leftOff: return "server is off, left off"
        case .mediaMounted(let url, let check): return "\(url) mounted, next boot from the virtual CD (\(check))"
        case .mediaEjected(let check): return "virtual CD ejected (\(check))"
        }
    }
}

/// How a power step was checked: verified, with what proved it, or done without proof, with why.
public struct PowerStepCheck: Sendable, Equatable, CustomStringConvertible {
    /// True when the driver read back what it did.
    public var verified: Bool
    /// The evidence when verified, the reason when not, in words.
    public var summary: String

    /// A check; `summary` is its text in the installation's log.
    public init(verified: Bool, summary: String) {
        self.verified = verified
        self.summary = summary
    }

    public var description: String { summary }
}
