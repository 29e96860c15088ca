import AgentCore
import Foundation

public enum PortMode: String, Sendable, Codable, Equatable {
    case access, trunk, routed
}

/// An interface as a dialect reads it back.
public struct SwitchInterface: Sendable, Equatable, Codable {
    public var name: String
    public var enabled: Bool
    public var description: String
    public var mode: PortMode
    /// The untagged VLAN of an access port (1 = the default).
    public var accessVlan: Int?
    /// The untagged VLAN of a trunk.
    public var nativeVlan: Int?
    /// Tagged VLANs of a trunk; nil means all.
    public var trunkVlans: [Int]?

    public init(name: String, enabled: Bool = true, description: String = "", mode: PortMode = .access, accessVlan: Int? = 1,
                nativeVlan: Int? = 1, trunkVlans: [Int]? = nil) {
        self.name = name
        self.enabled = enabled
        self.description = description
        self.mode = mode
        self.accessVlan = accessVlan
        self.nativeVlan = nativeVlan
        self.trunkVlans = trunkVlans
    }
}

/// A VLAN with its layer-3 addresses (the first is the primary).
public struct SwitchVLAN: Sendable, Equatable, Codable {
    public var id: Int
    public var name: String
    public var l3Ips: [String]

    public init(id: Int, name: String, l3Ips: [String] = []) {
        self.id = id
        self.name = name
        self.l3Ips = l3Ips
    }
}

/// What a request wants an interface to be; nil fields stay as they are.
public struct InterfaceChange: Sendable, Equatable {
    public var enabled: Bool?
    public var description: String?
    public var accessVlan: Int?
    public var nativeVlan: Int?
    public var trunkVlans: [Int]?
    /// deleteVlanFromInterface: the VLAN leaves the port (access back to 1, native back to 1, out of the trunk).
    public var removeVlan: Int?

    public init(enabled: Bool? = nil, description: String? = nil, accessVlan: Int? = nil, nativeVlan: Int? = nil, trunkVlans: [Int]? = nil, removeVlan: Int? = nil) {
        self.enabled = enabled
        self.description = description
        self.accessVlan = accessVlan
        self.nativeVlan = nativeVlan
        self.trunkVlans = trunkVlans
        self.removeVlan = removeVlan
    }

    /// The interface as it should be afterwards.
    public func desired(from current: SwitchInterface) -> SwitchInterface {
        var desired = current
        if let enabled { desired.enabled = enabled }
        if let description { desired.description = description }
        if let accessVlan {
            desired.mode = .access
            desired.accessVlan = accessVlan
        }
        if trunkVlans != nil || nativeVlan != nil {
            if desired.mode != .trunk {
                desired.mode = .trunk
                desired.nativeVlan = 1
                desired.trunkVlans = []
            }
            if let nativeVlan { desired.nativeVlan = nativeVlan }
            if let trunkVlans { desired.trunkVlans = trunkVlans.sorted() }
        }
        if let vlan = removeVlan {
            switch desired.mode {
            case .access where desired.accessVlan == vlan:
                desired.accessVlan = 1
            case .trunk:
                if desired.nativeVlan == vlan { desired.nativeVlan = 1 }
                let allowed = desired.trunkVlans ?? Array(1...4094)
                if allowed.contains(vlan) { desired.trunkVlans = allowed.filter { $0 != vlan } }
            default:
                break
            }
        }
        return desired
    }

    /// The fields that differ between what was asked and what was read back.
    public func mismatches(_ desired: SwitchInterface, _ actual: SwitchInterface) -> [String] {
        var fields: [String] = []
        if desired.enabled != actual.enabled { fields.append("portAdminStatus is \(actual.enabled ? "enabled" : "disabled")") }
        if desired.description != actual.description { fields.append("description is \"\(actual.description)\"") }
        if desired.mode != actual.mode { fields.append("mode is \(actual.mode.rawValue)") }
        if desired.mode == .access, desired.accessVlan != actual.accessVlan { fields.append("accessVlan is \(actual.accessVlan.map(String.init) ?? "none")") }
        if desired.mode == .trunk {
            if desired.nativeVlan != actual.nativeVlan { fields.append("trunkNativeVlan is \(actual.nativeVlan.map(String.init) ?? "none")") }
            if desired.trunkVlans != actual.trunkVlans { fields.append("trunkVlans are \(actual.trunkVlans.map(VLANList.format) ?? "all")") }
        }
        return fields
    }
}

/// What createVlan / updateVlan want.
public struct VLANChange: Sendable, Equatable {
    public var id: Int
    public var name: String?
    public var l3Ips: [String]?
    public var create: Bool

    public init(id: Int, name: String?, l3Ips: [String]?, create: Bool) {
        self.id = id
        self.name = name
        self.l3Ips = l3Ips
        self.create = create
    }

    public func desired(from current: SwitchVLAN?) -> SwitchVLAN {
        var desired = current ?? SwitchVLAN(id: id, name: name ?? "VLAN\(String(format: "%04d", id))")
        if let name { desired.name = name }
        if let l3Ips { desired.l3Ips = l3Ips }
        return desired
    }
}

/// Interface names as platforms abbreviate them: `Et1` and `Ethernet1`, `Gi1/0/1`, `Gig1/0/1` and
/// `GigabitEthernet1/0/1`, `Po10` and `Port-Channel10` name the same interface. Like the platforms' own CLIs, any
/// prefix that names one interface type is accepted; the two-letter abbreviations platforms print where two types
/// share a prefix (`Tw` two-gigabit, `Twe` twenty-five-gigabit, `Fo` forty, `Fi` five, `Fif` fifty) are fixed.
public enum InterfaceName {
    /// Full type names, lowercased.
    static let types = [
        "ethernet", "fastethernet", "gigabitethernet", "twogigabitethernet", "fivegigabitethernet", "tengigabitethernet",
        "twentyfivegige", "fortygigabitethernet", "fiftygige", "hundredgige", "fourhundredgige", "appgigabitethernet", "port-channel",
        "vlan", "loopback", "tunnel", "management", "mgmt", "vxlan", "nve", "bundle-ether",
    ]
    /// Other spellings of the same type (IOS-XR's `TenGigE`, NX-OS's `Eth`).
    static let aliases = [
        "tengige": "tengigabitethernet", "fortygige": "fortygigabitethernet", "twentyfivegigabitethernet": "twentyfivegige",
        "hundredgigabitethernet": "hundredgige", "portchannel": "port-channel", "port-ch": "port-channel",
    ]
    /// Abbreviations that several types share, as the platforms print them.
    static let fixedAbbreviations = [
        "et": "ethernet", "eth": "ethernet", "fa": "fastethernet", "gi": "gigabitethernet", "tw": "twogigabitethernet",
        "twe": "twentyfivegige", "te": "tengigabitethernet", "fo": "fortygigabitethernet", "fi": "fivegigabitethernet", "fif": "fiftygige",
        "hu": "hundredgige", "fh": "fourhundredgige", "ap": "appgigabitethernet", "po": "port-channel", "vl": "vlan", "lo": "loopback",
        "tu": "tunnel", "ma": "management", "be": "bundle-ether",
    ]

    /// The lowercased full name: `Et1` → `ethernet1`, `Po10` → `port-channel10`, `Ten1/1` → `tengigabitethernet1/1`.
    /// A name whose type is not known, or is ambiguous, is only lowercased.
    public static func canonical(_ name: String) -> String {
        let lowered = name.trimmingCharacters(in: .whitespaces).lowercased()
        guard let digit = lowered.firstIndex(where: \.isNumber) else { return lowered }
        let prefix = String(lowered[..<digit]).trimmingCharacters(in: .whitespaces)
        return fullType(prefix) + lowered[digit...]
    }

    static func fullType(_ prefix: String) -> String {
        if types.contains(prefix) { return prefix }
        if let alias = aliases[prefix] { return alias }
        if let fixed = fixedAbbreviations[prefix] { return fixed }
        guard prefix.count >= 2 else { return prefix }
        let candidates = types.filter { $0.hasPrefix(prefix) }
        return candidates.count == 1 ? candidates[0] : prefix
    }
}

/// VLAN lists as switches print them: `10,20,30-32`, `ALL`, `NONE`, `1-4094`.
public enum VLANList {
    /// The VLAN ids of a list as switches print it (`10,20,30-32`); nil for "all". Ids and ranges outside 1-4094 are
    /// not VLANs and are left out, never expanded: `100-105105` once took the fuzzer seconds, and a range up to
    /// 2^63 would have exhausted memory.
    public static func parse(_ text: String) -> [Int]? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        switch trimmed.uppercased() {
        case "ALL", "1-4094", "1-4095": return nil
        case "NONE", "": return []
        default: break
        }
        // A set: repeated ranges (`1-4094,1-4094,...`) cost nothing more than one.
        var vlans = Set<Int>()
        for part in trimmed.split(whereSeparator: { $0 == "," || $0 == " " }) {
            let bounds = part.split(separator: "-").compactMap { Int($0) }
            guard bounds.allSatisfy({ (1...4094).contains($0) }) else { continue }
            if bounds.count == 2, bounds[0] <= bounds[1] {
                vlans.formUnion(bounds[0]...bounds[1])
            } else if bounds.count == 1 {
                vlans.insert(bounds[0])
            }
        }
        let unique = vlans.sorted()
        return unique.count >= 4094 ? nil : unique
    }

    /// `[10, 20, 30, 31, 32]` → `10,20,30-32`.
    public static func format(_ vlans: [Int]) -> String {
        let sorted = Array(Set(vlans)).sorted()
        var parts: [String] = []
        var index = 0
        while index < sorted.count {
            var end = index
            while end + 1 < sorted.count, sorted[end + 1] == sorted[end] + 1 { end += 1 }
            parts.append(end > index + 1 ? "\(sorted[index])-\(sorted[end])" : (end == index + 1 ? "\(sorted[index]),\(sorted[end])" : "\(sorted[index])"))
            index = end + 1
        }
        return parts.joined(separator: ",")
    }
}

/// Checks every value before it can reach a CLI line; errors name the request field.
public enum SwitchValidation {
    public static func vlanId(_ value: Int, field: String) throws -> Int {
        guard (1...4094).contains(value) else { throw AgentError.invalidField(field, "VLAN ids are 1 to 4094") }
        return value
    }

    /// Printable ASCII without the characters that end or escape a CLI argument: no newline, `;`, `|`, quotes,
    /// backslash, backtick, `$`, `?` (CLI help) or `!`/`#` at the start (comments).
    public static func description(_ text: String, field: String) throws -> String {
        guard text.count <= 80 else { throw AgentError.invalidField(field, "at most 80 characters") }
        guard text.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value < 0x7F }),
            !text.contains(where: { ";|\"'\\`$?".contains($0) }), !text.hasPrefix("!"), !text.hasPrefix("#")
        else {
            throw AgentError.invalidField(field, "printable ASCII without line breaks, ; | quotes backslash backtick $ or ?")
        }
        return text.trimmingCharacters(in: .whitespaces)
    }

    public static func vlanName(_ text: String, field: String) throws -> String {
        guard !text.isEmpty, text.count <= 32, text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }),
            text.first?.isLetter == true
        else { throw AgentError.invalidField(field, "1-32 letters, digits, _ . -, starting with a letter") }
        return text
    }

    /// `10.10.10.1/24` (host address with prefix, IPv4 or IPv6).
    public static func cidr(_ text: String, field: String) throws -> String {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let address = IPAddress(String(parts[0])), let prefix = Int(parts[1]),
            (1...(address.isIPv4 ? 32 : 128)).contains(prefix)
        else { throw AgentError.invalidField(field, "expected an address with prefix length, e.g. 10.10.10.1/24") }
        let network = IPNetwork(address: address, prefixLength: prefix)
        if address.isIPv4, prefix < 31, address == network.address || address == network.broadcast {
            throw AgentError.invalidField(field, "\(text) is the network or broadcast address")
        }
        return "\(address)/\(prefix)"
    }
}
