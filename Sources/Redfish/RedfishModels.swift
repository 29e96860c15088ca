import AgentCore
import Foundation

/// Pure readings of Redfish documents. Every accessor tolerates a missing or odd member (BMC firmware differs), and
/// every link is checked with ``RedfishPath/checked(_:)`` before the agent may follow it.
extension JSONValue {
    /// `@odata.id` of a link member (`{"@odata.id": "/redfish/v1/..."}`), checked.
    func link(_ member: String) -> String? {
        self[member]?["@odata.id"]?.stringValue.flatMap(RedfishPath.checked)
    }

    /// The checked `@odata.id` of every member of a collection's `Members` (or another array of links).
    func links(_ member: String = "Members") -> [String] {
        guard case .array(let entries) = self[member] ?? .null else { return [] }
        return entries.compactMap { $0["@odata.id"]?.stringValue.flatMap(RedfishPath.checked) }
    }

    /// A string array member (`...@Redfish.AllowableValues`).
    func strings(_ member: String) -> [String]? {
        guard case .array(let entries) = self[member] ?? .null else { return nil }
        return entries.compactMap(\.stringValue)
    }
}

/// The service root (`/redfish/v1`): where the collections are and how to log in.
public struct ServiceRoot: Sendable, Equatable {
    public var systems: String?
    public var managers: String?
    public var chassis: String?
    public var accountService: String?
    /// The sessions collection (`Links.Sessions`, or `SessionService` + `/Sessions`); nil when the service has none.
    public var sessionsPath: String?
    public var redfishVersion: String?
    public var vendor: String?
    public var product: String?

    public init(_ document: JSONValue) {
        systems = document.link("Systems")
        managers = document.link("Managers")
        chassis = document.link("Chassis")
        accountService = document.link("AccountService")
        sessionsPath = document["Links"]?.link("Sessions") ?? document.link("SessionService").flatMap { RedfishPath.checked($0 + "/Sessions") }
        redfishVersion = document["RedfishVersion"]?.stringValue
        vendor = document["Vendor"]?.stringValue
        product = document["Product"]?.stringValue
    }
}

/// Power states Redfish reports (`PowerState`).
public enum RedfishPowerState: String, Sendable, Codable {
    case on = "On", off = "Off", poweringOn = "PoweringOn", poweringOff = "PoweringOff", paused = "Paused"

    /// The seed's word: only a settled `On` is online.
    public var serverPowerState: ServerPowerState { self == .on ? .online : .offline }
}

/// `ResetType` values of `ComputerSystem.Reset` and `Manager.Reset`.
public enum ResetType: String, Sendable, Codable, CaseIterable {
    case on = "On", forceOff = "ForceOff", gracefulShutdown = "GracefulShutdown", gracefulRestart = "GracefulRestart"
    case forceRestart = "ForceRestart", nmi = "Nmi", forceOn = "ForceOn", pushPowerButton = "PushPowerButton", powerCycle = "PowerCycle"

    /// The advertised values with run-together names split (Supermicro firmware 1.14 lists
    /// `GracefulShutdownGracefulRestart` for the two). Values that are not reset types stay as they are.
    public static func advertised(_ values: [String]) -> [String] {
        values.flatMap { value -> [String] in
            // At most four names run together: a longer value is not a reset type list (and must not cost a deep recursion).
            guard ResetType(rawValue: value) == nil, value.utf8.count <= 80, let parts = split(Substring(value)) else { return [value] }
            return parts
        }
    }

    /// `text` as a run of reset type names, or nil.
    private static func split(_ text: Substring) -> [String]? {
        if text.isEmpty { return [] }
        for type in allCases where text.hasPrefix(type.rawValue) {
            if let rest = split(text.dropFirst(type.rawValue.count)) { return [type.rawValue] + rest }
        }
        return nil
    }
}

/// Boot override targets (`BootSourceOverrideTarget`) the agent sets.
public enum BootOverrideTarget: String, Sendable, Codable, CaseIterable {
    case pxe = "Pxe", hdd = "Hdd", biosSetup = "BiosSetup", cd = "Cd", uefiHttp = "UefiHttp", none = "None"
}

/// The boot override as a system reports it.
public struct BootOverride: Sendable, Equatable, Codable {
    /// `Pxe`, `Hdd`, `BiosSetup`, `Cd` ... as reported.
    public var target: String?
    /// `Once`, `Continuous` or `Disabled`.
    public var enabled: String?
    /// `UEFI` or `Legacy`; nil when the system does not report a mode (and then takes none).
    public var mode: String?
    /// The targets the system advertises; nil when it does not say.
    public var allowedTargets: [String]?

    public init(target: String?, enabled: String?, mode: String?, allowedTargets: [String]?) {
        self.target = target
        self.enabled = enabled
        self.mode = mode
        self.allowedTargets = allowedTargets
    }

    public init(_ boot: JSONValue) {
        target = boot["BootSourceOverrideTarget"]?.stringValue
        enabled = boot["BootSourceOverrideEnabled"]?.stringValue
        mode = boot["BootSourceOverrideMode"]?.stringValue
        allowedTargets = boot.strings("BootSourceOverrideTarget@Redfish.AllowableValues")
    }
}

/// A `ComputerSystem`: what power, boot and inventory calls read.
public struct ComputerSystem: Sendable, Equatable {
    public var path: String
    public var id: String?
    public var powerState: RedfishPowerState?
    /// The `PowerState` text as reported, for errors about an unknown state.
    public var reportedPowerState: String?
    public var boot: BootOverride?
    /// Where `ComputerSystem.Reset` is posted.
    public var resetTarget: String?
    /// The reset types the system lists inline; nil when it does not (then ``resetActionInfo`` may).
    public var resetTypes: [String]?
    /// `@Redfish.ActionInfo` of the reset action (HPE, Supermicro list the allowed values there).
    public var resetActionInfo: String?
    /// When the system last reset (evidence for a restart), if the BMC reports it.
    public var lastResetTime: String?
    public var managers: [String]
    public var manufacturer: String?
    public var model: String?
    public var serialNumber: String?
    public var sku: String?
    public var biosVersion: String?
    public var hostName: String?
    public var uuid: String?
    public var health: String?
    public var processorCount: Int?
    public var processorModel: String?
    public var memoryGiB: Double?
    public var processors: String?
    public var memory: String?
    public var ethernetInterfaces: String?
    public var storage: String?
    public var simpleStorage: String?
    public var logServices: String?

    public init(path: String, document: JSONValue) {
        self.path = path
        id = document["Id"]?.stringValue
        reportedPowerState = document["PowerState"]?.stringValue
        powerState = reportedPowerState.flatMap(RedfishPowerState.init(rawValue:))
        boot = document["Boot"].map(BootOverride.init)
        let reset = document["Actions"]?["#ComputerSystem.Reset"]
        resetTarget = reset?["target"]?.stringValue.flatMap(RedfishPath.checked)
        resetTypes = reset?.strings("ResetType@Redfish.AllowableValues").map(ResetType.advertised)
        resetActionInfo = reset?["@Redfish.ActionInfo"]?.stringValue.flatMap(RedfishPath.checked)
        lastResetTime = document["LastResetTime"]?.stringValue
        managers = document["Links"]?.links("ManagedBy") ?? []
        manufacturer = document["Manufacturer"]?.stringValue
        model = document["Model"]?.stringValue
        serialNumber = document["SerialNumber"]?.stringValue
        sku = document["SKU"]?.stringValue
        biosVersion = document["BiosVersion"]?.stringValue
        hostName = document["HostName"]?.stringValue
        uuid = document["UUID"]?.stringValue
        health = document["Status"]?["HealthRollup"]?.stringValue ?? document["Status"]?["HealthRollUp"]?.stringValue ?? document["Status"]?["Health"]?.stringValue
        processorCount = document["ProcessorSummary"]?["Count"]?.intValue
        processorModel = document["ProcessorSummary"]?["Model"]?.stringValue
        memoryGiB = document["MemorySummary"]?["TotalSystemMemoryGiB"]?.doubleValue
        processors = document.link("Processors")
        memory = document.link("Memory")
        ethernetInterfaces = document.link("EthernetInterfaces")
        storage = document.link("Storage")
        simpleStorage = document.link("SimpleStorage")
        logServices = document.link("LogServices")
    }
}

/// The `ResetType` values an `ActionInfo` document allows.
public enum ActionInfo {
    public static func allowedValues(_ document: JSONValue, parameter: String = "ResetType") -> [String]? {
        guard case .array(let parameters) = document["Parameters"] ?? .null else { return nil }
        return parameters.first { $0["Name"]?.stringValue == parameter }?.strings("AllowableValues").map(ResetType.advertised)
    }
}

/// A `Manager` (the BMC itself): firmware and its reset action.
public struct ManagerResource: Sendable, Equatable {
    public var path: String
    public var firmwareVersion: String?
    /// When the BMC last reset, if it reports it (evidence for a manager reset).
    public var lastResetTime: String?
    public var model: String?
    public var resetTarget: String?
    public var resetTypes: [String]?
    public var ethernetInterfaces: String?
    public var virtualMedia: String?
    public var logServices: String?

    public init(path: String, document: JSONValue) {
        self.path = path
        firmwareVersion = document["FirmwareVersion"]?.stringValue
        lastResetTime = document["LastResetTime"]?.stringValue
        model = document["Model"]?.stringValue
        let reset = document["Actions"]?["#Manager.Reset"]
        resetTarget = reset?["target"]?.stringValue.flatMap(RedfishPath.checked)
        resetTypes = reset?.strings("ResetType@Redfish.AllowableValues")
        ethernetInterfaces = document.link("EthernetInterfaces")
        virtualMedia = document.link("VirtualMedia")
        logServices = document.link("LogServices")
    }
}

/// Redfish timestamps (`LastResetTime`: `2021-03-13T04:02:57+06:00`), compared as instants: a BMC that reformats the same
/// time has not reset.
public enum RedfishTime {
    public static func instant(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// True when `after` is a later instant than `before`.
    public static func moved(from before: String?, to after: String?) -> Bool {
        guard let before = before.flatMap(instant), let after = after.flatMap(instant) else { return false }
        return after > before
    }
}
