import AgentCore
import Foundation

/// A subnet the DHCP server serves: configured (with a dynamic range, routers, DNS) or derived from the
/// entries themselves (reservations only), so reservations need no prior subnet configuration.
public struct DHCPSubnetPlan: Sendable, Equatable {
    public var network: IPNetwork
    public var rangeStart: IPAddress?
    public var rangeEnd: IPAddress?
    public var routers: [String]
    public var dns: [String]
    public var leaseSeconds: Int

    public var isIPv4: Bool { network.address.isIPv4 }

    /// Configured subnets first, then one reservations-only subnet per entry network not yet covered.
    public static func plan(entries: [DHCPEntry], configured: [DHCPSubnetConfiguration], defaultLeaseSeconds: Int) throws -> [DHCPSubnetPlan] {
        var plans: [DHCPSubnetPlan] = []
        for (index, subnet) in configured.enumerated() {
            guard let network = IPNetwork(subnet.subnet) else {
                throw AgentError.invalidField("dhcp.subnets[\(index)].subnet", "not a CIDR network")
            }
            var plan = DHCPSubnetPlan(
                network: network, routers: subnet.routers ?? [], dns: subnet.dns ?? [], leaseSeconds: subnet.leaseSeconds ?? defaultLeaseSeconds)
            if let range = subnet.range {
                let parts = range.split(separator: "-").map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let first = IPAddress(parts[0]), let last = IPAddress(parts[1]), network.contains(first), network.contains(last), first <= last else {
                    throw AgentError.invalidField("dhcp.subnets[\(index)].range", "expected first-last inside \(network)")
                }
                plan.rangeStart = first
                plan.rangeEnd = last
            }
            plans.append(plan)
        }
        for entry in entries {
            for address in [entry.ipv4, entry.ipv6].compactMap({ $0 }) {
                let ip = IPAddress(address.ip)!
                if plans.contains(where: { $0.network.contains(ip) }) { continue }
                plans.append(DHCPSubnetPlan(network: address.network, routers: [], dns: [], leaseSeconds: defaultLeaseSeconds))
            }
        }
        return plans
    }
}

/// Everything a renderer needs; the same for the three backends.
public struct DHCPRenderContext: Sendable {
    public var entries: [DHCPEntry]
    public var subnets: [DHCPSubnetPlan]
    /// The agent's address on the boot network (next-server, TFTP).
    public var serverAddress: String
    /// What an iPXE client is sent to: the per-MAC script on the boot listener.
    public var scriptURL: String
    public var biosBootFile: String
    public var efiBootFile: String
    public var arm64BootFile: String?
    public var interface: String?
    public var leaseSeconds: Int
    public var configDirectory: String
    public var tftpRoot: String
    public var keaControlSocket: String?
    /// The boot listener's base URL the script URL is built from (checked before rendering).
    public var bootBaseURL: String

    public init(entries: [DHCPEntry], subnets: [DHCPSubnetPlan], configuration: AgentConfiguration) {
        self.entries = entries.sorted { $0.mac < $1.mac }
        self.subnets = subnets
        let boot = configuration.bootBaseURL
        bootBaseURL = boot
        serverAddress = configuration.dhcp.serverAddress ?? URL(string: boot)?.host ?? "127.0.0.1"
        scriptURL = "\(boot)/boot/ipxe?mac=${net0/mac}&arch=${platform}"
        biosBootFile = configuration.dhcp.biosBootFile
        efiBootFile = configuration.dhcp.efiBootFile
        arm64BootFile = configuration.dhcp.arm64BootFile
        interface = configuration.dhcp.interface
        leaseSeconds = configuration.dhcp.leaseSeconds
        configDirectory = configuration.dhcpConfigDirectory
        tftpRoot = configuration.tftpRoot
        keaControlSocket = configuration.dhcp.keaControlSocket
    }

    /// Refuses any value that cannot be written into a configuration line safely, whichever path brought it (the
    /// API validates at the edge; an installation profile, a stored entry or the configuration file reach the
    /// renderers too). Every renderer calls this before writing a line.
    func checkRenderable() throws {
        func refuse(_ field: String, _ value: String, _ reason: String) -> DHCPRenderError {
            DHCPRenderError.unsafeValue(field: field, value: value, reason: reason)
        }
        for entry in entries {
            let mac = entry.mac.description
            guard Validation.isHostName(entry.hostname) else { throw refuse("entries[\(mac)].hostname", entry.hostname, "not an RFC 1123 host name") }
            for (name, file) in [("bios", entry.bootFiles.bios), ("efi", entry.bootFiles.efi)] {
                if let file, !Validation.isBootFile(file) { throw refuse("entries[\(mac)].bootFiles.\(name)", file, "not a boot file name or plain URL") }
            }
            for (name, address) in [("ipv4", entry.ipv4), ("ipv6", entry.ipv6)] {
                guard let address else { continue }
                guard IPAddress(address.ip) != nil else { throw refuse("entries[\(mac)].\(name).ip", address.ip, "not an IP address") }
                if let gateway = address.gateway, IPAddress(gateway) == nil { throw refuse("entries[\(mac)].\(name).gateway", gateway, "not an IP address") }
            }
            for server in entry.dns where IPAddress(server) == nil { throw refuse("entries[\(mac)].dns", server, "not an IP address") }
        }
        for (field, file) in [("dhcp.biosBootFile", biosBootFile), ("dhcp.efiBootFile", efiBootFile), ("dhcp.arm64BootFile", arm64BootFile ?? "ipxe.efi")]
        where !Validation.isBootFile(file) {
            throw refuse(field, file, "not a boot file name or plain URL")
        }
        guard Validation.isBootFile(bootBaseURL), bootBaseURL.hasPrefix("http") else { throw refuse("boot.baseURL", bootBaseURL, "not a plain http(s) URL") }
        guard IPAddress(serverAddress) != nil || Validation.isHostName(serverAddress) else {
            throw refuse("dhcp.serverAddress", serverAddress, "not an IP address or host name")
        }
        if let interface, !Validation.isInterfaceName(interface) { throw refuse("dhcp.interface", interface, "not a network interface name") }
        for (field, path) in [("dhcp.configDirectory", configDirectory), ("dhcp.tftpRoot", tftpRoot), ("dhcp.keaControlSocket", keaControlSocket ?? "/")]
        where !Validation.isPlainPath(path) {
            throw refuse(field, path, "not an absolute path of letters, digits and ._-/")
        }
        for subnet in subnets {
            for address in subnet.routers + subnet.dns where IPAddress(address) == nil {
                throw refuse("dhcp.subnets[\(subnet.network)]", address, "not an IP address")
            }
        }
    }

    /// Entries that may PXE boot now, split into those using the agent's boot files and those with their own.
    var pxeEntries: [DHCPEntry] { entries.filter { $0.pxe && $0.bootFiles.isEmpty } }
    var customBootEntries: [DHCPEntry] { entries.filter { $0.pxe && !$0.bootFiles.isEmpty } }
}

/// A backend's rendered configuration.
public struct RenderedDHCPConfig: Sendable, Equatable {
    /// The daemon's main configuration.
    public var main: String
    /// dnsmasq only: one dhcp-hostsdir file per MAC (host line) and one dhcp-optsdir file per MAC.
    public var hostFiles: [String: String] = [:]
    public var optionFiles: [String: String] = [:]
    /// A single self-contained file the daemon's own checker can validate (main plus hosts and options inline).
    public var validationConfig: String
}

/// Renders one backend's configuration. Pure. Refuses (``DHCPRenderError``) a context holding a value that
/// cannot be written into a configuration line safely.
public protocol DHCPRenderer: Sendable {
    var backend: DHCPBackendKind { get }
    func render(_ context: DHCPRenderContext) throws -> RenderedDHCPConfig
}

/// A value a renderer will not write: it would break out of its configuration line.
public enum DHCPRenderError: Error, Sendable, Equatable, AgentErrorConvertible {
    case unsafeValue(field: String, value: String, reason: String)

    /// A 500: every value reaching the renderer passed validation first, so one refused here came from somewhere
    /// validation did not cover (an old database, an installation profile) and is not the current request's fault.
    public var agentError: AgentError {
        switch self {
        case .unsafeValue(let field, let value, let reason):
            let shown = String(value.unicodeScalars.map { $0.properties.generalCategory == .control ? "?" : Character($0) }.prefix(80))
            return AgentError(
                status: .internalError, code: "unrenderable_value",
                message: "\(field): \(reason) (refused by the DHCP renderer, nothing was written: \(shown))",
                details: ["field": .string(field)])
        }
    }
}
