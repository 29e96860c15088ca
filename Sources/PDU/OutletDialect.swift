import SNMP

/// An outlet's switch state.
public enum OutletState: String, Sendable, Codable {
    case on, off, unknown
}

/// What can be done to an outlet.
public enum OutletAction: String, Sendable, Codable, CaseIterable {
    case on, off, cycle
}

/// One outlet as the PDU reports it.
public struct Outlet: Sendable, Codable, Equatable {
    public var number: Int
    public var name: String
    public var state: OutletState
}

/// How outlet numbers map to table rows.
public enum OutletNumbering: Sendable {
    /// The outlet number is the row index (APC, Raritan).
    case index
    /// Outlets are numbered 1, 2, ... in table order across a multi-part index (ServerTech's tower.infeed.outlet).
    case position
}

/// How one PDU family names, reads and switches its outlets over SNMP: three columns and the INTEGER values
/// that mean on and off. Cycles are composed by ``PDUService`` as off, wait, on, each verified.
public struct OutletDialect: Sendable {
    public var numbering: OutletNumbering
    /// Each outlet's name (walked; the row index identifies the outlet).
    public var nameColumn: OID
    /// Read for the outlet's state.
    public var stateColumn: OID
    /// Written to switch an outlet.
    public var commandColumn: OID
    /// State column values; anything else (wait, error, unknown states) reads as unknown.
    public var stateOn: Int64
    public var stateOff: Int64
    /// Command column values.
    public var commandOn: Int64
    public var commandOff: Int64

    public func state(_ value: SNMPValue) -> OutletState {
        switch value {
        case .integer(stateOn): return .on
        case .integer(stateOff): return .off
        default: return .unknown
        }
    }

    public func command(_ state: OutletState) -> Int64 { state == .on ? commandOn : commandOff }

    /// APC PowerNet-MIB rPDU (deviceType `apc`): rPDUOutletControlOutletName / rPDUOutletControlOutletCommand.
    /// Reading the command column returns immediateOn(1) or immediateOff(2) for the outlet's present state.
    public static let apc: OutletDialect = {
        let table = OID([1, 3, 6, 1, 4, 1, 318, 1, 1, 12, 3, 3, 1, 1])
        return OutletDialect(numbering: .index, nameColumn: table.appending(2), stateColumn: table.appending(4), commandColumn: table.appending(4),
                             stateOn: 1, stateOff: 2, commandOn: 1, commandOff: 2)
    }()

    /// Raritan PDU-MIB, first generation (deviceType `raritanDominionPduMib1`): outletLabel and the read-write
    /// outletOperationalState, off(0) / on(1).
    public static let raritanPDU1: OutletDialect = {
        let table = OID([1, 3, 6, 1, 4, 1, 13742, 4, 1, 2, 2, 1])
        return OutletDialect(numbering: .index, nameColumn: table.appending(2), stateColumn: table.appending(3), commandColumn: table.appending(3),
                             stateOn: 1, stateOff: 0, commandOn: 1, commandOff: 0)
    }()

    /// ServerTech Sentry3-MIB (deviceType `sentry3`): outletName, outletStatus (off(0), on(1); offWait, onWait and
    /// the error states read as unknown) and outletControlAction (on(1), off(2)); rows tower.infeed.outlet.
    public static let sentry3: OutletDialect = {
        let table = OID([1, 3, 6, 1, 4, 1, 1718, 3, 2, 3, 1])
        return OutletDialect(numbering: .position, nameColumn: table.appending(3), stateColumn: table.appending(5), commandColumn: table.appending(11),
                             stateOn: 1, stateOff: 0, commandOn: 1, commandOff: 2)
    }()

    /// ServerTech Sentry4-MIB (deviceType `sentry4`): st4OutletName (config table), st4OutletState (monitor table:
    /// unknown(0), on(1), off(2)) and st4OutletControlAction (control table: on(1), off(2)); rows unit.cord.outlet.
    public static let sentry4: OutletDialect = {
        let outlets = OID([1, 3, 6, 1, 4, 1, 1718, 4, 1, 8])
        return OutletDialect(numbering: .position, nameColumn: outlets.appending(2, 1, 3), stateColumn: outlets.appending(3, 1, 1),
                             commandColumn: outlets.appending(5, 1, 2), stateOn: 1, stateOff: 2, commandOn: 1, commandOff: 2)
    }()

    /// Device types with outlet control, by the seed's `deviceType` names.
    public static let byDeviceType: [String: OutletDialect] = [
        "apc": .apc, "raritanDominionPduMib1": .raritanPDU1, "sentry3": .sentry3, "sentry4": .sentry4,
    ]
}
