import AgentCore
import Foundation

/// A server's DHCP reservation as the controller registers it:
/// `{"serverId": 61, "hostname": "node-61", "ipv4": {"ip": "10.10.10.30", "cidr": 24, "gateway": "10.10.10.1"},
///   "ipv6": {...}, "dns": ["10.10.10.2"], "permanent": true, "keepMinutes": null, "pxe": true,
///   "bootFiles": {"bios": null, "efi": null}}`.
/// `permanent` is the seed's enable_permanent_dhcp; a temporary entry (permanent false) expires after
/// `keepMinutes` (the seed's keep_dhcp_minutes, 1-6000).
public struct DHCPEntry: Sendable, Equatable {
    public struct Address: Sendable, Equatable, Codable {
        public var ip: String
        public var cidr: Int
        public var gateway: String?

        public init(ip: String, cidr: Int, gateway: String?) {
            self.ip = ip
            self.cidr = cidr
            self.gateway = gateway
        }

        /// The network this address lives in.
        public var network: IPNetwork { IPNetwork(address: IPAddress(ip)!, prefixLength: cidr) }
    }

    public struct BootFiles: Sendable, Equatable, Codable {
        /// Served instead of the agent's BIOS boot file (a file in the TFTP root or an http URL).
        public var bios: String?
        /// Served instead of the agent's UEFI boot file.
        public var efi: String?

        public init(bios: String? = nil, efi: String? = nil) {
            self.bios = bios
            self.efi = efi
        }

        public var isEmpty: Bool { bios == nil && efi == nil }
    }

    public var mac: MACAddress
    public var serverId: String?
    public var hostname: String
    public var ipv4: Address?
    public var ipv6: Address?
    public var dns: [String]
    public var permanent: Bool
    public var keepMinutes: Int?
    public var pxe: Bool
    public var bootFiles: BootFiles
    /// When a temporary entry stops being served; nil for permanent ones.
    public var expiresAt: Date?

    public init(
        mac: MACAddress, serverId: String? = nil, hostname: String, ipv4: Address?, ipv6: Address? = nil, dns: [String] = [],
        permanent: Bool = true, keepMinutes: Int? = nil, pxe: Bool = false, bootFiles: BootFiles = BootFiles(), expiresAt: Date? = nil
    ) {
        self.mac = mac
        self.serverId = serverId
        self.hostname = hostname
        self.ipv4 = ipv4
        self.ipv6 = ipv6
        self.dns = dns
        self.permanent = permanent
        self.keepMinutes = keepMinutes
        self.pxe = pxe
        self.bootFiles = bootFiles
        self.expiresAt = expiresAt
    }

    /// The API's JSON form.
    public var apiRepresentation: JSONValue {
        func address(_ value: Address?) -> JSONValue {
            guard let value else { return .null }
            return ["ip": .string(value.ip), "cidr": .integer(Int64(value.cidr)), "gateway": value.gateway.map(JSONValue.string) ?? .null]
        }
        return [
            "mac": .string(mac.description), "serverId": serverId.map { Int64($0).map(JSONValue.integer) ?? .string($0) } ?? .null,
            "hostname": .string(hostname), "ipv4": address(ipv4), "ipv6": address(ipv6), "dns": .array(dns.map(JSONValue.string)),
            "permanent": .bool(permanent), "keepMinutes": keepMinutes.map { .integer(Int64($0)) } ?? .null, "pxe": .bool(pxe),
            "bootFiles": ["bios": bootFiles.bios.map(JSONValue.string) ?? .null, "efi": bootFiles.efi.map(JSONValue.string) ?? .null],
            "expiresAt": expiresAt.map { .string(UTCTime.iso8601($0)) } ?? .null,
        ]
    }
}

/// The request body of `PUT /v1/dhcp/entries/{mac}`, validated field by field: a newline or `;` in any value
/// never reaches a DHCP config.
public struct DHCPEntryRequest: Sendable, Decodable {
    public var serverId: String?
    public var hostname: String
    public var ipv4: DHCPEntry.Address?
    public var ipv6: DHCPEntry.Address?
    public var dns: [String]
    public var permanent: Bool
    public var keepMinutes: Int?
    public var pxe: Bool
    public var bootFiles: DHCPEntry.BootFiles

    enum CodingKeys: String, CodingKey {
        case serverId, hostname, ipv4, ipv6, dns, permanent, keepMinutes, pxe, bootFiles
    }

    enum AddressKeys: String, CodingKey { case ip, cidr, gateway }
    enum BootFileKeys: String, CodingKey { case bios, efi }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        serverId = try container.decodeTolerantStringIfPresent(forKey: .serverId)
        hostname = try container.decodeTolerantString(forKey: .hostname)
        guard Validation.isHostName(hostname) else {
            throw container.invalid(.hostname, "must be an RFC 1123 host name (letters, digits, hyphens and dots)")
        }
        ipv4 = try Self.address(container, .ipv4, family: .v4)
        ipv6 = try Self.address(container, .ipv6, family: .v6)
        guard ipv4 != nil || ipv6 != nil else { throw container.invalid(.ipv4, "an ipv4 or ipv6 address is required") }
        dns = try container.decodeIfPresent([String].self, forKey: .dns) ?? []
        for (index, server) in dns.enumerated() where IPAddress(server) == nil {
            throw DecodingError.dataCorrupted(.init(codingPath: container.codingPath + [CodingKeys.dns, IndexKey(index)], debugDescription: "not an IP address"))
        }
        permanent = try container.decodeTolerantBoolIfPresent(forKey: .permanent) ?? true
        keepMinutes = try container.decodeTolerantIntIfPresent(forKey: .keepMinutes)
        if let keepMinutes, !(1...6000).contains(keepMinutes) { throw container.invalid(.keepMinutes, "must be from 1 to 6000") }
        if !permanent, keepMinutes == nil { throw container.invalid(.keepMinutes, "required for a temporary (permanent: false) entry") }
        pxe = try container.decodeTolerantBoolIfPresent(forKey: .pxe) ?? false
        bootFiles = DHCPEntry.BootFiles()
        if container.contains(.bootFiles), try !container.decodeNil(forKey: .bootFiles) {
            let files = try container.nestedContainer(keyedBy: BootFileKeys.self, forKey: .bootFiles)
            bootFiles.bios = try Self.bootFile(files, .bios)
            bootFiles.efi = try Self.bootFile(files, .efi)
        }
    }

    enum Family { case v4, v6 }

    static func address(_ container: KeyedDecodingContainer<CodingKeys>, _ key: CodingKeys, family: Family) throws -> DHCPEntry.Address? {
        guard container.contains(key), try !container.decodeNil(forKey: key) else { return nil }
        let nested = try container.nestedContainer(keyedBy: AddressKeys.self, forKey: key)
        let ipText = try nested.decodeTolerantString(forKey: .ip)
        guard let ip = IPAddress(ipText), ip.isIPv4 == (family == .v4) else {
            throw nested.invalid(.ip, "not an \(family == .v4 ? "IPv4" : "IPv6") address")
        }
        let cidr = try nested.decodeTolerantInt(forKey: .cidr)
        let maximum = family == .v4 ? 32 : 128
        guard (1...maximum).contains(cidr) else { throw nested.invalid(.cidr, "must be from 1 to \(maximum)") }
        let network = IPNetwork(address: ip, prefixLength: cidr)
        if family == .v4, cidr < 31 {
            guard ip != network.address else { throw nested.invalid(.ip, "is the network address of /\(cidr)") }
            guard ip != network.broadcast else { throw nested.invalid(.ip, "is the broadcast address of /\(cidr)") }
        }
        var gateway: String?
        if let text = try nested.decodeTolerantStringIfPresent(forKey: .gateway), !text.isEmpty {
            guard let address = IPAddress(text), address.isIPv4 == (family == .v4) else { throw nested.invalid(.gateway, "not an IP address of the same family") }
            guard network.contains(address) else { throw nested.invalid(.gateway, "\(text) is not in \(network)") }
            guard address != ip else { throw nested.invalid(.gateway, "must differ from the host's own address") }
            gateway = address.description
        }
        return DHCPEntry.Address(ip: ip.description, cidr: cidr, gateway: gateway)
    }

    /// A boot file, checked by ``Validation/isBootFile(_:)``.
    static func bootFile(_ container: KeyedDecodingContainer<BootFileKeys>, _ key: BootFileKeys) throws -> String? {
        guard let value = try container.decodeTolerantStringIfPresent(forKey: key), !value.isEmpty else { return nil }
        guard Validation.isBootFile(value) else {
            throw container.invalid(key, "a file name of letters, digits and ._-/ or an http(s) URL without spaces, quotes or ;,$")
        }
        return value
    }

    /// The stored entry; a temporary one expires `keepMinutes` from `now`.
    public func entry(mac: MACAddress, now: Date = Date()) -> DHCPEntry {
        DHCPEntry(
            mac: mac, serverId: serverId, hostname: hostname.lowercased(), ipv4: ipv4, ipv6: ipv6, dns: dns, permanent: permanent,
            keepMinutes: keepMinutes, pxe: pxe, bootFiles: bootFiles,
            expiresAt: permanent ? nil : now.addingTimeInterval(Double(keepMinutes ?? 0) * 60))
    }
}

/// An array position as a coding key (for error paths like `dns[1]`).
struct IndexKey: CodingKey {
    let intValue: Int?
    let stringValue: String
    init(_ index: Int) {
        intValue = index
        stringValue = "Index \(index)"
    }
    init?(intValue: Int) { self.init(intValue) }
    init?(stringValue: String) { nil }
}
