/// What a power change found, over IPMI or Redfish. `verified` is true only with `evidence`; otherwise `reason` says
/// why not.
public struct PowerChangeReport: Sendable, Codable, Equatable {
    public var result = "executed"
    public var action: String
    /// Redfish: the reset types posted, in order (a cycle without PowerCycle is ForceOff, then On); nil over IPMI.
    public var resetTypes: [String]?
    /// The state read back: online or offline.
    public var powerState: ServerPowerState
    public var verified: Bool
    /// What proved the change: the state read back, power seen off and on again, a new restart cause, a SEL event.
    public var evidence: String?
    /// Why the change is not verified (a reset whose restart left no trace the agent could read).
    public var reason: String?
    public var checks: Int
    public var seconds: Double

    public init(
        action: String, resetTypes: [String]? = nil, powerState: ServerPowerState, verified: Bool, evidence: String?, reason: String?, checks: Int,
        seconds: Double
    ) {
        self.action = action
        self.resetTypes = resetTypes
        self.powerState = powerState
        self.verified = verified
        self.evidence = evidence
        self.reason = reason
        self.checks = checks
        self.seconds = seconds
    }
}

/// One sensor reading, over IPMI (`sdr elist`) or Redfish (a chassis' Thermal and Power).
public struct SensorReading: Sendable, Equatable, Codable {
    public var name: String
    /// Sensor number, e.g. "04h" (IPMI), or the member id (Redfish).
    public var id: String
    /// ok, ns (no reading), nc/cr/nr (non-critical, critical, non-recoverable), lnc/lcr/lnr ...
    public var status: String
    public var entity: String
    public var value: Double?
    public var unit: String?
    /// The reading column as printed ("23 degrees C", "Presence detected").
    public var reading: String

    public init(name: String, id: String, status: String, entity: String, value: Double?, unit: String?, reading: String) {
        self.name = name
        self.id = id
        self.status = status
        self.entity = entity
        self.value = value
        self.unit = unit
        self.reading = reading
    }
}
