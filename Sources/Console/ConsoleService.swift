import AgentCore
import Foundation
import HummingbirdWSClient
import IPMI
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import ServiceLifecycle
import Synchronization

/// Why a console could not be had.
public enum ConsoleError: Error, Sendable, Equatable, AgentErrorConvertible {
    /// The device has no console to give (SOL disabled, not a VNC server, a password refused).
    case unavailable(target: String, reason: String)
    /// The RFB handshake with the VNC server or the viewer failed.
    case vncHandshake(String)
    /// The VNC server could not be reached.
    case unreachable(target: String, detail: String)

    public var agentError: AgentError {
        switch self {
        case .unavailable(let target, let reason):
            return AgentError(status: .badGateway, code: "console_unavailable", message: "\(target) gave no console: \(reason)",
                              details: ["target": .string(target), "reason": .string(reason)])
        case .vncHandshake(let reason):
            return AgentError(status: .badGateway, code: "console_unavailable", message: "VNC: \(reason)", details: ["reason": .string(reason)])
        case .unreachable(let target, let detail):
            return AgentError(status: .gatewayTimeout, code: "console_unreachable", message: "\(target) did not answer: \(detail)",
                              details: ["target": .string(target)])
        }
    }
}

/// What the console page shows besides the console itself (a text WebSocket message `{"state", "reason"}`).
public struct ConsoleStatus: Sendable, Equatable {
    /// `interactive`, `readOnly`, `connected`, `disconnected`.
    public var state: String
    public var reason: String?

    public init(state: String, reason: String? = nil) {
        self.state = state
        self.reason = reason
    }

    public var json: JSONValue { ["state": .string(state), "reason": reason.map(JSONValue.string) ?? .null] }
}

/// Output for a viewer.
public enum ConsoleOutput: Sendable {
    /// Console bytes (a WebSocket binary message).
    case data(ByteBuffer)
    case status(ConsoleStatus)
}

/// A viewer's end of a console: what it sends, and how to send to it. The WebSocket listener makes one per
/// connection; the console service does not know it is a WebSocket.
public struct ConsoleViewer: Sendable {
    public var address: String?
    /// Keystrokes (serial) or RFB bytes (graphical) from the viewer; finishes when the viewer goes.
    public var incoming: AsyncStream<ByteBuffer>
    public var send: @Sendable (ConsoleOutput) async throws -> Void

    public init(address: String?, incoming: AsyncStream<ByteBuffer>, send: @escaping @Sendable (ConsoleOutput) async throws -> Void) {
        self.address = address
        self.incoming = incoming
        self.send = send
    }
}

/// The link `POST /v1/consoles` returns.
public struct ConsoleLink: Sendable {
    public var token: String
    public var url: String
    public var session: ConsoleSessionInfo
}

/// Remote consoles: issues one-time links bound to the viewer's address, bridges a BMC's Serial-over-LAN to a
/// terminal and a VNC server to noVNC, keeps every server's serial output tail, and reports each console opened
/// and closed (action log and outbox, in one transaction each).
public final class ConsoleService: Service, Sendable {
    public let sessions: ConsoleSessions
    public let serialLogs: SerialLogStore
    let hub: SerialConsoleHub
    let executor: IPMIExecutor
    let settings: ConsoleConfiguration
    let database: AgentDatabase
    let outbox: Outbox
    let actionLog: ActionLog
    let logger: Logger

    public init(
        settings: ConsoleConfiguration, stateDirectory: String, executor: IPMIExecutor, database: AgentDatabase, outbox: Outbox, actionLog: ActionLog,
        logger: Logger
    ) {
        self.settings = settings
        self.executor = executor
        self.database = database
        self.outbox = outbox
        self.actionLog = actionLog
        self.logger = logger
        sessions = ConsoleSessions(maximum: settings.maxSessions)
        serialLogs = SerialLogStore(directory: "\(stateDirectory)/console-logs", capacity: settings.serialLogBytes)
        hub = SerialConsoleHub(executor: executor, logs: serialLogs, logger: logger)
    }

    // MARK: - Controller side

    /// Checks that the console can be had (SOL enabled on the BMC; the VNC server answers and takes the password),
    /// then issues the link. `baseURL` is the console listener's public base.
    public func create(_ request: ConsoleRequest, baseURL: String) async throws -> ConsoleLink {
        try await preflight(request.endpoint)
        let lifetime = request.lifetimeSeconds ?? settings.linkLifetimeSeconds
        let (token, session) = try sessions.create(request, lifetime: lifetime)
        logger.info("console link issued", metadata: [
            "session": "\(session.sessionId)", "serverId": "\(session.serverId)", "mode": "\(session.mode.rawValue)",
            "authorizedIp": "\(session.authorizedIp)", "target": "\(session.target)",
        ])
        return ConsoleLink(token: token, url: "\(baseURL)/console/\(token)", session: session)
    }

    func preflight(_ endpoint: ConsoleEndpoint) async throws {
        switch endpoint {
        case .serial(let connection):
            let output: String
            do {
                output = try await executor.run(["sol", "info", "1"], on: connection)
            } catch let error as IPMIError {
                switch error {
                case .unsupportedCommand(_, let detail), .invalidParameter(_, let detail), .commandFailed(_, let detail):
                    throw ConsoleError.unavailable(target: "BMC \(connection.address)", reason: "Serial-over-LAN: \(detail)")
                default:
                    throw error
                }
            }
            if let enabled = output.split(separator: "\n").first(where: { $0.hasPrefix("Enabled") }), enabled.contains("false") {
                throw ConsoleError.unavailable(target: "BMC \(connection.address)", reason: "Serial-over-LAN is disabled on the BMC (sol info: Enabled false)")
            }
        case .vnc(let endpoint):
            _ = try await withUpstream(endpoint) { upstream in
                try await RFBHandshake.authenticate(&upstream.reader, write: upstream.write, password: endpoint.password)
            }
        }
    }

    /// SOL sessions open right now (one per BMC, however many viewers).
    public var liveSerialSessions: Int {
        get async { await hub.activeSessions }
    }

    /// The serial output tail kept for a server.
    public func serialLog(_ serverId: String) async throws -> (bytes: [UInt8], updatedAt: Date)? {
        try await serialLogs.read(serverId)
    }

    // MARK: - Installations

    /// Holds the server's serial console open while an installation runs, so its output is kept even when nobody
    /// watches. A console that cannot be had is logged, not an error of the installation.
    public func startCapture(serverId: String, connection: IPMIConnection) async {
        guard settings.captureInstallations else { return }
        do {
            try await hub.startCapture(serverId: serverId, connection: connection)
            logger.info("serial console captured for the installation", metadata: ["serverId": "\(serverId)", "bmc": "\(connection.address)"])
        } catch {
            logger.notice("no serial console for the installation", metadata: ["serverId": "\(serverId)", "error": "\(AgentError.from(error).message)"])
        }
    }

    public func stopCapture(serverId: String) async {
        await hub.stopCapture(serverId: serverId)
    }

    // MARK: - Viewer side

    /// Serves the viewer of the link `token` until the console ends, the viewer goes, the session is revoked, idle
    /// for `console.idleTimeoutSeconds` or open for `console.maxDurationSeconds`. The viewer is told why it ended.
    public func serve(token: String, viewer: ConsoleViewer) async {
        let (admission, endpoint, takeOver) = sessions.open(token: token, from: viewer.address)
        guard case .admitted(let session) = admission, let endpoint else {
            try? await viewer.send(.status(ConsoleStatus(state: "disconnected", reason: "this link is not valid (used, expired or revoked)")))
            return
        }
        await LogContext.with(["serverId": session.serverId, "session": session.sessionId]) {
            await serve(session, endpoint: endpoint, takeOver: takeOver, viewer: viewer)
        }
    }

    private func serve(_ session: ConsoleSessionInfo, endpoint: ConsoleEndpoint, takeOver: Bool, viewer: ConsoleViewer) async {
        await Task { await self.record(session, opened: true) }.value
        let closeReason = Mutex<String?>(nil)
        let activity = ActivityClock()
        let work = Task { () -> String in
            await self.withLimits(activity) {
                switch endpoint {
                case .serial(let connection):
                    return await self.serveSerial(session, connection: connection, takeOver: takeOver, viewer: viewer, activity: activity)
                case .vnc(let vnc):
                    return await self.serveGraphical(session, endpoint: vnc, viewer: viewer, activity: activity)
                }
            }
        }
        let registered = sessions.setCloser(session.sessionId) { reason in
            closeReason.withLock { $0 = $0 ?? reason }
            work.cancel()
        }
        if !registered {
            closeReason.withLock { $0 = "revoked" }
            work.cancel()
        }
        let outcome = await work.value
        let reason = closeReason.withLock { $0 } ?? outcome
        // Recorded before the viewer hears of it, so whoever saw the console end finds its event; recorded outside this
        // task: the viewer's connection may be gone and this task cancelled with it.
        if let ended = sessions.finish(session.sessionId, reason: reason) { await Task { await self.record(ended, opened: false) }.value }
        try? await viewer.send(.status(ConsoleStatus(state: "disconnected", reason: reason)))
    }

    private func serveSerial(
        _ session: ConsoleSessionInfo, connection: IPMIConnection, takeOver: Bool, viewer: ConsoleViewer, activity: ActivityClock
    ) async -> String {
        let viewerId = UUID()
        let events: AsyncStream<SerialViewerEvent>
        let role: SerialRole
        let backlog: [UInt8]
        do {
            (events, role, backlog) = try await hub.attach(viewerId, serverId: session.serverId, connection: connection, takeOver: takeOver)
        } catch {
            return "the serial console could not be opened: \(AgentError.from(error).message)"
        }
        let sessions = self.sessions
        let hub = self.hub
        let outcome = await withTaskGroup(of: String.self) { group in
            group.addTask {
                do {
                    try await viewer.send(.status(ConsoleStatus(state: role.rawValue)))
                    if !backlog.isEmpty { try await viewer.send(.data(ByteBuffer(bytes: backlog))) }
                    for await event in events {
                        switch event {
                        case .data(let chunk):
                            activity.touch()
                            sessions.count(session.sessionId, toViewer: chunk.readableBytes)
                            try await viewer.send(.data(chunk))
                        case .role(let changed):
                            try await viewer.send(.status(ConsoleStatus(state: changed.rawValue, reason: "another viewer took the keyboard")))
                        case .ended(let reason):
                            return reason
                        }
                    }
                    return "the serial console ended (this viewer fell behind, or the session closed)"
                } catch {
                    return "the viewer went away"
                }
            }
            group.addTask {
                for await keys in viewer.incoming {
                    activity.touch()
                    sessions.count(session.sessionId, fromViewer: keys.readableBytes)
                    do {
                        _ = try await hub.type(viewerId, keys)
                    } catch {
                        return "the serial console stopped taking input: \(AgentError.from(error).message)"
                    }
                }
                return "the viewer closed the console"
            }
            let first = await group.next() ?? "ended"
            group.cancelAll()
            return first
        }
        await hub.detach(viewerId)
        return Task.isCancelled ? "closed" : outcome
    }

    /// A send to the viewer's WebSocket failed: the viewer went away (not a failure of the console).
    private struct ViewerWentAway: Error {}

    private func serveGraphical(_ session: ConsoleSessionInfo, endpoint: VNCEndpoint, viewer: ConsoleViewer, activity: ActivityClock) async -> String {
        let sessions = self.sessions
        let toViewer: @Sendable (ByteBuffer) async throws -> Void = { chunk in
            do {
                try await viewer.send(.data(chunk))
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                throw ViewerWentAway()
            }
        }
        do {
            return try await withUpstream(endpoint) { upstream in
                _ = try await RFBHandshake.authenticate(&upstream.reader, write: upstream.write, password: endpoint.password)
                let leftover = upstream.reader.takeBuffered()
                let write = upstream.write
                return try await withThrowingTaskGroup(of: String.self) { group in
                    group.addTask {
                        var browser = ByteReader(viewer.incoming.makeAsyncIterator())
                        try await RFBHandshake.greetViewer(&browser, send: toViewer)
                        if let rest = browser.takeBuffered() { try await write(rest) }
                        while let chunk = await browser.source.next() {
                            activity.touch()
                            sessions.count(session.sessionId, fromViewer: chunk.readableBytes)
                            try await write(chunk)
                        }
                        return "the viewer closed the console"
                    }
                    group.addTask {
                        if let leftover { try await toViewer(leftover) }
                        return try await upstream.forward { chunk in
                            activity.touch()
                            sessions.count(session.sessionId, toViewer: chunk.readableBytes)
                            try await toViewer(chunk)
                        }
                    }
                    let first = try await group.next() ?? "ended"
                    group.cancelAll()
                    return first
                }
            }
        } catch is CancellationError {
            return "closed"
        } catch is ViewerWentAway {
            return "the viewer went away"
        } catch {
            return "the graphical console failed: \(AgentError.from(error).message)"
        }
    }

    /// Runs `body` until it ends, the session is idle too long or open too long.
    private func withLimits(_ activity: ActivityClock, _ body: @escaping @Sendable () async -> String) async -> String {
        let idle = Duration.seconds(settings.idleTimeoutSeconds)
        let maximum = Duration.seconds(settings.maxDurationSeconds)
        let opened = ContinuousClock.now
        return await withTaskGroup(of: String.self) { group in
            group.addTask { await body() }
            group.addTask {
                while !Task.isCancelled {
                    let now = ContinuousClock.now
                    if now - opened >= maximum { return "open for the maximum of \(Int(maximum.inSeconds)) s" }
                    if now - activity.last >= idle { return "idle for \(Int(idle.inSeconds)) s" }
                    try? await Task.sleep(for: .milliseconds(min(1000, Int64(idle.inSeconds * 250) + 10)))
                }
                return "closed"
            }
            let first = await group.next() ?? "ended"
            group.cancelAll()
            return first
        }
    }

    /// One `console.opened` / `console.closed` event with its action-log row, in one transaction.
    private func record(_ session: ConsoleSessionInfo, opened: Bool) async {
        var data = session.json
        let text: String
        if opened {
            text = "Console opened (\(session.mode.rawValue)) from \(session.viewerAddress ?? "?")"
        } else {
            let seconds = session.openedAt.map { (session.closedAt ?? Date()).timeIntervalSince($0) } ?? 0
            if case .object(var members) = data {
                members["durationSeconds"] = .double((seconds * 1000).rounded() / 1000)
                data = .object(members)
            }
            text = "Console closed (\(session.mode.rawValue)) after \(Int(seconds)) s, \(session.bytesToViewer) bytes out, "
                + "\(session.bytesFromViewer) in: \(session.closeReason ?? "closed")"
        }
        let type = opened ? "console.opened" : "console.closed"
        let event = data
        do {
            try await database.writer.write { db in
                try self.outbox.append(OutboxEvent(type: type, data: event), in: db)
                try self.actionLog.append(
                    ActionLogEntry(rootType: "servers", rootId: session.serverId, description: text, meta: ["text": .string(text), "console": event]), in: db)
            }
        } catch {
            logger.error("cannot record a console event", metadata: ["type": "\(type)", "session": "\(session.sessionId)", "error": "\(error)"])
        }
        logger.info("\(type)", metadata: ["session": "\(session.sessionId)", "serverId": "\(session.serverId)", "text": "\(text)"])
    }

    // MARK: - Upstream VNC connections

    /// A connection to a VNC server, as bytes, whatever carries them.
    final class Upstream<Source: AsyncIteratorProtocol>: @unchecked Sendable where Source.Element == ByteBuffer {
        var reader: ByteReader<Source>
        let write: @Sendable (ByteBuffer) async throws -> Void

        init(reader: ByteReader<Source>, write: @escaping @Sendable (ByteBuffer) async throws -> Void) {
            self.reader = reader
            self.write = write
        }

        /// Passes everything the server sends to `deliver` until the server closes.
        func forward(_ deliver: (ByteBuffer) async throws -> Void) async throws -> String {
            while let chunk = try await reader.source.next() { try await deliver(chunk) }
            return "the VNC server closed the connection"
        }
    }

    /// Connects to the endpoint (and only there) and runs `body` on the connection, closing it afterwards.
    func withUpstream<Value: Sendable>(
        _ endpoint: VNCEndpoint, _ body: @escaping @Sendable (Upstream<MessageBytes>) async throws -> Value
    ) async throws -> Value {
        let target = "VNC \(endpoint.transport)"
        switch endpoint.transport {
        case .tcp(let host, let port):
            let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
            do {
                channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                    .connectTimeout(.seconds(10))
                    .connect(host: host, port: port) { channel in
                        channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
                    }
            } catch {
                throw ConsoleError.unreachable(target: target, detail: "\(error)")
            }
            return try await channel.executeThenClose { inbound, outbound in
                let upstream = Upstream(reader: ByteReader(MessageBytes(chunks: inbound)), write: { try await outbound.write($0) })
                return try await body(upstream)
            }
        case .webSocket(let url):
            let result = Mutex<Result<Value, any Error>?>(nil)
            var tls = TLSConfiguration.makeClientConfiguration()
            // qemu and KVM services speak RFB on the "binary" subprotocol.
            var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 24, additionalHeaders: [.secWebSocketProtocol: "binary"])
            let host = URL(string: url)?.host ?? ""
            if IPAddress(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) != nil {
                // SNI carries host names only: an address gets a placeholder, and the certificate's chain is checked
                // without its name.
                configuration.sniHostname = "bmc.invalid"
                tls.certificateVerification = .noHostnameVerification
            }
            if !endpoint.verifyCertificate { tls.certificateVerification = .none }
            do {
                _ = try await WebSocketClient.connect(url: url, configuration: configuration, tlsConfiguration: tls, logger: logger) { inbound, outbound, _ in
                    let upstream = Upstream(
                        reader: ByteReader(MessageBytes(messages: inbound.messages(maxSize: 1 << 24))),
                        write: { try await outbound.write(.binary($0)) })
                    do {
                        let value = try await body(upstream)
                        result.withLock { $0 = .success(value) }
                    } catch {
                        result.withLock { $0 = .failure(error) }
                    }
                }
            } catch {
                if let outcome = result.withLock({ $0 }) { return try outcome.get() }
                throw ConsoleError.unreachable(target: target, detail: "\(error)")
            }
            guard let outcome = result.withLock({ $0 }) else { throw ConsoleError.unreachable(target: target, detail: "the WebSocket closed at once") }
            return try outcome.get()
        }
    }

    // MARK: - Service

    /// Writes the serial logs to disk every two seconds while the agent runs, and once more when it stops.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while true {
                do {
                    try await Task.sleep(for: .seconds(2))
                } catch {
                    return
                }
                self.logFlushFailures(await self.serialLogs.flush())
            }
        }
        sessions.closeAll(reason: "the agent is stopping")
        // Outside the cancelled task: the last output and the sessions' ends must still be written.
        await Task {
            await self.hub.closeAll()
            self.logFlushFailures(await self.serialLogs.flush())
        }.value
    }

    private func logFlushFailures(_ failures: [String: String]) {
        for (serverId, failure) in failures {
            logger.error("cannot keep a serial log on disk", metadata: ["serverId": "\(serverId)", "error": "\(failure)"])
        }
    }
}

/// When a session last moved a byte either way.
final class ActivityClock: Sendable {
    private let instant = Mutex(ContinuousClock.now)
    func touch() { instant.withLock { $0 = .now } }
    var last: ContinuousClock.Instant { instant.withLock { $0 } }
}

/// The chunks of a TCP connection or the messages of a WebSocket, as bytes.
struct MessageBytes: AsyncIteratorProtocol {
    private var next: () async throws -> ByteBuffer?

    init(chunks: NIOAsyncChannelInboundStream<ByteBuffer>) {
        var iterator = chunks.makeAsyncIterator()
        next = { try await iterator.next() }
    }

    init(messages: WebSocketInboundMessageStream) {
        var iterator = messages.makeAsyncIterator()
        next = {
            switch try await iterator.next() {
            case .binary(let buffer)?: return buffer
            case .text(let text)?: return ByteBuffer(string: text)
            case nil: return nil
            }
        }
    }

    mutating func next() async throws -> ByteBuffer? {
        try await next()
    }
}
