import AgentCore
import Foundation
import IPMI
import Logging
import NIOCore

/// Whether a serial viewer's keystrokes reach the server.
public enum SerialRole: String, Sendable {
    case interactive
    case readOnly
}

/// What a serial viewer receives.
public enum SerialViewerEvent: Sendable {
    case data(ByteBuffer)
    case role(SerialRole)
    /// The console ended (the BMC dropped the session, the viewer fell behind); the text says why.
    case ended(String)
}

/// One SOL session per BMC, shared: the first viewer types, later viewers of the same server watch (or take the
/// keyboard when they ask to), and an installation may hold the session open with no viewer at all so its output
/// reaches the serial log. The session is deactivated when its last holder leaves.
actor SerialConsoleHub {
    private final class Link {
        let bmc: String
        let serverId: String
        let session: SOLSession
        var viewers: [UUID: AsyncStream<SerialViewerEvent>.Continuation] = [:]
        var keyboard: UUID?
        var capturing = false

        init(bmc: String, serverId: String, session: SOLSession) {
            self.bmc = bmc
            self.serverId = serverId
            self.session = session
        }
    }

    private let executor: IPMIExecutor
    private let logs: SerialLogStore
    private let logger: Logger
    private var links: [String: Link] = [:]
    private var starting: [String: Task<SOLSession, any Error>] = [:]
    /// Which BMC each viewer watches.
    private var viewing: [UUID: String] = [:]
    /// Servers whose console an installation wants captured.
    private var captures: Set<String> = []
    /// Chunks a viewer may have queued before it is cut off as too slow (never a silently dropped byte).
    static let viewerBacklog = 4096

    init(executor: IPMIExecutor, logs: SerialLogStore, logger: Logger) {
        self.executor = executor
        self.logs = logs
        self.logger = logger
    }

    /// Joins `viewer` to the server's console, starting SOL when nobody holds it yet. The first viewer (or one that
    /// takes over) types; the others watch. Also returns the newest output kept (up to 64 KiB), taken in the same step
    /// as the viewer joins, so the screen starts where the stream continues: no byte twice, none missing.
    func attach(
        _ viewer: UUID, serverId: String, connection: IPMIConnection, takeOver: Bool
    ) async throws -> (AsyncStream<SerialViewerEvent>, SerialRole, [UInt8]) {
        let link = try await link(for: connection, serverId: serverId)
        let backlog = logs.tail(serverId, 64 * 1024)
        let (events, continuation) = AsyncStream<SerialViewerEvent>.makeStream(bufferingPolicy: .bufferingOldest(Self.viewerBacklog))
        link.viewers[viewer] = continuation
        viewing[viewer] = link.bmc
        let role: SerialRole
        if link.keyboard == nil || takeOver {
            if let previous = link.keyboard, previous != viewer { link.viewers[previous]?.yield(.role(.readOnly)) }
            link.keyboard = viewer
            role = .interactive
        } else {
            role = .readOnly
        }
        return (events, role, backlog)
    }

    /// The viewer left: its stream ends; the last holder's leaving deactivates SOL.
    func detach(_ viewer: UUID) async {
        guard let bmc = viewing.removeValue(forKey: viewer), let link = links[bmc] else { return }
        link.viewers.removeValue(forKey: viewer)?.finish()
        if link.keyboard == viewer { link.keyboard = nil }
        await releaseIfUnused(link)
    }

    /// Types for `viewer`; a read-only viewer's keys are dropped (false).
    func type(_ viewer: UUID, _ bytes: ByteBuffer) async throws -> Bool {
        guard let bmc = viewing[viewer], let link = links[bmc], link.keyboard == viewer else { return false }
        try await link.session.send(bytes)
        return true
    }

    /// Holds the server's console open with nobody watching, so its output reaches the serial log. A capture ended
    /// while SOL was still starting is not left holding it.
    func startCapture(serverId: String, connection: IPMIConnection) async throws {
        captures.insert(serverId)
        let link = try await link(for: connection, serverId: serverId)
        if captures.contains(serverId) {
            link.capturing = true
        } else {
            await releaseIfUnused(link)
        }
    }

    /// Ends a capture; SOL is deactivated unless a viewer still watches.
    func stopCapture(serverId: String) async {
        captures.remove(serverId)
        for link in links.values where link.serverId == serverId && link.capturing {
            link.capturing = false
            await releaseIfUnused(link)
        }
    }

    /// Deactivates every session (the agent is stopping).
    func closeAll() async {
        for link in links.values {
            for continuation in link.viewers.values { continuation.finish() }
            link.viewers.removeAll()
            link.capturing = false
            await link.session.deactivate()
        }
        links.removeAll()
    }

    var activeSessions: Int { links.count }

    // MARK: - Links

    private func link(for connection: IPMIConnection, serverId: String) async throws -> Link {
        let bmc = connection.address
        if let existing = links[bmc] { return existing }
        let start: Task<SOLSession, any Error>
        if let pending = starting[bmc] {
            start = pending
        } else {
            let executor = self.executor
            let logger = self.logger
            // The session is shared by every viewer of this BMC and outlives the one who opened it.
            start = Task {
                try await LogContext.replacing(with: ["bmc": bmc, "serverId": serverId]) {
                    try await SOLSession.activate(connection, executor: executor, logger: logger)
                }
            }
            starting[bmc] = start
        }
        let session: SOLSession
        do {
            session = try await start.value
        } catch {
            starting[bmc] = nil
            throw error
        }
        starting[bmc] = nil
        if let existing = links[bmc] { return existing }
        let link = Link(bmc: bmc, serverId: serverId, session: session)
        links[bmc] = link
        Task { await LogContext.replacing(with: ["bmc": bmc, "serverId": serverId]) { await self.pump(link) } }
        return link
    }

    /// Carries the session's output to the serial log and every viewer, until it ends.
    private func pump(_ link: Link) async {
        for await chunk in link.session.output {
            logs.append(link.serverId, chunk)
            for (viewer, continuation) in link.viewers {
                if case .dropped = continuation.yield(.data(chunk)) {
                    // Too far behind to keep every byte: cut off, told why, rather than shown a console with a hole.
                    link.viewers[viewer] = nil
                    continuation.finish()
                    logger.notice("serial viewer too slow; disconnected", metadata: ["bmc": "\(link.bmc)"])
                }
            }
        }
        let end = await link.session.waitForEnd()
        let reason: String
        switch end {
        case .deactivated: reason = "the serial console was closed"
        case .dropped(let words): reason = "the BMC ended the serial console: \(words)"
        }
        for continuation in link.viewers.values {
            continuation.yield(.ended(reason))
            continuation.finish()
        }
        link.viewers.removeAll()
        if links[link.bmc] === link { links[link.bmc] = nil }
        if case .dropped = end { logger.warning("SOL session dropped", metadata: ["bmc": "\(link.bmc)", "reason": "\(reason)"]) }
    }

    private func releaseIfUnused(_ link: Link) async {
        guard link.viewers.isEmpty, !link.capturing, links[link.bmc] === link else { return }
        links[link.bmc] = nil
        await link.session.deactivate()
    }
}
