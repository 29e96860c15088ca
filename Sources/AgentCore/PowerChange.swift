/// A power change a BMC makes, over IPMI or Redfish, and what it must lead to.
public enum PowerChange: String, Sendable, CaseIterable {
    case on, off, soft, reset, cycle

    /// Whether the server must be on afterwards (on, reset, cycle) or off (off, soft).
    public var endsOn: Bool { self == .on || self == .reset || self == .cycle }

    /// Reset and cycle end where they started (on): only evidence of the restart itself verifies them.
    public var restarts: Bool { self == .reset || self == .cycle }
}
