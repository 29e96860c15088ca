import SNMP

/// What the agent does with each network deviceType of the seed that is not a switch.
public enum DeviceTypeSupport: Sendable {
    /// Outlets over SNMP; the first dialect whose outlet table the device answers is used.
    case outlets([OutletDialect])
    /// An automatic transfer switch: two sources, no outlets to switch (``TransferSwitchDialect``).
    case transferSwitch(TransferSwitchDialect)
    /// A KVM-over-IP or serial console switch: a port list (``ConsolePortDialect``).
    case consolePorts(ConsolePortDialect)
    /// Registered and tested, but the agent cannot act on it; the reason says why and what to do instead.
    case unsupported(String)
}

/// The seed's deviceType values and what each one gets.
public enum DeviceTypeCatalogue {
    public static func support(_ deviceType: String) -> DeviceTypeSupport? {
        switch deviceType {
        case "apc": return .outlets([.apcRPDU2, .apcRPDU, .apcSPDU])
        case "apcCpdu": return .outlets([.apcCPDU])
        case "dellrPdu": return .outlets([.dellRPDU])
        case "cyberpowerEpdu2": return .outlets([.cyberpowerEPDU2])
        case "enlogicv1": return .outlets([.enlogic])
        case "geistV5": return .outlets([.geistV5])
        case "ipoman": return .outlets([.ipoman])
        case "raritanDominionPduMib1": return .outlets([.raritanPDU1, .raritanPDU2])
        case "sentry3": return .outlets([.sentry3])
        case "sentry4": return .outlets([.sentry4])
        case "racktivityEnergySwitch", "racktivityPowerManager": return .outlets([.racktivity])
        case "cyberpowerAts": return .transferSwitch(.cyberpower)
        case "raritanDominionKXII", "raritanDominionKXIII", "raritanDominionSX": return .consolePorts(.raritanRemoteKVM)
        case "intertechSw", "intertechSm", "intertechSa":
            return .unsupported(
                "Inter-Tech publishes no SNMP MIB for its PDUs (none could be found), so the agent cannot read or switch their outlets; "
                    + "use the PDU's web interface, or a BMC connection for the server")
        case "azepdu":
            return .unsupported(
                "AZE publishes no SNMP MIB for its PDUs (none could be found), so the agent cannot read or switch their outlets; "
                    + "use the PDU's web interface, or a BMC connection for the server")
        case "telejetDigiOne":
            return .unsupported(
                "a TELEJET web resetter is driven over a serial line through a Digi One SP with a vendor protocol that is not published; "
                    + "the agent checks that the device answers on its port (the connectivity test) but cannot reset or read outlets")
        default: return nil
        }
    }

    /// Every deviceType the catalogue knows, with a line on what it gets (the README table and `rackagent pdu types`).
    public static let deviceTypes = [
        "apc", "apcCpdu", "azepdu", "cyberpowerAts", "cyberpowerEpdu2", "dellrPdu", "enlogicv1", "geistV5", "intertechSa", "intertechSm",
        "intertechSw", "ipoman", "racktivityEnergySwitch", "racktivityPowerManager", "raritanDominionKXII", "raritanDominionKXIII",
        "raritanDominionPduMib1", "raritanDominionSX", "sentry3", "sentry4", "telejetDigiOne",
    ]

    /// One line on what the type gets, for `rackagent pdu types`.
    public static func summary(_ deviceType: String) -> String {
        switch support(deviceType) {
        case .outlets(let dialects)?: return "outlets: " + dialects.map(\.family).joined(separator: ", then ")
        case .transferSwitch(let dialect)?: return "transfer switch status: \(dialect.family)"
        case .consolePorts(let dialect)?: return "console ports: \(dialect.family)"
        case .unsupported(let reason)?: return "no outlet control: \(reason)"
        case nil: return "unknown"
        }
    }

    /// Whether the type has outlets the agent switches (a PDU power connection can use it).
    public static func hasOutlets(_ deviceType: String) -> Bool {
        if case .outlets? = support(deviceType) { return true }
        return false
    }
}

/// An automatic transfer switch's status objects.
public struct TransferSwitchDialect: Sendable {
    public var family: String
    /// Scalar: the source feeding the load now (values in `sources`).
    public var selectedSource: OID
    /// Scalar: the preferred source.
    public var preferredSource: OID
    /// The source values' names.
    public var sources: [Int64: String]
    /// Per-source rows (1 = A, 2 = B): name, voltage (× `voltageScale` V) and its state.
    public var inputName: OID
    public var inputVoltage: OID
    public var voltageScale: Double
    public var inputVoltageState: OID
    public var voltageStates: [Int64: String]
    /// Scalar or first row: the output current (× `currentScale` A) and power (W).
    public var outputCurrent: OID
    public var currentScale: Double
    public var outputPower: OID
    public var redundancy: OID
    public var redundancyStates: [Int64: String]

    /// CyberPower CPS-MIB ATS (1.3.6.1.4.1.3808.1.1.5).
    public static let cyberpower = TransferSwitchDialect(
        family: "CyberPower CPS-MIB ATS",
        selectedSource: OutletDialect.oid("1.3.6.1.4.1.3808.1.1.5.2.1.2.0"),  // atsStatusSelectedSource
        preferredSource: OutletDialect.oid("1.3.6.1.4.1.3808.1.1.5.3.1.0"),  // atsConfigPreferredSource
        sources: [1: "A", 2: "B", 3: "none"],
        inputName: OutletDialect.oid("1.3.6.1.4.1.3808.1.1.5.2.2.2.1.2"),  // atsStatusInputName
        inputVoltage: OutletDialect.oid("1.3.6.1.4.1.3808.1.1.5.2.2.2.1.5"), voltageScale: 0.1,  // atsStatusInputVoltage, 0.1 V
        inputVoltageState: OutletDialect.oid("1.3.6.1.4.1.3808.1.1.5.2.2.2.1.7"),  // atsStatusInputVolState
        voltageStates: [1: "normal", 2: "overVoltage", 3: "underVoltage"],
        outputCurrent: OutletDialect.oid("1.3.6.1.4.1.3808.1.1.5.5.2.2.1.3.1"), currentScale: 0.1,  // atsLoadStatusPhaseLoad, 0.1 A
        outputPower: OutletDialect.oid("1.3.6.1.4.1.3808.1.1.5.5.2.2.1.5.1"),  // atsLoadStatusPhasePower, W
        redundancy: OutletDialect.oid("1.3.6.1.4.1.3808.1.1.5.2.1.3.0"),  // atsStatusRedundancyState
        redundancyStates: [1: "redundancyLost", 2: "fullyRedundant"])
}

/// A console switch's port table.
public struct ConsolePortDialect: Sendable {
    public var family: String
    public var number: OID
    public var name: OID
    public var type: OID
    public var status: OID
    public var statuses: [Int64: String]

    /// Raritan RemoteKVMDevice-MIB portDataTable (Dominion KX II/III, LX, SX II; 1.3.6.1.4.1.13742.3.1.4), firmware
    /// from 2016 on: portDataNumber, portDataName (the target's name), portDataType, portDataStatus (inactive(1),
    /// available(2), connected(3), busy(4)).
    public static let raritanRemoteKVM = ConsolePortDialect(
        family: "Raritan RemoteKVMDevice-MIB",
        number: OutletDialect.oid("1.3.6.1.4.1.13742.3.1.4.1.2"), name: OutletDialect.oid("1.3.6.1.4.1.13742.3.1.4.1.3"),
        type: OutletDialect.oid("1.3.6.1.4.1.13742.3.1.4.1.4"), status: OutletDialect.oid("1.3.6.1.4.1.13742.3.1.4.1.5"),
        statuses: [1: "inactive", 2: "available", 3: "connected", 4: "busy"])
}
