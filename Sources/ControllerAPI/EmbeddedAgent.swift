import AgentCore
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization

/// The three listeners of a runtime running in this process (ports 0 pick free ones), and its console service: what
/// benchmarks and tests use to talk to a real agent over real sockets.
public final class EmbeddedAgent: Sendable {
    public let runtime: AgentRuntime
    public let apiPort: Int
    public let bootPort: Int
    public let consolePort: Int
    public let certificate: AgentIdentity.CertificateFiles
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    public static func start(runtime: AgentRuntime) async throws -> EmbeddedAgent {
        try await EmbeddedAgent(runtime: runtime)
    }

    private init(runtime: AgentRuntime) async throws {
        self.runtime = runtime
        let configuration = runtime.configuration
        try StateDirectory.prepare(configuration.stateDirectory)
        _ = try AgentIdentity.ensureToken(at: configuration.tokenFilePath)
        certificate = try AgentIdentity.ensureCertificate(configuration: configuration)
        let tls = try AgentServer.tlsConfiguration(
            certificatePath: certificate.certificatePath, keyPath: certificate.keyPath, clientCAFile: configuration.api.clientCAFile)
        let ports = Mutex<(api: Int?, boot: Int?, console: Int?)>((nil, nil, nil))
        let router = try AgentServer.controllerRouter(runtime: runtime, tokenFile: configuration.tokenFilePath)
        let api = try AgentServer.controllerApplication(runtime: runtime, router: router, tls: tls) { port in
            ports.withLock { $0.api = port }
        }
        let boot = try AgentServer.bootApplication(runtime: runtime, router: AgentServer.bootRouter(runtime: runtime)) { port in
            ports.withLock { $0.boot = port }
        }
        let console = try AgentServer.consoleApplication(
            runtime: runtime, tls: try AgentServer.consoleTLSConfiguration(configuration: configuration, certificate: certificate)
        ) { port in
            ports.withLock { $0.console = port }
        }
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: ListenerService(name: "api", address: configuration.api.listen, wrapped: api)),
                    .init(service: ListenerService(name: "boot", address: configuration.boot.listen, wrapped: boot)),
                    .init(service: ListenerService(name: "console", address: configuration.console.listen, wrapped: console)),
                    .init(service: runtime.console),
                ],
                gracefulShutdownSignals: [], logger: runtime.logger))
        self.group = group
        // How the group ended, when it ended before both listeners reported their ports (a port in use, a bad address).
        let ended = Mutex<String?>(nil)
        task = Task {
            do {
                try await group.run()
                ended.withLock { $0 = $0 ?? "the listeners stopped" }
            } catch {
                ended.withLock { $0 = "\(error)" }
                throw error
            }
        }
        let deadline = ContinuousClock.now + .seconds(15)
        var started: (Int, Int, Int)?
        while ContinuousClock.now < deadline {
            if case let (api?, boot?, console?) = ports.withLock({ $0 }) {
                started = (api, boot, console)
                break
            }
            if let reason = ended.withLock({ $0 }) {
                throw AgentError.internalError("the embedded agent's listeners did not start: \(reason)")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        guard let started else {
            await group.triggerGracefulShutdown()
            _ = await task.result
            throw AgentError.internalError("the embedded agent's listeners did not start within 15 s")
        }
        (apiPort, bootPort, consolePort) = started
    }

    /// The bearer token clients must send.
    public var token: String {
        (try? String(contentsOfFile: runtime.configuration.tokenFilePath, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    public var apiBaseURL: String { "https://127.0.0.1:\(apiPort)" }
    public var bootBaseURL: String { "http://127.0.0.1:\(bootPort)" }
    public var consoleBaseURL: String { "https://127.0.0.1:\(consolePort)" }

    /// Graceful shutdown of both listeners.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}
