import AgentCore
import Console
import Foundation
import IPMI
import Logging
import PDU
import Power
import Providers
import Provisioning
import Redfish
import SNMP
import SwitchSSH
import Synchronization

/// Everything the daemon's routes and background services share, built once from the configuration.
public final class AgentRuntime: Sendable {
    public let configuration: AgentConfiguration
    public let logger: Logger
    public let database: AgentDatabase
    public let outbox: Outbox
    public let actionLog: ActionLog
    public let jobs: JobStore
    public let runner: any CommandRunner
    public let startedAt: Date
    let toolCache: ToolCache
    public let ipmi: IPMIService
    public let bmcUsers: BMCUserManager
    public let redfish: RedfishService
    public let power: PowerRouter
    public let snmp: SNMPClient
    public let networkDevices: NetworkDeviceService
    public let dhcp: DHCPService
    /// Runs dnsmasq when the backend is dnsmasq and a boot interface is configured.
    public let dnsmasq: DnsmasqSupervisor?
    public let pxeGate: PXEGate
    public let installations: InstallationManager
    /// ISO images registered by the controller, for virtual media.
    public let isos: ISORegistry
    public let switches: SwitchService
    public let providers: ProviderService
    public let pdus: PDUService
    public let console: ConsoleService
    /// Where the console listener runs (its port is known once it listens).
    /// The ports the three listeners bound.
    public let apiPort = BoundPort()
    public let bootPort = BoundPort()
    public let consolePort = BoundPort()

    /// Opens the database in the state directory (creating both), applies migrations and fails jobs that a
    /// previous run left unfinished.
    public init(configuration: AgentConfiguration, logger: Logger, runner: any CommandRunner = ProcessRunner()) async throws {
        try StateDirectory.prepare(configuration.stateDirectory)
        // Files a previous run was killed in the middle of (an exec file with a BMC password) go now.
        let scratch = ScratchDirectory(stateDirectory: configuration.stateDirectory)
        let scratchNote = try scratch.prepare(emptying: true)
        self.configuration = configuration
        self.logger = logger
        if let scratchNote { logger.warning("scratch directory of another user moved aside", metadata: ["detail": "\(scratchNote)"]) }
        self.runner = runner
        database = try AgentDatabase(path: configuration.databasePath, migrations: AgentRuntime.migrations)
        outbox = Outbox(database: database, maximumEvents: configuration.controller.maxOutboxEvents, logger: logger)
        actionLog = ActionLog(database: database)
        jobs = JobStore(database: database, outbox: outbox, actionLog: actionLog, logger: logger)
        startedAt = Date()
        toolCache = ToolCache(inventory: ToolInventory(runner: runner))
        let ipmiExecutor = IPMIExecutor(runner: runner, settings: configuration.ipmi, scratch: scratch, logger: logger.with(["module": "ipmi"]))
        ipmi = IPMIService(executor: ipmiExecutor, settings: configuration.ipmi)
        bmcUsers = BMCUserManager(executor: ipmiExecutor)
        snmp = SNMPClient(threads: max(4, min(configuration.snmp.maxConcurrentDevices, 64)))
        networkDevices = NetworkDeviceService(
            client: snmp, store: NetworkDeviceStore(database: database), bandwidth: BandwidthStore(database: database, outbox: outbox, keepsPerPollSamples: configuration.snmp.rawSampleRetentionDays > 0),
            settings: configuration.snmp, logger: logger.with(["module": "snmp"]))
        let registry = networkDevices
        pdus = PDUService(
            client: snmp, settings: configuration.snmp, cycleDelay: .seconds(configuration.snmp.outletCycleDelaySeconds),
            verifyTimeout: .seconds(configuration.snmp.outletVerifySeconds)
        ) { try await registry.stored($0).device }
        let providers = ProviderService(settings: configuration.providers, logger: logger.with(["module": "providers"]))
        self.providers = providers
        redfish = RedfishService(client: RedfishClient(
            transport: NIORedfishTransport(), trust: RedfishCertificateStore(database: database), settings: configuration.redfish,
            logger: logger.with(["module": "redfish"])))
        power = PowerRouter(
            drivers: [IPMIPowerDriver(service: ipmi), RedfishPowerDriver(service: redfish), PDUPowerDriver(service: pdus)]
                + ProviderType.allCases.map { ProviderPowerDriver(type: $0, service: providers) },
            preferRedfishForIPMI: configuration.redfish.preferForIPMIConnections)
        dnsmasq = configuration.dhcp.backend == .dnsmasq && configuration.dhcp.interface != nil
            ? DnsmasqSupervisor(
                executable: configuration.dhcp.dnsmasqPath, configurationDirectory: configuration.dhcpConfigDirectory,
                logger: logger.with(["module": "dnsmasq"]))
            : nil
        dhcp = DHCPService(
            configuration: configuration, database: database, outbox: outbox, actionLog: actionLog, runner: runner, scratch: scratch,
            supervisor: dnsmasq, logger: logger.with(["module": "dhcp"]))
        let library: TemplateLibrary
        do {
            library = try TemplateLibrary.locate(configured: configuration.provisioning.templatesDirectory)
        } catch {
            logger.error("stock installation templates not found; only profiles with their own templates can be installed", metadata: ["error": "\(error)"])
            library = TemplateLibrary(directory: configuration.provisioning.templatesDirectory ?? "/usr/share/rackagent/pxe-templates")
        }
        let cache = OSCache(
            directory: configuration.osCacheDirectory, timeoutSeconds: configuration.provisioning.downloadTimeoutSeconds,
            logger: logger.with(["module": "os-cache"]))
        console = ConsoleService(
            settings: configuration.console, stateDirectory: configuration.stateDirectory, executor: ipmiExecutor, database: database, outbox: outbox,
            actionLog: actionLog, logger: logger.with(["module": "console"]))
        isos = ISORegistry(database: database, cache: cache)
        installations = InstallationManager(
            database: database, outbox: outbox, actionLog: actionLog, dhcp: dhcp, cache: cache, isos: isos, renderer: InstallationRenderer(library: library),
            power: RouterInstallationPower(router: power, redfish: redfish), consoleCapture: ConsoleInstallationCapture(console: console),
            settings: InstallationSettings(bootBaseURL: configuration.bootBaseURL, timeoutMinutes: configuration.provisioning.installationTimeoutMinutes),
            logger: logger.with(["module": "installations"]))
        pxeGate = PXEGate(
            store: dhcp.store, index: try await BootIndex.open(database: database, logger: logger.with(["module": "boot"])), provider: installations,
            unknownMACAction: configuration.dhcp.unknownMACAction)
        let switchStore = SwitchStore(database: database)
        switches = SwitchService(
            pool: SwitchSessionPool(settings: configuration.ssh, store: switchStore, logger: logger.with(["module": "switch"])), store: switchStore,
            actionLog: actionLog, logger: logger.with(["module": "switch"]))
        try await jobs.failInterruptedJobs()
    }

    /// The base of console links: `console.publicURL`, or https on the console listener's host (the machine's name
    /// when it listens on every address) and port.
    public var consoleBaseURL: String {
        if let url = configuration.console.publicURL { return url.hasSuffix("/") ? String(url.dropLast()) : url }
        let address = try? ListenAddress(parsing: configuration.console.listen, key: "console.listen")
        let port = consolePort.port ?? address?.port ?? 8444
        var host = address?.host ?? "0.0.0.0"
        if host == "0.0.0.0" || host == "::" || host.isEmpty { host = ProcessInfo.processInfo.hostName }
        if host.contains(":") { host = "[\(host)]" }
        return "https://\(host):\(port)"
    }

    /// The schema of every module, in the order they were introduced.
    public static var migrations: [SchemaMigration] { SNMPSchema.migrations + ProvisioningSchema.migrations + InstallationStore.migrations + SwitchStore.migrations
        + RedfishCertificateStore.migrations + ISORegistry.migrations }

    /// The versions of the C libraries linked into this binary.
    public static var linkedLibraries: [String: String] {
        ["netsnmp": NetSNMPLibrary.version, "libssh2": LibSSH2Library.version]
    }

    /// What this agent can do; the controller enables features by it.
    public var capabilities: [String] {
        ["jobs", "outbox", "actionLog", "metrics", "ipmi.power", "ipmi.bootDevice", "ipmi.bmcReset", "ipmi.customCommand",
         "ipmi.users", "ipmi.sensors", "ipmi.sel", "ipmi.fru", "ipmi.lan", "redfish.power", "redfish.bootDevice", "redfish.bmcReset",
         "redfish.inventory", "redfish.virtualMedia", "isos", "snmp.devices", "snmp.ports", "snmp.bandwidth",
         "snmp.statistics", "snmp.portAdmin", "dhcp.entries", "dhcp.\(configuration.dhcp.backend.rawValue)", "boot.ipxe",
         "installations.install", "installations.rescue", "installations.diskWipe", "installations.passwordReset",
         "installations.hardwareDetection", "osCache", "switch.ssh", "pdu.outlets", "providers.reinstall",
         "providers.templates", "providers.console", "providers.traffic", "providers.rdns", "console.serial", "console.graphical"] + SwitchDialects.vendors.map { "switch.\($0)" }
            + power.connectionTypes.map { "power.\($0)" }
    }

    /// Tools found on PATH with their versions (probed once, then cached; `refresh` probes again).
    public func tools(refresh: Bool = false) async -> [ToolDescription] {
        await toolCache.tools(refresh: refresh)
    }

    /// Stops running jobs (recorded as cancelled) during graceful shutdown, and ends the Redfish sessions the agent
    /// holds (BMCs allow few at a time).
    public func shutdown() async {
        await jobs.cancelAll()
        await redfish.client.logOutAll(within: .seconds(5))
        await snmp.shutdown()
        switches.pool.closeAll()
    }
}

/// Probes tools once and keeps the answer.
actor ToolCache {
    let inventory: ToolInventory
    private var cached: [ToolDescription]?

    init(inventory: ToolInventory) {
        self.inventory = inventory
    }

    func tools(refresh: Bool) async -> [ToolDescription] {
        if let cached, !refresh { return cached }
        let fresh = await inventory.discover()
        cached = fresh
        return fresh
    }
}

/// A listener's port once it listens (0 in the configuration means "any"): what status shows and console links use.
public final class BoundPort: Sendable {
    private let value = Mutex<Int?>(nil)
    public var port: Int? { value.withLock { $0 } }
    func set(port: Int) { value.withLock { $0 = port } }
}
