import AgentCore
import Console
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOSSL
import Synchronization

/// The console listener's request context: the peer's address decides every console request.
public struct ConsoleRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<ConsoleRequestContext>
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        remoteAddress = source.channel.remoteAddress
    }

    /// The peer's IP address, IPv4-mapped IPv6 addresses unwrapped.
    public var peerAddress: String? {
        guard let address = remoteAddress?.ipAddress else { return nil }
        if address.hasPrefix("::ffff:"), address.contains(".") { return String(address.dropFirst(7)) }
        return address
    }
}

/// The third listener (HTTPS, `console.listen`), reached by end users: console pages, their WebSocket and the
/// browser assets they load, nothing else. A link from another address than the session's `authorizedIp` gets 403
/// and an empty body; an unknown, used, expired or revoked one 404.
enum ConsoleListener {
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy: "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        .cacheControl: "no-store", HTTPField.Name("X-Frame-Options")!: "DENY", HTTPField.Name("Referrer-Policy")!: "no-referrer",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
    ]

    static func router(runtime: AgentRuntime, assets: ConsoleAssets) -> Router<ConsoleRequestContext> {
        let router = Router(context: ConsoleRequestContext.self)
        let console = runtime.console
        router.get("/healthz") { _, _ in Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n"))) }
        router.get("/console/static/{name}") { _, context in
            let name = try context.parameters.require("name")
            return try await assets.response(for: name)
        }
        router.get("/console/static/novnc/**") { request, _ in
            let path = String(request.uri.path.dropFirst("/console/static/novnc/".count))
            return try await assets.novnc(path)
        }
        router.get("/console/{token}") { _, context in
            let token = try context.parameters.require("token")
            switch console.sessions.admit(token: token, from: context.peerAddress) {
            case .notFound: return refusal(.notFound)
            case .forbidden: return refusal(.forbidden)
            case .admitted(let session):
                var headers = securityHeaders
                headers[.contentType] = "text/html; charset=utf-8"
                return Response(status: .ok, headers: headers,
                                body: .init(byteBuffer: ByteBuffer(string: ConsolePages.html(mode: session.mode, serverId: session.serverId))))
            }
        }
        // Reached when the request did not upgrade (not a WebSocket request, or refused): the same answers.
        router.get("/console/{token}/websocket") { _, context in
            let token = try context.parameters.require("token")
            switch console.sessions.admit(token: token, from: context.peerAddress) {
            case .notFound: return refusal(.notFound)
            case .forbidden: return refusal(.forbidden)
            case .admitted: return refusal(.badRequest)
            }
        }
        return router
    }

    static func refusal(_ status: HTTPResponse.Status) -> Response {
        var headers = securityHeaders
        headers[.contentLength] = "0"
        return Response(status: status, headers: headers)
    }

    /// The WebSocket side: checks the link without using it (a refusal falls through to the router's 403/404), then
    /// uses it once the connection is upgraded and bridges it to the console.
    static func webSocketRouter(runtime: AgentRuntime) -> Router<ConsoleRequestContext> {
        let router = Router(context: ConsoleRequestContext.self)
        let console = runtime.console
        router.ws("/console/{token}/websocket") { _, context in
            let token = try context.parameters.require("token")
            guard case .admitted = console.sessions.admit(token: token, from: context.peerAddress) else { return .dontUpgrade }
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            let token = String(context.request.uri.path.split(separator: "/").dropFirst(1).first ?? "")
            let mode = Mutex<ConsoleMode?>(nil)
            if case .admitted(let session) = console.sessions.admit(token: token, from: context.requestContext.peerAddress) {
                mode.withLock { $0 = session.mode }
            }
            let (incoming, feed) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingOldest(1024))
            let closing = Mutex<String?>(nil)
            let viewer = ConsoleViewer(address: context.requestContext.peerAddress, incoming: incoming) { output in
                switch output {
                case .data(let bytes):
                    try await outbound.write(.binary(bytes))
                case .status(let status):
                    if mode.withLock({ $0 }) == .graphical {
                        // noVNC takes only RFB on its socket: the reason goes into the close frame.
                        if status.state == "disconnected" { closing.withLock { $0 = status.reason } }
                    } else {
                        try await outbound.write(.text(status.json.jsonText))
                    }
                }
            }
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        for try await message in inbound.messages(maxSize: 1 << 20) {
                            switch message {
                            case .binary(let bytes): feed.yield(bytes)
                            case .text(let text): feed.yield(ByteBuffer(string: text))
                            }
                        }
                    } catch {}
                    feed.finish()
                }
                group.addTask {
                    await console.serve(token: token, viewer: viewer)
                    feed.finish()
                }
                await group.next()
                group.cancelAll()
            }
            let reason = closing.withLock { $0 }.map { String($0.utf8.prefix(120)) ?? "closed" } ?? "closed"
            try? await outbound.close(.normalClosure, reason: reason)
        }
        return router
    }
}

/// The browser assets, from the Debian packages: the xterm.js bundle (built once), its stylesheet, noVNC's modules,
/// and the pages' own small stylesheet and scripts.
final class ConsoleAssets: Sendable {
    let settings: ConsoleConfiguration
    private let bundle = Mutex<String?>(nil)

    init(settings: ConsoleConfiguration) {
        self.settings = settings
    }

    func response(for name: String) async throws -> Response {
        switch name {
        case "xterm.js": return Self.file(ByteBuffer(string: try await xtermBundle()), type: "application/javascript")
        case "xterm.css": return try await disk(settings.xtermStylesheet, type: "text/css")
        case "console.css": return Self.file(ByteBuffer(string: ConsolePages.stylesheet), type: "text/css")
        case "serial.js": return Self.file(ByteBuffer(string: ConsolePages.serialScript), type: "application/javascript")
        case "graphical.js": return Self.file(ByteBuffer(string: ConsolePages.graphicalScript), type: "application/javascript")
        default: return ConsoleListener.refusal(.notFound)
        }
    }

    /// A file under the novnc directory; anything but a plain relative path is 404.
    func novnc(_ path: String) async throws -> Response {
        let plain = path.split(separator: "/").allSatisfy { part in
            !part.isEmpty && part != "." && part != ".." && part.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }
        }
        guard plain, path.count < 256 else { return ConsoleListener.refusal(.notFound) }
        let types = ["js": "application/javascript", "css": "text/css", "svg": "image/svg+xml", "png": "image/png", "ico": "image/x-icon",
                     "json": "application/json", "html": "text/html; charset=utf-8"]
        guard let type = types[(path as NSString).pathExtension.lowercased()] else { return ConsoleListener.refusal(.notFound) }
        return try await disk("\(settings.novncDirectory)/\(path)", type: type)
    }

    private func disk(_ path: String, type: String) async throws -> Response {
        let contents = try await BlockingWork.run { FileManager.default.contents(atPath: path) }
        guard let contents else { return ConsoleListener.refusal(.notFound) }
        return Self.file(ByteBuffer(bytes: contents), type: type)
    }

    private func xtermBundle() async throws -> String {
        if let built = bundle.withLock({ $0 }) { return built }
        let directory = settings.xtermModulesDirectory
        let built = try await BlockingWork.run { try XtermBundle.bundle(modules: try XtermBundle.modules(in: directory)) }
        bundle.withLock { $0 = built }
        return built
    }

    static func file(_ body: ByteBuffer, type: String) -> Response {
        var headers = ConsoleListener.securityHeaders
        headers[.contentType] = type
        headers[.cacheControl] = "public, max-age=3600"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: body))
    }
}

extension AgentServer {
    /// The HTTPS console listener: pages, assets and the console WebSocket, with the same deadlines and connection
    /// cap machinery as the other listeners (the header deadline holds until the first request head, before the
    /// WebSocket upgrade is decided).
    public static func consoleApplication(
        runtime: AgentRuntime, tls: TLSConfiguration, onRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) throws -> some ApplicationProtocol {
        let configuration = runtime.configuration
        let address = try ListenAddress(parsing: configuration.console.listen, key: "console.listen")
        let logger = runtime.logger.with(["listener": "console"])
        let limits = ListenerLimits(
            maxConnections: configuration.console.maxConnections, headerTimeoutSeconds: configuration.api.requestHeaderTimeoutSeconds,
            requestTimeoutSeconds: configuration.api.requestTimeoutSeconds, idleTimeoutSeconds: configuration.api.idleTimeoutSeconds)
        let guardian = ListenerGuard(name: "console", limits: limits, logger: logger)
        let router = consoleRouter(runtime: runtime)
        let webSocketResponder = ConsoleListener.webSocketRouter(runtime: runtime).buildResponder()
        let channelConfiguration = guardian.channelConfiguration
        let server = HTTPServerBuilder { responder in
            try TLSChannel(
                guardian.guarding(
                    HTTP1WebSocketUpgradeChannel(
                        responder: responder, webSocketResponder: webSocketResponder,
                        configuration: .init(http1: channelConfiguration, ws: .init(maxFrameSize: 1 << 20, autoPing: .enabled(timePeriod: .seconds(30)))))),
                tlsConfiguration: tls)
        }
        return Application(
            router: router, server: server,
            configuration: .init(
                address: .hostname(address.host, port: address.port), serverName: nil, availableConnectionsDelegate: guardian.connectionCap),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? address.port
                runtime.consolePort.set(port: port)
                await onRunning(port)
            },
            logger: logger)
    }

    /// The console listener's HTTP routes (pages, assets, and the WebSocket path's refusals).
    public static func consoleRouter(runtime: AgentRuntime) -> Router<ConsoleRequestContext> {
        ConsoleListener.router(runtime: runtime, assets: ConsoleAssets(settings: runtime.configuration.console))
    }

    /// TLS for the console listener: `console.tlsCertificateFile` and key, or the controller listener's pair.
    public static func consoleTLSConfiguration(configuration: AgentConfiguration, certificate: AgentIdentity.CertificateFiles) throws -> TLSConfiguration {
        let console = configuration.console
        return try tlsConfiguration(
            certificatePath: console.tlsCertificateFile ?? certificate.certificatePath, keyPath: console.tlsKeyFile ?? certificate.keyPath,
            clientCAFile: nil)
    }
}
