import AgentCore

/// Chassis power as the BMC reports it; `online`/`offline` are the seed's cachedPowerstatus words.
public enum ChassisPower: String, Sendable, Codable {
    case on, off

    public var seedWord: ServerPowerState { self == .on ? .online : .offline }
}

/// Boot devices `setBootType` accepts (the seed's params) and their ipmitool `bootdev` names.
public enum BootDevice: String, Sendable, Codable, CaseIterable {
    case pxe, disk, bios, cdrom

    /// The "Boot Device Selector" text of `chassis bootparam get 5`.
    var selectorText: String {
        switch self {
        case .pxe: return "Force PXE"
        case .disk: return "Force Boot from default Hard-Drive"
        case .bios: return "Force Boot into BIOS Setup"
        case .cdrom: return "Force Boot from CD/DVD"
        }
    }
}

/// What `chassis bootparam get 5` says about the next boot.
public struct BootFlags: Sendable, Equatable, Codable {
    /// The selector text, e.g. "Force PXE" or "No override".
    public var deviceSelector: String
    public var device: BootDevice?
    public var persistent: Bool
    public var efi: Bool
    public var valid: Bool
}

/// One user slot as the seed's listUsers shows it.
public struct BMCUser: Sendable, Equatable, Codable {
    public var id: Int
    public var name: String
    public var callin: Bool
    public var linkAuth: Bool
    public var ipmiMsg: Bool
    public var privilegeName: String
    public var privilegeId: Int

    public init(id: Int, name: String, callin: Bool, linkAuth: Bool, ipmiMsg: Bool, privilegeName: String, privilegeId: Int) {
        self.id = id
        self.name = name
        self.callin = callin
        self.linkAuth = linkAuth
        self.ipmiMsg = ipmiMsg
        self.privilegeName = privilegeName
        self.privilegeId = privilegeId
    }

    /// IPMI privilege levels and their names as ipmitool prints them.
    public static let privilegeNames: [Int: String] = [
        1: "CALLBACK", 2: "USER", 3: "OPERATOR", 4: "ADMINISTRATOR", 5: "OEM", 15: "NO ACCESS",
    ]
}

/// One System Event Log entry of `sel elist`.
public struct SELEntry: Sendable, Equatable, Codable {
    public var id: String
    public var date: String
    public var time: String
    public var sensor: String
    public var event: String
    public var direction: String?

    public init(id: String, date: String, time: String, sensor: String, event: String, direction: String?) {
        self.id = id
        self.date = date
        self.time = time
        self.sensor = sensor
        self.event = event
        self.direction = direction
    }
}

/// Where the System Event Log stood: `sel info`'s entry count and last-addition time.
public struct SELMark: Sendable, Equatable, Codable {
    public var entries: Int
    public var lastAddTime: String
}

/// One FRU device of `fru print` with its fields in printed order.
public struct FRUDevice: Sendable, Equatable, Codable {
    public var description: String
    public var fields: [KeyValue]
}

/// An ordered key/value pair (ipmitool's `Key : Value` lines).
public struct KeyValue: Sendable, Equatable, Codable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}
