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
    /// Outlets are numbered 1, 2, ... in table order across a multi-part index (Sentry3's tower.infeed.outlet).
    case position
}

/// How one PDU family names, reads and switches its outlets over SNMP.
public protocol OutletDialect: Sendable {
    var numbering: OutletNumbering { get }
    /// The table column with each outlet's name (walked; the index is the outlet number).
    var nameColumn: OID { get }
    /// The column read for the outlet's state.
    var stateColumn: OID { get }
    /// The column written to switch an outlet.
    var commandColumn: OID { get }
    func state(_ value: SNMPValue) -> OutletState
    /// The INTEGER to write for `on` or `off` (cycles are composed by ``PDUService`` as off, wait, on, each verified).
    func command(_ state: OutletState) -> Int64
}

extension OutletDialect {
    public var numbering: OutletNumbering { .index }
}

/// APC PowerNet-MIB rPDU (deviceType `apc`): rPDUOutletControlOutletName / rPDUOutletControlOutletCommand.
/// Reading the command column returns immediateOn(1) or immediateOff(2) for the outlet's present state.
public struct APCOutletDialect: OutletDialect {
    public init() {}
    static let table = OID([1, 3, 6, 1, 4, 1, 318, 1, 1, 12, 3, 3, 1, 1])
    public var nameColumn: OID { Self.table.appending(2) }
    public var stateColumn: OID { Self.table.appending(4) }
    public var commandColumn: OID { Self.table.appending(4) }
    public func state(_ value: SNMPValue) -> OutletState {
        switch value {
        case .integer(1): return .on
        case .integer(2): return .off
        default: return .unknown
        }
    }
    public func command(_ state: OutletState) -> Int64 { state == .on ? 1 : 2 }
}

/// Raritan PDU-MIB (first generation, deviceType `raritanDominionPduMib1`): outletLabel and the read-write
/// outletOperationalState, off(0) / on(1).
public struct RaritanPDU1OutletDialect: OutletDialect {
    public init() {}
    static let table = OID([1, 3, 6, 1, 4, 1, 13742, 4, 1, 2, 2, 1])
    public var nameColumn: OID { Self.table.appending(2) }
    public var stateColumn: OID { Self.table.appending(3) }
    public var commandColumn: OID { Self.table.appending(3) }
    public func state(_ value: SNMPValue) -> OutletState {
        switch value {
        case .integer(1): return .on
        case .integer(0): return .off
        default: return .unknown
        }
    }
    public func command(_ state: OutletState) -> Int64 { state == .on ? 1 : 0 }
}

/// ServerTech Sentry3-MIB (deviceType `sentry3`): outletName, outletStatus (off(0), on(1); the wait and error states
/// read as unknown until they settle) and the write-only-in-effect outletControlAction (on(1), off(2)). Rows are
/// indexed tower.infeed.outlet; outlet numbers count them in table order.
public struct Sentry3OutletDialect: OutletDialect {
    public init() {}
    static let table = OID([1, 3, 6, 1, 4, 1, 1718, 3, 2, 3, 1])
    public var numbering: OutletNumbering { .position }
    public var nameColumn: OID { Self.table.appending(3) }
    public var stateColumn: OID { Self.table.appending(5) }
    public var commandColumn: OID { Self.table.appending(11) }
    public func state(_ value: SNMPValue) -> OutletState {
        switch value {
        case .integer(1): return .on
        case .integer(0): return .off
        default: return .unknown
        }
    }
    public func command(_ state: OutletState) -> Int64 { state == .on ? 1 : 2 }
}

/// ServerTech Sentry4-MIB (deviceType `sentry4`): st4OutletName (config table), st4OutletState (monitor table:
/// unknown(0), on(1), off(2)) and st4OutletControlAction (control table: on(1), off(2)). Rows are indexed
/// unit.inputCord.outlet; outlet numbers count them in table order.
public struct Sentry4OutletDialect: OutletDialect {
    public init() {}
    static let outlets = OID([1, 3, 6, 1, 4, 1, 1718, 4, 1, 8])
    public var numbering: OutletNumbering { .position }
    public var nameColumn: OID { Self.outlets.appending(2, 1, 3) }
    public var stateColumn: OID { Self.outlets.appending(3, 1, 1) }
    public var commandColumn: OID { Self.outlets.appending(5, 1, 2) }
    public func state(_ value: SNMPValue) -> OutletState {
        switch value {
        case .integer(1): return .on
        case .integer(2): return .off
        default: return .unknown
        }
    }
    public func command(_ state: OutletState) -> Int64 { state == .on ? 1 : 2 }
}

public enum OutletDialects {
    /// Device types with outlet control, by the seed's `deviceType` names.
    public static let byDeviceType: [String: any OutletDialect] = [
        "apc": APCOutletDialect(),
        "raritanDominionPduMib1": RaritanPDU1OutletDialect(),
        "sentry3": Sentry3OutletDialect(),
        "sentry4": Sentry4OutletDialect(),
    ]
}
