import AgentCore
import Foundation

/// Everything an installation does outside its own record: the OS cache, the server's DHCP entry, the boot device
/// and the power, the serial console capture. The manager drives the state machine through this seam, so its tests
/// can stand in for every peer.
public protocol InstallationEffects: Sendable {
    /// Fetches the profile's files into the OS cache; what was done, in words.
    func prepareCache(_ profile: PXEProfile) async throws -> String
    /// The MAC's current entry.
    func dhcpEntry(_ mac: MACAddress) async throws -> DHCPEntry?
    /// Refuses `planned` when it collides with another MAC's entry (an address in use).
    func checkDHCPConflicts(_ planned: DHCPEntry) async throws
    /// Puts (creates or replaces) the MAC's entry and makes the DHCP server serve it.
    func putDHCPEntry(_ entry: DHCPEntry) async throws
    /// Removes the MAC's entry from the DHCP server.
    func removeDHCPEntry(_ mac: MACAddress) async throws
    /// The boot device and the power; nil when the agent has no power drivers. A seam of its own: the controller
    /// API implements it with the power router, and this module stays free of drivers.
    var power: (any InstallationPowerControl)? { get }
    /// The registered ISO `id`, once it is cached: waits while its download runs, fails when it is not registered,
    /// failed, or pending with no download running.
    func readyISO(_ id: String) async throws -> ISOImage
    /// Starts keeping the server's serial console (never holds the installation up).
    func startConsoleCapture(serverId: String, connection: JSONValue) async
    /// Stops keeping it (the installation ended).
    func stopConsoleCapture(serverId: String) async
}

/// Keeps a server's serial console open while its installation runs, so its output is kept even when nobody
/// watches (the console module does it; this module knows nothing of SOL).
public protocol InstallationConsoleCapture: Sendable {
    /// Opens the server's console over `connection` (when it has one) and keeps its output.
    func startCapture(serverId: String, connection: JSONValue) async
    /// Closes it.
    func stopCapture(serverId: String) async
}

/// The effects on the agent's own services: the OS cache, the DHCP service, the power router, the console.
public struct AgentInstallationEffects: InstallationEffects {
    let dhcp: DHCPService
    let cache: OSCache
    let isos: ISORegistry
    public let power: (any InstallationPowerControl)?
    let consoleCapture: (any InstallationConsoleCapture)?

    /// Effects on `dhcp`, `cache`, `isos`, `power` (nil: installations that need power are refused) and
    /// `consoleCapture`.
    public init(
        dhcp: DHCPService, cache: OSCache, isos: ISORegistry, power: (any InstallationPowerControl)?, consoleCapture: (any InstallationConsoleCapture)?
    ) {
        self.dhcp = dhcp
        self.cache = cache
        self.isos = isos
        self.power = power
        self.consoleCapture = consoleCapture
    }

    public func prepareCache(_ profile: PXEProfile) async throws -> String {
        let result = try await cache.prepare(profile)
        return "cache ready: \(result.downloaded.count) downloaded, \(result.revalidated.count) revalidated, \(result.reused.count) reused"
    }

    public func dhcpEntry(_ mac: MACAddress) async throws -> DHCPEntry? {
        try await dhcp.store.get(mac)
    }

    public func checkDHCPConflicts(_ planned: DHCPEntry) async throws {
        let others = try await dhcp.store.all().filter { $0.mac != planned.mac }
        try DHCPService.checkConflicts(planned, among: others)
    }

    public func putDHCPEntry(_ entry: DHCPEntry) async throws {
        _ = try await dhcp.put(entry)
    }

    public func removeDHCPEntry(_ mac: MACAddress) async throws {
        _ = try await dhcp.delete(mac)
    }

    public func readyISO(_ id: String) async throws -> ISOImage {
        try await isos.waitUntilReady(id)
    }

    public func startConsoleCapture(serverId: String, connection: JSONValue) async {
        await consoleCapture?.startCapture(serverId: serverId, connection: connection)
    }

    public func stopConsoleCapture(serverId: String) async {
        await consoleCapture?.stopCapture(serverId: serverId)
    }
}
