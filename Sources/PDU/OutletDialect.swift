import SNMP

/// An outlet's switch state.
public enum OutletState: String, Sendable, Codable {
    case on, off, unknown
}

/// What can be done to an outlet.
public enum OutletAction: String, Sendable, Codable, CaseIterable {
    case on, off, cycle
}

/// One outlet as the PDU reports it, with its meters where the PDU has them.
public struct Outlet: Sendable, Codable, Equatable {
    public var number: Int
    public var name: String
    public var state: OutletState
    public var currentAmps: Double?
    public var powerWatts: Double?
    public var energyKWh: Double?

    public init(number: Int, name: String, state: OutletState, currentAmps: Double? = nil, powerWatts: Double? = nil, energyKWh: Double? = nil) {
        self.number = number
        self.name = name
        self.state = state
        self.currentAmps = currentAmps
        self.powerWatts = powerWatts
        self.energyKWh = energyKWh
    }
}

/// How outlet numbers come from table rows.
public enum OutletNumbering: Sendable, Equatable {
    /// The row index is the outlet number (single index).
    case index
    /// Outlets are numbered 1, 2, ... in table order (multi-part indexes: tower.infeed.outlet, unit.outlet, flat row
    /// numbers across daisy-chained units).
    case position
    /// The outlet number is this column's value; rows where it is 0 are not outlets (APC cPDU and Enlogic fill their
    /// tables to a fixed size with such rows).
    case numberColumn(OID)
}

/// What a meter measures, and the unit the agent reports it in.
public enum MeterQuantity: String, Sendable {
    case currentAmps, powerWatts, energyKWh
}

/// One metered quantity in an outlet table: value × `scale` is the quantity in the agent's unit. With
/// `decimalDigitsColumn` (Raritan PDU2-MIB) the scale is 10^-digits read from the device.
public struct OutletMeter: Sendable {
    public var quantity: MeterQuantity
    public var column: OID
    /// Appended to the row instance (a sensor type in Raritan's sensor tables).
    public var suffix: [UInt]
    public var scale: Double
    public var decimalDigitsColumn: OID?

    public init(_ quantity: MeterQuantity, _ column: OID, suffix: [UInt] = [], scale: Double = 1, decimalDigitsColumn: OID? = nil) {
        self.quantity = quantity
        self.column = column
        self.suffix = suffix
        self.scale = scale
        self.decimalDigitsColumn = decimalDigitsColumn
    }
}

/// A whole-PDU reading (the first row of a unit, inlet or phase table, or a scalar), scaled like ``OutletMeter``: value ×
/// `scale`, and × 10^-digits when `decimalDigits` names the object that holds the reading's decimal digits (Raritan
/// PDU2-MIB). Of two meters for one quantity, the first the device answers counts.
public struct DeviceMeter: Sendable {
    public var quantity: MeterQuantity
    public var oid: OID
    public var scale: Double
    public var decimalDigits: OID?

    public init(_ quantity: MeterQuantity, _ oid: OID, scale: Double = 1, decimalDigits: OID? = nil) {
        self.quantity = quantity
        self.oid = oid
        self.scale = scale
        self.decimalDigits = decimalDigits
    }
}

/// How one PDU family names, reads, switches and meters its outlets over SNMP, as data: columns and the INTEGER
/// values that mean on and off. Cycles are composed by ``PDUService`` as off, wait, on, each verified (a native
/// reboot command cannot be verified by reading back). Each OID cites its MIB object.
public struct OutletDialect: Sendable {
    /// The MIB and table family, for humans ("APC PowerNet-MIB rPDU2").
    public var family: String
    public var numbering: OutletNumbering
    /// Name columns, first that has rows wins (a table a device leaves out falls back to the next).
    public var nameColumns: [OID]
    public var stateColumn: OID
    /// Appended to the row instance when reading the state (Raritan's onOff sensor type).
    public var stateSuffix: [UInt]
    public var stateOn: Set<Int64>
    public var stateOff: Set<Int64>
    /// nil: the family has no switching (metered only).
    public var commandColumn: OID?
    public var commandOn: Int64
    public var commandOff: Int64
    public var meters: [OutletMeter]
    public var deviceMeters: [DeviceMeter]

    public init(
        family: String, numbering: OutletNumbering, nameColumns: [OID], stateColumn: OID, stateSuffix: [UInt] = [], stateOn: Set<Int64>,
        stateOff: Set<Int64>, commandColumn: OID?, commandOn: Int64, commandOff: Int64, meters: [OutletMeter] = [], deviceMeters: [DeviceMeter] = []
    ) {
        self.family = family
        self.numbering = numbering
        self.nameColumns = nameColumns
        self.stateColumn = stateColumn
        self.stateSuffix = stateSuffix
        self.stateOn = stateOn
        self.stateOff = stateOff
        self.commandColumn = commandColumn
        self.commandOn = commandOn
        self.commandOff = commandOff
        self.meters = meters
        self.deviceMeters = deviceMeters
    }

    public func state(_ value: SNMPValue) -> OutletState {
        guard case .integer(let number) = value else { return .unknown }
        if stateOn.contains(number) { return .on }
        if stateOff.contains(number) { return .off }
        return .unknown
    }

    public func command(_ state: OutletState) -> Int64 { state == .on ? commandOn : commandOff }

    static func oid(_ text: String) -> OID {
        guard let oid = OID(text) else { preconditionFailure("dialect OID does not parse: \(text)") }
        return oid
    }
}

extension OutletDialect {
    // MARK: APC PowerNet-MIB (1.3.6.1.4.1.318)

    /// rPDU2 (AOS "rpdu2g" firmware): rPDU2OutletSwitchedStatusName / rPDU2OutletSwitchedStatusState (off(1), on(2):
    /// the reverse of the other APC tables) / rPDU2OutletSwitchedControlCommand (immediateOn(1), immediateOff(2)). A flat
    /// row index across daisy-chained units, so outlets are numbered in table order.
    public static let apcRPDU2 = OutletDialect(
        family: "APC PowerNet-MIB rPDU2", numbering: .position,
        nameColumns: [oid("1.3.6.1.4.1.318.1.1.26.9.2.3.1.3")],  // rPDU2OutletSwitchedStatusName
        stateColumn: oid("1.3.6.1.4.1.318.1.1.26.9.2.3.1.5"), stateOn: [2], stateOff: [1],  // rPDU2OutletSwitchedStatusState
        commandColumn: oid("1.3.6.1.4.1.318.1.1.26.9.2.4.1.5"), commandOn: 1, commandOff: 2,  // rPDU2OutletSwitchedControlCommand
        meters: [
            OutletMeter(.currentAmps, oid("1.3.6.1.4.1.318.1.1.26.9.4.3.1.6"), scale: 0.1),  // rPDU2OutletMeteredStatusCurrent, 0.1 A
            OutletMeter(.powerWatts, oid("1.3.6.1.4.1.318.1.1.26.9.4.3.1.7")),  // rPDU2OutletMeteredStatusPower, W
            OutletMeter(.energyKWh, oid("1.3.6.1.4.1.318.1.1.26.9.4.3.1.11"), scale: 0.1),  // rPDU2OutletMeteredStatusEnergy, 0.1 kWh
        ],
        deviceMeters: [
            DeviceMeter(.powerWatts, oid("1.3.6.1.4.1.318.1.1.26.4.3.1.5.1"), scale: 10),  // rPDU2DeviceStatusPower, 0.01 kW
            DeviceMeter(.energyKWh, oid("1.3.6.1.4.1.318.1.1.26.4.3.1.9.1"), scale: 0.1),  // rPDU2DeviceStatusEnergy, 0.1 kWh
            DeviceMeter(.currentAmps, oid("1.3.6.1.4.1.318.1.1.26.6.3.1.5.1"), scale: 0.1),  // rPDU2PhaseStatusCurrent, 0.1 A
        ])

    /// rPDU (first-generation rack PDU): rPDUOutletControlOutletName / rPDUOutletControlOutletCommand, which reads
    /// immediateOn(1) or immediateOff(2) for the outlet's present state.
    public static let apcRPDU = OutletDialect(
        family: "APC PowerNet-MIB rPDU", numbering: .index,
        nameColumns: [oid("1.3.6.1.4.1.318.1.1.12.3.3.1.1.2")],  // rPDUOutletControlOutletName
        stateColumn: oid("1.3.6.1.4.1.318.1.1.12.3.3.1.1.4"), stateOn: [1], stateOff: [2],  // rPDUOutletControlOutletCommand
        commandColumn: oid("1.3.6.1.4.1.318.1.1.12.3.3.1.1.4"), commandOn: 1, commandOff: 2,
        meters: [OutletMeter(.currentAmps, oid("1.3.6.1.4.1.318.1.1.12.3.5.1.1.7"), scale: 0.1)],  // rPDUOutletStatusLoad, 0.1 A
        deviceMeters: [
            DeviceMeter(.currentAmps, oid("1.3.6.1.4.1.318.1.1.12.2.3.1.1.2.1"), scale: 0.1),  // rPDULoadStatusLoad, 0.1 A
            DeviceMeter(.powerWatts, oid("1.3.6.1.4.1.318.1.1.12.1.16.0")),  // rPDUIdentDevicePowerWatts, W
        ])

    /// sPDU / MasterSwitch: sPDUOutletCtlName / sPDUOutletCtl, one column for the state (outletOn(1), outletOff(2),
    /// outletUnknown(4)) and the command (outletOn(1), outletOff(2)). What the AP7900B and AP8959EU3 captures serve.
    public static let apcSPDU = OutletDialect(
        family: "APC PowerNet-MIB sPDU (MasterSwitch)", numbering: .index,
        nameColumns: [oid("1.3.6.1.4.1.318.1.1.4.4.2.1.4")],  // sPDUOutletCtlName
        stateColumn: oid("1.3.6.1.4.1.318.1.1.4.4.2.1.3"), stateOn: [1], stateOff: [2],  // sPDUOutletCtl
        commandColumn: oid("1.3.6.1.4.1.318.1.1.4.4.2.1.3"), commandOn: 1, commandOff: 2,
        deviceMeters: [
            DeviceMeter(.currentAmps, oid("1.3.6.1.4.1.318.1.1.12.2.3.1.1.2.1"), scale: 0.1),  // rPDULoadStatusLoad, 0.1 A
            DeviceMeter(.powerWatts, oid("1.3.6.1.4.1.318.1.1.26.4.3.1.5.1"), scale: 10),  // rPDU2DeviceStatusPower, 0.01 kW
            DeviceMeter(.powerWatts, oid("1.3.6.1.4.1.318.1.1.12.1.16.0")),  // rPDUIdentDevicePowerWatts, W (where rPDU2 reads -1)
            DeviceMeter(.energyKWh, oid("1.3.6.1.4.1.318.1.1.26.4.3.1.9.1"), scale: 0.1),  // rPDU2DeviceStatusEnergy, 0.1 kWh
        ])

    /// APC cPDU (CPDU-MIB, NetShelter Advanced): rows unit.outlet; pduOutletSwitchedStatusNumber (0 on filler rows),
    /// pduOutletSwitchedStatusState (off(0), on(1)) and pduOutletSwitchedControlCommand (immediateOff(1), immediateOn(2)).
    public static let apcCPDU = OutletDialect(
        family: "APC CPDU-MIB", numbering: .numberColumn(oid("1.3.6.1.4.1.318.1.1.32.5.4.1.2")),  // pduOutletSwitchedStatusNumber
        nameColumns: [oid("1.3.6.1.4.1.318.1.1.32.5.4.1.3")],  // pduOutletSwitchedStatusName
        stateColumn: oid("1.3.6.1.4.1.318.1.1.32.5.4.1.4"), stateOn: [1], stateOff: [0],  // pduOutletSwitchedStatusState
        commandColumn: oid("1.3.6.1.4.1.318.1.1.32.5.5.1.4"), commandOn: 2, commandOff: 1,  // pduOutletSwitchedControlCommand
        meters: [
            OutletMeter(.currentAmps, oid("1.3.6.1.4.1.318.1.1.32.5.9.1.5"), scale: 0.01),  // pduOutletMeteredStatusCurrent, 0.01 A
            OutletMeter(.powerWatts, oid("1.3.6.1.4.1.318.1.1.32.5.9.1.6")),  // pduOutletMeteredStatusActivePower, W
            OutletMeter(.energyKWh, oid("1.3.6.1.4.1.318.1.1.32.5.9.1.11"), scale: 0.1),  // pduOutletMeteredStatusResettableEnergy, 0.1 kWh
        ],
        deviceMeters: [
            DeviceMeter(.powerWatts, oid("1.3.6.1.4.1.318.1.1.32.2.4.1.4.1")),  // pduUnitStatusActivePower, W
            DeviceMeter(.energyKWh, oid("1.3.6.1.4.1.318.1.1.32.2.4.1.9.1"), scale: 0.1),  // pduUnitStatusEnergy, 0.1 kWh
        ])

    // MARK: Other vendors

    /// Dell DellrPDU-MIB (an APC OEM, 1.3.6.1.4.1.674.10903.200.2.200): rPDUOutletSwitchedStatusName (the metered
    /// table's name when the switched table is absent), rPDUOutletSwitchedStatusState (on(1), off(2), unknown(3)),
    /// rPDUOutletSwitchedControlCmd (outletOn(1), outletOff(2)).
    public static let dellRPDU = OutletDialect(
        family: "Dell DellrPDU-MIB", numbering: .index,
        nameColumns: [
            oid("1.3.6.1.4.1.674.10903.200.2.200.130.1.2.1.3"),  // rPDUOutletSwitchedStatusName
            oid("1.3.6.1.4.1.674.10903.200.2.200.130.2.2.1.3"),  // rPDUOutletMeteredStatusName
        ],
        stateColumn: oid("1.3.6.1.4.1.674.10903.200.2.200.130.1.2.1.4"), stateOn: [1], stateOff: [2],  // rPDUOutletSwitchedStatusState
        commandColumn: oid("1.3.6.1.4.1.674.10903.200.2.200.130.1.4.1.4"), commandOn: 1, commandOff: 2,  // rPDUOutletSwitchedControlCmd
        meters: [
            OutletMeter(.currentAmps, oid("1.3.6.1.4.1.674.10903.200.2.200.130.2.2.1.6")),  // rPDUOutletMeteredStatusCurrent, A
            OutletMeter(.powerWatts, oid("1.3.6.1.4.1.674.10903.200.2.200.130.2.2.1.8")),  // rPDUOutletMeteredStatusPower, W
            OutletMeter(.energyKWh, oid("1.3.6.1.4.1.674.10903.200.2.200.130.2.2.1.7")),  // rPDUOutletMeteredStatusEnergy, kWh
        ],
        deviceMeters: [
            DeviceMeter(.powerWatts, oid("1.3.6.1.4.1.674.10903.200.2.200.110.2.1.3.1"), scale: 10),  // rPDUDeviceStatusPower, 0.01 kW
            DeviceMeter(.energyKWh, oid("1.3.6.1.4.1.674.10903.200.2.200.110.2.1.4.1"), scale: 0.1),  // rPDUDeviceStatusEnergy, 0.1 kWh
            DeviceMeter(.currentAmps, oid("1.3.6.1.4.1.674.10903.200.2.200.120.2.1.4.1"), scale: 0.1),  // rPDUPhaseStatusCurrent, 0.1 A
        ])

    /// CyberPower CPS-MIB ePDU2 (1.3.6.1.4.1.3808.1.1.6): ePDU2OutletSwitchedStatusName / ePDU2OutletSwitchedStatusState
    /// (outletStatusOn(1), outletStatusOff(2)) / ePDU2OutletSwitchedControlCommand (immediateOn(1), immediateOff(2));
    /// flat row index across the host/slave chain.
    public static let cyberpowerEPDU2 = OutletDialect(
        family: "CyberPower CPS-MIB ePDU2", numbering: .position,
        nameColumns: [oid("1.3.6.1.4.1.3808.1.1.6.6.1.4.1.4")],  // ePDU2OutletSwitchedStatusName
        stateColumn: oid("1.3.6.1.4.1.3808.1.1.6.6.1.4.1.5"), stateOn: [1], stateOff: [2],  // ePDU2OutletSwitchedStatusState
        commandColumn: oid("1.3.6.1.4.1.3808.1.1.6.6.1.5.1.5"), commandOn: 1, commandOff: 2,  // ePDU2OutletSwitchedControlCommand
        meters: [
            OutletMeter(.currentAmps, oid("1.3.6.1.4.1.3808.1.1.6.6.2.4.1.6"), scale: 0.1),  // ePDU2OutletMeteredStatusLoad, 0.1 A
            OutletMeter(.powerWatts, oid("1.3.6.1.4.1.3808.1.1.6.6.2.4.1.7")),  // ePDU2OutletMeteredStatusActivePower, W
            OutletMeter(.energyKWh, oid("1.3.6.1.4.1.3808.1.1.6.6.2.4.1.11"), scale: 0.1),  // ePDU2OutletMeteredStatusEnergy, 0.1 kWh
        ],
        deviceMeters: [
            DeviceMeter(.powerWatts, oid("1.3.6.1.4.1.3808.1.1.6.3.4.1.18.1")),  // ePDU2DeviceStatusPowerLoad, W
            DeviceMeter(.energyKWh, oid("1.3.6.1.4.1.3808.1.1.6.3.4.1.9.1"), scale: 0.1),  // ePDU2DeviceStatusEnergy, 0.1 kWh
            DeviceMeter(.currentAmps, oid("1.3.6.1.4.1.3808.1.1.6.3.4.1.5.1"), scale: 0.1),  // ePDU2DeviceStatusCurrentLoad, 0.1 A
        ])

    /// Enlogic ENLOGIC-PDU-MIB and ENLOGIC-PDU2-MIB (same outlet tables, 1.3.6.1.4.1.38446.1.5): rows unit.outlet;
    /// pduOutletSwitchedStatusNumber, pduOutletSwitchedStatusState (off(0), on(1)), pduOutletSwitchedControlCommand
    /// (immediateOff(1), immediateOn(2)).
    public static let enlogic = OutletDialect(
        family: "Enlogic ENLOGIC-PDU-MIB / ENLOGIC-PDU2-MIB", numbering: .numberColumn(oid("1.3.6.1.4.1.38446.1.5.4.1.2")),  // pduOutletSwitchedStatusNumber
        nameColumns: [oid("1.3.6.1.4.1.38446.1.5.4.1.3")],  // pduOutletSwitchedStatusName
        stateColumn: oid("1.3.6.1.4.1.38446.1.5.4.1.4"), stateOn: [1], stateOff: [0],  // pduOutletSwitchedStatusState
        commandColumn: oid("1.3.6.1.4.1.38446.1.5.5.1.4"), commandOn: 2, commandOff: 1,  // pduOutletSwitchedControlCommand
        meters: [
            OutletMeter(.currentAmps, oid("1.3.6.1.4.1.38446.1.5.9.1.5"), scale: 0.01),  // pduOutletMeteredStatusCurrent, 0.01 A
            OutletMeter(.powerWatts, oid("1.3.6.1.4.1.38446.1.5.9.1.6")),  // pduOutletMeteredStatusActivePower, W
            OutletMeter(.energyKWh, oid("1.3.6.1.4.1.38446.1.5.9.1.11"), scale: 0.1),  // pduOutletMeteredStatusResettableEnergy, 0.1 kWh
        ],
        deviceMeters: [
            DeviceMeter(.powerWatts, oid("1.3.6.1.4.1.38446.1.2.4.1.4.1")),  // pduUnitStatusActivePower, W
            DeviceMeter(.energyKWh, oid("1.3.6.1.4.1.38446.1.2.4.1.9.1"), scale: 0.1),  // pduUnitStatusEnergy, 0.1 kWh
            DeviceMeter(.currentAmps, oid("1.3.6.1.4.1.38446.1.3.4.1.5.1.1"), scale: 0.01),  // pduInputPhaseStatusCurrent, 0.01 A
        ])

    /// Vertiv / Geist VERTIV-V5-MIB (1.3.6.1.4.1.21239.5.2.3): pduOutletSwitchLabel (the factory name when unset),
    /// pduOutletSwitchState (on(1), off(2); transitions read as unknown) and pduOutletSwitchControl (on(2), off(4); it
    /// always reads none(8), and a SET works only when the outlet is in manual mode).
    public static let geistV5 = OutletDialect(
        family: "Vertiv/Geist VERTIV-V5-MIB", numbering: .index,
        nameColumns: [oid("1.3.6.1.4.1.21239.5.2.3.5.1.3"), oid("1.3.6.1.4.1.21239.5.2.3.5.1.2")],  // pduOutletSwitchLabel, pduOutletSwitchName
        stateColumn: oid("1.3.6.1.4.1.21239.5.2.3.5.1.4"), stateOn: [1], stateOff: [2],  // pduOutletSwitchState
        commandColumn: oid("1.3.6.1.4.1.21239.5.2.3.5.1.6"), commandOn: 2, commandOff: 4,  // pduOutletSwitchControl
        meters: [
            OutletMeter(.currentAmps, oid("1.3.6.1.4.1.21239.5.2.3.6.1.8"), scale: 0.01),  // pduOutletMeterCurrent, cA
            OutletMeter(.powerWatts, oid("1.3.6.1.4.1.21239.5.2.3.6.1.12")),  // pduOutletMeterRealPower, W
            OutletMeter(.energyKWh, oid("1.3.6.1.4.1.21239.5.2.3.6.1.15"), scale: 0.001),  // pduOutletMeterEnergy, Wh
        ],
        deviceMeters: [
            DeviceMeter(.powerWatts, oid("1.3.6.1.4.1.21239.5.2.3.1.1.9.1")),  // pduTotalRealPower, W
            DeviceMeter(.energyKWh, oid("1.3.6.1.4.1.21239.5.2.3.1.1.12.1"), scale: 0.001),  // pduTotalEnergy, Wh
            DeviceMeter(.currentAmps, oid("1.3.6.1.4.1.21239.5.2.3.2.1.8.1"), scale: 0.01),  // pduPhaseCurrent, cA
        ])

    /// Ingrasys IPOMANII-MIB (1.3.6.1.4.1.2468.1.4.2.1.3): outletConfigDesc, outletStatusStatus (outletOff(2),
    /// outletOn(3); transitions unknown), outletControlControl (onImmediately(3), offImmediately(4)).
    public static let ipoman = OutletDialect(
        family: "Ingrasys IPOMANII-MIB", numbering: .index,
        nameColumns: [oid("1.3.6.1.4.1.2468.1.4.2.1.3.2.2.1.2")],  // outletConfigDesc
        stateColumn: oid("1.3.6.1.4.1.2468.1.4.2.1.3.2.3.1.2"), stateOn: [3], stateOff: [2],  // outletStatusStatus
        commandColumn: oid("1.3.6.1.4.1.2468.1.4.2.1.3.2.4.1.2"), commandOn: 3, commandOff: 4,  // outletControlControl
        meters: [
            OutletMeter(.currentAmps, oid("1.3.6.1.4.1.2468.1.4.2.1.3.2.3.1.3"), scale: 0.001),  // outletStatusCurrent, mA
            OutletMeter(.energyKWh, oid("1.3.6.1.4.1.2468.1.4.2.1.3.2.3.1.4"), scale: 0.001),  // outletStatusKwatt, 0.001 kWh
        ],
        deviceMeters: [DeviceMeter(.currentAmps, oid("1.3.6.1.4.1.2468.1.4.2.1.3.1.3.1.3.1"), scale: 0.001)])  // inletStatusCurrent, mA

    /// Raritan PDU-MIB, first generation (PX1, 1.3.6.1.4.1.13742.4): outletLabel and the read-write
    /// outletOperationalState, off(0) / on(1) (cycling(2) and error(-1) read as unknown).
    public static let raritanPDU1 = OutletDialect(
        family: "Raritan PDU-MIB (PX1)", numbering: .index,
        nameColumns: [oid("1.3.6.1.4.1.13742.4.1.2.2.1.2")],  // outletLabel
        stateColumn: oid("1.3.6.1.4.1.13742.4.1.2.2.1.3"), stateOn: [1], stateOff: [0],  // outletOperationalState
        commandColumn: oid("1.3.6.1.4.1.13742.4.1.2.2.1.3"), commandOn: 1, commandOff: 0,
        meters: [
            OutletMeter(.currentAmps, oid("1.3.6.1.4.1.13742.4.1.2.2.1.4"), scale: 0.001),  // outletCurrent, mA
            OutletMeter(.powerWatts, oid("1.3.6.1.4.1.13742.4.1.2.2.1.7")),  // outletActivePower, W
            OutletMeter(.energyKWh, oid("1.3.6.1.4.1.13742.4.1.2.2.1.31"), scale: 0.001),  // outletWattHours, Wh
        ],
        deviceMeters: [
            DeviceMeter(.currentAmps, oid("1.3.6.1.4.1.13742.4.1.20.2.1.7.1"), scale: 0.001),  // inletCurrent, mA
            DeviceMeter(.powerWatts, oid("1.3.6.1.4.1.13742.4.1.20.2.1.9.1")),  // inletActivePower, W
            DeviceMeter(.energyKWh, oid("1.3.6.1.4.1.13742.4.1.20.2.1.12.1"), scale: 0.001),  // inletActiveEnergy, Wh
        ])

    /// Raritan PDU2-MIB (PX2, PX3; 1.3.6.1.4.1.13742.6): rows pduId.outletId; outletName (the printed outletLabel when
    /// unset), the state from the onOff(14) sensor (measurementsOutletSensorState: on(7), off(8)), the command
    /// switchingOperation (off(0), on(1)); meters from the sensor table with each sensor's decimal digits.
    public static let raritanPDU2 = OutletDialect(
        family: "Raritan PDU2-MIB (PX2/PX3)", numbering: .position,
        nameColumns: [oid("1.3.6.1.4.1.13742.6.3.5.3.1.3"), oid("1.3.6.1.4.1.13742.6.3.5.3.1.2")],  // outletName, outletLabel
        stateColumn: oid("1.3.6.1.4.1.13742.6.5.4.3.1.3"), stateSuffix: [14], stateOn: [7], stateOff: [8],  // measurementsOutletSensorState.onOff
        commandColumn: oid("1.3.6.1.4.1.13742.6.4.1.2.1.2"), commandOn: 1, commandOff: 0,  // switchingOperation
        meters: [
            // measurementsOutletSensorValue for rmsCurrent(1), activePower(5), activeEnergy(8), scaled by outletSensorDecimalDigits.
            OutletMeter(.currentAmps, oid("1.3.6.1.4.1.13742.6.5.4.3.1.4"), suffix: [1], decimalDigitsColumn: oid("1.3.6.1.4.1.13742.6.3.5.4.1.7")),
            OutletMeter(.powerWatts, oid("1.3.6.1.4.1.13742.6.5.4.3.1.4"), suffix: [5], decimalDigitsColumn: oid("1.3.6.1.4.1.13742.6.3.5.4.1.7")),
            OutletMeter(.energyKWh, oid("1.3.6.1.4.1.13742.6.5.4.3.1.4"), suffix: [8], scale: 0.001,
                        decimalDigitsColumn: oid("1.3.6.1.4.1.13742.6.3.5.4.1.7")),
        ],
        deviceMeters: [
            // measurementsInletSensorValue of inlet 1 for rmsCurrent (A), activePower (W), activeEnergy (Wh), each with its
            // inletSensorDecimalDigits.
            DeviceMeter(.currentAmps, oid("1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.1"), decimalDigits: oid("1.3.6.1.4.1.13742.6.3.3.4.1.7.1.1.1")),
            DeviceMeter(.powerWatts, oid("1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.5"), decimalDigits: oid("1.3.6.1.4.1.13742.6.3.3.4.1.7.1.1.5")),
            DeviceMeter(.energyKWh, oid("1.3.6.1.4.1.13742.6.5.2.3.1.4.1.1.8"), scale: 0.001,
                        decimalDigits: oid("1.3.6.1.4.1.13742.6.3.3.4.1.7.1.1.8")),
        ])

    /// ServerTech Sentry3-MIB: outletName, outletStatus (off(0), on(1); offWait, onWait and the error states read as
    /// unknown) and outletControlAction (on(1), off(2)); rows tower.infeed.outlet.
    public static let sentry3 = OutletDialect(
        family: "ServerTech Sentry3-MIB", numbering: .position,
        nameColumns: [oid("1.3.6.1.4.1.1718.3.2.3.1.3")],  // outletName
        stateColumn: oid("1.3.6.1.4.1.1718.3.2.3.1.5"), stateOn: [1], stateOff: [0],  // outletStatus
        commandColumn: oid("1.3.6.1.4.1.1718.3.2.3.1.11"), commandOn: 1, commandOff: 2,  // outletControlAction
        meters: [OutletMeter(.currentAmps, oid("1.3.6.1.4.1.1718.3.2.3.1.7"), scale: 0.01)])  // outletLoadValue, 0.01 A

    /// ServerTech Sentry4-MIB: st4OutletName (config table), st4OutletState (monitor table: unknown(0), on(1), off(2))
    /// and st4OutletControlAction (control table: on(1), off(2)); rows unit.cord.outlet.
    public static let sentry4 = OutletDialect(
        family: "ServerTech Sentry4-MIB", numbering: .position,
        nameColumns: [oid("1.3.6.1.4.1.1718.4.1.8.2.1.3")],  // st4OutletName
        stateColumn: oid("1.3.6.1.4.1.1718.4.1.8.3.1.1"), stateOn: [1], stateOff: [2],  // st4OutletState
        commandColumn: oid("1.3.6.1.4.1.1718.4.1.8.5.1.2"), commandOn: 1, commandOff: 2,  // st4OutletControlAction
        meters: [
            OutletMeter(.currentAmps, oid("1.3.6.1.4.1.1718.4.1.8.3.1.3"), scale: 0.01),  // st4OutletCurrent, 0.01 A
            OutletMeter(.powerWatts, oid("1.3.6.1.4.1.1718.4.1.8.3.1.7")),  // st4OutletActivePower, W
        ])

    /// Racktivity ES-RACKTIVITY-MIB (observium mibs/racktivity, 1.3.6.1.4.1.34097.9.80.1.1, rows module.port; a port
    /// may be numbered 0): pPortName (10034), pStatePortCur (8; every odd value is a powered state) and pPortState
    /// (10035; 0 off, 1 on).
    public static let racktivity = OutletDialect(
        family: "Racktivity ES-RACKTIVITY-MIB", numbering: .position,
        nameColumns: [oid("1.3.6.1.4.1.34097.9.80.1.1.10034")],  // pPortName
        stateColumn: oid("1.3.6.1.4.1.34097.9.80.1.1.8"), stateOn: Set(stride(from: 1, through: 23, by: 2).map { Int64($0) }),
        stateOff: Set(stride(from: 0, through: 22, by: 2).map { Int64($0) }),  // pStatePortCur
        commandColumn: oid("1.3.6.1.4.1.34097.9.80.1.1.10035"), commandOn: 1, commandOff: 0,  // pPortState
        meters: [
            OutletMeter(.currentAmps, oid("1.3.6.1.4.1.34097.9.80.1.1.6"), scale: 0.001),  // pCurrent, 0.001 A
            OutletMeter(.powerWatts, oid("1.3.6.1.4.1.34097.9.80.1.1.7")),  // pPower, W
            OutletMeter(.energyKWh, oid("1.3.6.1.4.1.34097.9.80.1.1.9"), scale: 0.001),  // pActiveEnergy, 0.001 kWh
        ])
}
