import AgentCore

/// IF-MIB (RFC 2863) and SNMPv2-MIB object identifiers the agent reads, by number.
public enum InterfaceMIB {
    public static let sysDescr = OID([1, 3, 6, 1, 2, 1, 1, 1, 0])
    public static let sysObjectID = OID([1, 3, 6, 1, 2, 1, 1, 2, 0])
    public static let sysUpTime = OID([1, 3, 6, 1, 2, 1, 1, 3, 0])
    public static let sysName = OID([1, 3, 6, 1, 2, 1, 1, 5, 0])

    static let ifEntry: [UInt] = [1, 3, 6, 1, 2, 1, 2, 2, 1]
    static let ifXEntry: [UInt] = [1, 3, 6, 1, 2, 1, 31, 1, 1, 1]

    public static let ifDescr = OID(ifEntry + [2])
    public static let ifType = OID(ifEntry + [3])
    public static let ifSpeed = OID(ifEntry + [5])
    public static let ifAdminStatus = OID(ifEntry + [7])
    public static let ifOperStatus = OID(ifEntry + [8])
    public static let ifInOctets = OID(ifEntry + [10])
    public static let ifOutOctets = OID(ifEntry + [16])
    public static let ifName = OID(ifXEntry + [1])
    public static let ifHCInOctets = OID(ifXEntry + [6])
    public static let ifHCOutOctets = OID(ifXEntry + [10])
    public static let ifHighSpeed = OID(ifXEntry + [15])
    public static let ifAlias = OID(ifXEntry + [18])
    public static let ifCounterDiscontinuityTime = OID(ifXEntry + [19])

    /// The columns the ports list reads.
    public static let portColumns = [ifDescr, ifType, ifSpeed, ifAdminStatus, ifOperStatus, ifName, ifHighSpeed, ifAlias]
}

/// One interface as the seed's extendedDetails show it: numbers as strings, `id` the ifIndex, `linkSpeed` in Mbit/s.
public struct InterfacePort: Sendable, Equatable, Codable {
    public var id: Int
    public var name: String
    public var description: String
    public var alias: String
    public var portOperStatus: String
    public var portAdminStatus: String
    /// Mbit/s (ifHighSpeed, or ifSpeed / 10^6 where ifXTable is missing).
    public var linkSpeed: String
    public var ifType: String

    public init(id: Int, name: String, description: String, alias: String, portOperStatus: String, portAdminStatus: String, linkSpeed: String, ifType: String) {
        self.id = id
        self.name = name
        self.description = description
        self.alias = alias
        self.portOperStatus = portOperStatus
        self.portAdminStatus = portAdminStatus
        self.linkSpeed = linkSpeed
        self.ifType = ifType
    }

    /// Builds ports from walked columns (keys are the column OIDs of ``InterfaceMIB/portColumns``). Pure.
    public static func ports(from columns: [OID: [VariableBinding]]) -> [InterfacePort] {
        var cells: [Int: [OID: SNMPValue]] = [:]
        for (column, bindings) in columns {
            for binding in bindings {
                let index = column.suffix(of: binding.oid)
                guard index.count == 1, let ifIndex = Int(exactly: index[0]) else { continue }
                cells[ifIndex, default: [:]][column] = binding.value
            }
        }
        return cells.keys.sorted().compactMap { ifIndex in
            let row = cells[ifIndex]!
            guard row[InterfaceMIB.ifDescr] != nil || row[InterfaceMIB.ifName] != nil else { return nil }
            let description = row[InterfaceMIB.ifDescr]?.text ?? ""
            let name = row[InterfaceMIB.ifName]?.text.flatMap { $0.isEmpty ? nil : $0 } ?? description
            let highSpeed = row[InterfaceMIB.ifHighSpeed]?.unsigned ?? 0
            let speed = highSpeed > 0 ? highSpeed : (row[InterfaceMIB.ifSpeed]?.unsigned ?? 0) / 1_000_000
            return InterfacePort(
                id: ifIndex, name: name, description: description, alias: row[InterfaceMIB.ifAlias]?.text ?? "",
                portOperStatus: row[InterfaceMIB.ifOperStatus]?.text ?? "", portAdminStatus: row[InterfaceMIB.ifAdminStatus]?.text ?? "",
                linkSpeed: String(speed), ifType: row[InterfaceMIB.ifType]?.text ?? "")
        }
    }

    /// The port named by a request: an ifIndex (`"3"`, `3`) or an ifName/ifDescr (`"Gi1/0/3"`).
    public static func resolve(_ portId: String, in ports: [InterfacePort], field: String = "portId") throws -> InterfacePort {
        let trimmed = portId.trimmingCharacters(in: .whitespaces)
        if let index = Int(trimmed), let port = ports.first(where: { $0.id == index }) { return port }
        if let port = ports.first(where: { $0.name == trimmed }) ?? ports.first(where: { $0.description == trimmed }) { return port }
        throw AgentError.invalidField(field, "no port \(trimmed) on this device")
    }
}

/// Per-port octet counters from walked IF-MIB columns. Pure.
public enum CounterTable {
    /// The columns a poll walks: ifXTable's 64-bit counters with ifHighSpeed and ifCounterDiscontinuityTime, or
    /// ifTable's 32-bit counters with ifSpeed.
    public static func columns(_ width: CounterWidth) -> [OID] {
        switch width {
        case .bits64: return [InterfaceMIB.ifHCInOctets, InterfaceMIB.ifHCOutOctets, InterfaceMIB.ifHighSpeed, InterfaceMIB.ifCounterDiscontinuityTime]
        case .bits32: return [InterfaceMIB.ifInOctets, InterfaceMIB.ifOutOctets, InterfaceMIB.ifSpeed]
        }
    }

    /// Ports that have both octet counters; `flip` swaps in and out (the server's view of a switch port).
    public static func counters(_ walked: [OID: [VariableBinding]], width: CounterWidth, flip: Bool = false) -> [PortCounters] {
        let names = columns(width)
        var rows: [Int: [OID: SNMPValue]] = [:]
        for (column, bindings) in walked {
            for binding in bindings {
                let index = column.suffix(of: binding.oid)
                guard index.count == 1, let ifIndex = Int(exactly: index[0]) else { continue }
                rows[ifIndex, default: [:]][column] = binding.value
            }
        }
        return rows.keys.sorted().compactMap { ifIndex in
            let row = rows[ifIndex]!
            guard let received = row[names[0]]?.unsigned, let sent = row[names[1]]?.unsigned else { return nil }
            let speed = width == .bits64 ? (row[names[2]]?.unsigned ?? 0) : (row[names[2]]?.unsigned ?? 0) / 1_000_000
            let discontinuity = width == .bits64 ? row[names[3]]?.unsigned : nil
            return PortCounters(
                ifIndex: ifIndex, inOctets: flip ? sent : received, outOctets: flip ? received : sent, width: width, speedMbps: speed,
                discontinuityTime: discontinuity)
        }
    }
}
