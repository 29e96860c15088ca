import AgentCore
import ArgumentParser
import ControllerAPI
import Foundation
import Logging
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the agent daemon: controller API (HTTPS), boot API (HTTP) and background services.",
        discussion: """
            On first start without a configured certificate the agent creates a self-signed certificate in \
            <state-dir>/tls/ and a random bearer token in <state-dir>/token, and prints the token and the \
            certificate's SHA-256 fingerprint once. SIGTERM or SIGINT stop it gracefully.
            """
    )

    @OptionGroup var options: ConfigurationOptions

    @Option(name: .customLong("api-listen"), help: ArgumentHelp("Controller API address (HTTPS).", valueName: "host:port"))
    var apiListen: String?

    @Option(name: .customLong("boot-listen"), help: ArgumentHelp("Boot API address (plain HTTP).", valueName: "host:port"))
    var bootListen: String?

    @Option(name: .customLong("console-listen"), help: ArgumentHelp("Console listener address (HTTPS, for end users' browsers).", valueName: "host:port"))
    var consoleListen: String?

    func run() async throws {
        var configuration = try options.load()
        if let apiListen { configuration.api.listen = apiListen }
        if let bootListen { configuration.boot.listen = bootListen }
        if let consoleListen { configuration.console.listen = consoleListen }
        try configuration.validate()
        // The same file checks as `rackagent config check`: refuse to start rather than fail on the first TLS handshake.
        let problems = ConfigurationPreflight.fileProblems(configuration)
        guard problems.isEmpty else { throw CommandFailure(message: problems.map(\.description).joined(separator: "\n")) }
        let apiAddress = configuration.api.listen
        let bootAddress = configuration.boot.listen
        AgentLogging.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        AgentMetrics.bootstrap()
        let logger = Logger(label: "rackagent")
        let files = ProcessLimits.raiseOpenFileLimit()
        let limits = AgentServer.listenerLimits(configuration)
        logger.info("open file limit", metadata: [
            "before": "\(files.before)", "now": "\(files.after)", "apiConnections": "\(limits.api.maxConnections)",
            "bootConnections": "\(limits.boot.maxConnections)",
        ])
        if limits.api.maxConnections < configuration.api.maxConnections || limits.boot.maxConnections < configuration.boot.maxConnections {
            logger.warning("the open file limit is too low for the configured connection limits; they are scaled down (set LimitNOFILE)")
        }

        try StateDirectory.prepare(configuration.stateDirectory)
        let token = try AgentIdentity.ensureToken(at: configuration.tokenFilePath)
        let certificate = try AgentIdentity.ensureCertificate(configuration: configuration)
        if token.created {
            // Shown on the operator's terminal only: under systemd standard output is the journal, which must not keep it.
            if isatty(STDOUT_FILENO) == 1 {
                print("API bearer token (stored in \(configuration.tokenFilePath)): \(token.token)")
            } else {
                print("API bearer token generated and stored in \(configuration.tokenFilePath)")
            }
        }
        if certificate.created {
            print("API certificate \(certificate.certificatePath) SHA-256 fingerprint: \(certificate.fingerprint)")
        }
        fflush(nil)

        let runtime = try await AgentRuntime(configuration: configuration, logger: logger)
        let tls = try AgentServer.tlsConfiguration(
            certificatePath: certificate.certificatePath, keyPath: certificate.keyPath, clientCAFile: configuration.api.clientCAFile)
        let api = try AgentServer.controllerApplication(
            runtime: runtime, router: try AgentServer.controllerRouter(runtime: runtime, tokenFile: configuration.tokenFilePath), tls: tls
        ) { port in
            logger.info("controller API listening", metadata: ["address": "\(apiAddress)", "port": "\(port)"])
        }
        let boot = try AgentServer.bootApplication(runtime: runtime, router: AgentServer.bootRouter(runtime: runtime)) { port in
            logger.info("boot API listening", metadata: ["address": "\(bootAddress)", "port": "\(port)"])
        }
        let consoleAddress = configuration.console.listen
        let console = try AgentServer.consoleApplication(
            runtime: runtime, tls: try AgentServer.consoleTLSConfiguration(configuration: configuration, certificate: certificate)
        ) { port in
            logger.info("console listening", metadata: ["address": "\(consoleAddress)", "port": "\(port)"])
        }
        var services: [any Service] = [
            ListenerService(name: "api", address: configuration.api.listen, wrapped: api),
            ListenerService(name: "boot", address: configuration.boot.listen, wrapped: boot),
            ListenerService(name: "console", address: configuration.console.listen, wrapped: console),
        ]
        services += try AgentServer.backgroundServices(runtime: runtime)
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        defer { logger.info("stopped") }
        do {
            try await group.run()
        } catch {
            await runtime.shutdown()
            throw CommandFailure(message: "\(error)")
        }
        await runtime.shutdown()
    }
}
