import AgentCore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import Metrics
import NIOCore
import NIOSSL
import Provisioning
import SNMP
import SwitchSSH
import ServiceLifecycle

/// Assembles the two listeners and the background services of `rackagent serve`.
public enum AgentServer {
    /// The controller API's router: metrics, error envelope, authentication, then the routes.
    public static func controllerRouter(runtime: AgentRuntime, tokenFile: String) throws -> Router<AgentRequestContext> {
        let router = Router(context: AgentRequestContext.self)
        let limit = runtime.configuration.api.maxBodyBytes
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: ErrorEnvelopeMiddleware(bodyLimit: limit))
        router.add(
            middleware: AuthenticationMiddleware(
                token: try BearerTokenFile(path: tokenFile),
                allowedSources: runtime.configuration.api.allowedSources.compactMap(IPNetwork.init), refusals: LogThrottle()))
        router.add(middleware: RequestOriginMiddleware())
        AgentRoutes(runtime: runtime).register(on: router)
        PowerRoutes(runtime: runtime).register(on: router)
        ProviderRoutes(runtime: runtime).register(on: router)
        OutletRoutes(runtime: runtime).register(on: router)
        BMCRoutes(runtime: runtime).register(on: router)
        NetworkDeviceRoutes(runtime: runtime).register(on: router)
        DHCPRoutes(runtime: runtime).register(on: router)
        InstallationRoutes(runtime: runtime).register(on: router)
        ISORoutes(runtime: runtime).register(on: router)
        SwitchActions.register(on: router, runtime: runtime)
        ConsoleRoutes(runtime: runtime).register(on: router)
        StatusRoutes(runtime: runtime).register(on: router)
        return router
    }

    /// The boot listener's router (plain HTTP, no token: iPXE and installers authenticate by per-installation URL).
    public static func bootRouter(runtime: AgentRuntime) -> Router<AgentRequestContext> {
        let router = Router(context: AgentRequestContext.self)
        router.add(middleware: ErrorEnvelopeMiddleware(bodyLimit: runtime.configuration.api.maxBodyBytes))
        router.get("/healthz") { _, _ in Envelope.text("ok\n") }
        BootRoutes(runtime: runtime).register(on: router)
        return router
    }

    /// TLS settings for the controller listener; with `clientCAFile` a client certificate signed by it is required.
    public static func tlsConfiguration(certificatePath: String, keyPath: String, clientCAFile: String?) throws -> TLSConfiguration {
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { NIOSSLCertificateSource.certificate($0) }
        let key = try NIOSSLPrivateKey(file: keyPath, format: .pem)
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
        tls.minimumTLSVersion = .tlsv12
        if let clientCAFile {
            tls.trustRoots = .file(clientCAFile)
            tls.certificateVerification = .noHostnameVerification
        }
        return tls
    }

    /// The HTTPS controller listener.
    public static func controllerApplication(
        runtime: AgentRuntime, router: Router<AgentRequestContext>, tls: TLSConfiguration,
        onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let configuration = runtime.configuration
        let address = try ListenAddress(parsing: configuration.api.listen, key: "api.listen")
        let logger = runtime.logger.with(["listener": "api"])
        let guardian = ListenerGuard(name: "api", limits: listenerLimits(configuration).api, logger: logger)
        return Application(
            router: router, server: try .tls(.http1(configuration: guardian.channelConfiguration), tlsConfiguration: tls),
            configuration: .init(
                address: .hostname(address.host, port: address.port), serverName: nil, availableConnectionsDelegate: guardian.connectionCap),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                runtime.apiPort.set(port: port)
                await onRunning(port)
            },
            logger: logger)
    }

    /// The plain-HTTP boot listener. `/boot/ipxe` (a netbooting site's load) is answered from memory in the channel
    /// pipeline when the boot index decides it (``BootScriptHandler``); everything else goes to the router. Its
    /// connections are handled on their own event loop; the routes that read bodies or end installations move to the
    /// cooperative pool (``BootRoutes/onCooperativePool(_:)``).
    public static func bootApplication(
        runtime: AgentRuntime, router: Router<AgentRequestContext>, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let configuration = runtime.configuration
        let address = try ListenAddress(parsing: configuration.boot.listen, key: "boot.listen")
        let logger = runtime.logger.with(["listener": "boot"])
        let guardian = ListenerGuard(name: "boot", limits: listenerLimits(configuration).boot, logger: logger)
        let gate = runtime.pxeGate
        let dates = HTTPDateCache()
        let answered = Counter(label: "rackagent_boot_scripts_in_pipeline_total")
        return Application(
            router: router,
            server: HTTPServerBuilder { responder in
                EventLoopBoundChildChannel(
                    base: HTTP1Channel(responder: responder, configuration: guardian.channelConfiguration(adding: { [BootScriptHandler(gate: gate, dates: dates, answered: answered)] })))
            },
            configuration: .init(
                address: .hostname(address.host, port: address.port), serverName: nil, availableConnectionsDelegate: guardian.connectionCap),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                runtime.bootPort.set(port: port)
                await onRunning(port)
            },
            logger: logger)
    }

    /// Each listener's limits. The connection caps together must leave file descriptors for the database, the
    /// child processes, SNMP and SSH sessions: when the open-file limit is too low for the configured caps, both are
    /// scaled down to fit and the start-up log says so.
    public static func listenerLimits(_ configuration: AgentConfiguration, openFileLimit: UInt64 = ProcessLimits.openFileLimit)
        -> (api: ListenerLimits, boot: ListenerLimits)
    {
        let reserve = 256
        let available = max(32, Int(min(openFileLimit, UInt64(Int.max))) - reserve)
        var apiCap = configuration.api.maxConnections
        var bootCap = configuration.boot.maxConnections
        if apiCap + bootCap > available {
            let scale = Double(available) / Double(apiCap + bootCap)
            apiCap = max(16, Int(Double(apiCap) * scale))
            bootCap = max(16, Int(Double(bootCap) * scale))
        }
        let api = configuration.api
        let boot = configuration.boot
        return (
            ListenerLimits(
                maxConnections: apiCap, headerTimeoutSeconds: api.requestHeaderTimeoutSeconds, requestTimeoutSeconds: api.requestTimeoutSeconds,
                idleTimeoutSeconds: api.idleTimeoutSeconds),
            ListenerLimits(
                maxConnections: bootCap, headerTimeoutSeconds: boot.requestHeaderTimeoutSeconds, requestTimeoutSeconds: boot.requestTimeoutSeconds,
                idleTimeoutSeconds: boot.idleTimeoutSeconds)
        )
    }

    /// Background services: outbox delivery when a controller is configured.
    public static func backgroundServices(runtime: AgentRuntime) throws -> [any Service] {
        var services: [any Service] = [
            MaintenanceService(runtime: runtime),
            BandwidthCollector(
                service: runtime.networkDevices, settings: runtime.configuration.snmp,
                logger: runtime.logger.with(["service": "bandwidth"])),
            DHCPMaintenance(service: runtime.dhcp, configuration: runtime.configuration, logger: runtime.logger.with(["service": "dhcp"])),
            InstallationMaintenance(manager: runtime.installations, logger: runtime.logger.with(["service": "installations"])),
            SwitchSessionMaintenance(pool: runtime.switches.pool),
            runtime.console,
        ]
        if let dnsmasq = runtime.dnsmasq { services.append(dnsmasq) }
        let controller = runtime.configuration.controller
        if let url = controller.url {
            let token = try controller.token ?? controller.tokenFile.map { path in
                Secret(try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines))
            }
            let transport = try HTTPEventTransport(url: url, token: token, caFile: controller.caFile, timeoutSeconds: controller.requestTimeoutSeconds)
            services.append(
                OutboxDeliveryService(
                    outbox: runtime.outbox, transport: transport, batchSize: controller.batchSize,
                    maximumBackoffSeconds: controller.maxBackoffSeconds, logger: runtime.logger.with(["service": "outbox"])))
        } else {
            runtime.logger.notice("no controller.url configured: events are kept in the outbox until one is")
        }
        return services
    }
}

/// Runs a listener and names its address when it cannot bind (a port in use fails start-up clearly).
public struct ListenerService<Wrapped: Service>: Service {
    let name: String
    let address: String
    let wrapped: Wrapped

    public init(name: String, address: String, wrapped: Wrapped) {
        self.name = name
        self.address = address
        self.wrapped = wrapped
    }

    public func run() async throws {
        do {
            try await wrapped.run()
        } catch let error as IOError {
            throw ListenerError(name: name, address: address, reason: error.description)
        } catch let error as SocketAddressError {
            throw ListenerError(name: name, address: address, reason: "\(error)")
        }
    }
}

public struct ListenerError: Error, CustomStringConvertible {
    public let name: String
    public let address: String
    public let reason: String

    public var description: String { "cannot listen on \(address) (\(name) listener): \(reason)" }
}

/// Closes switch sessions that have been idle for `ssh.idleCloseSeconds`.
struct SwitchSessionMaintenance: Service {
    let pool: SwitchSessionPool

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(5))
                pool.closeIdle()
            }
        }
        pool.closeAll()
    }
}

/// Periodic housekeeping: prunes old jobs and action-log rows.
struct MaintenanceService: Service {
    let runtime: AgentRuntime

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let jobs = runtime.configuration.jobs
                let now = Date()
                do {
                    _ = try await runtime.jobs.prune(finishedBefore: now.addingTimeInterval(-Double(jobs.retentionDays) * 86_400))
                    _ = try await runtime.actionLog.prune(olderThan: now.addingTimeInterval(-Double(jobs.actionLogRetentionDays) * 86_400))
                } catch {
                    runtime.logger.warning("housekeeping failed", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: .seconds(3600))
            }
        }
    }
}
