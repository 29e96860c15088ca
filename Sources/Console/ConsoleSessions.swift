import AgentCore
import Crypto
import Foundation
import Synchronization

/// Where a console session is in its life.
public enum ConsoleSessionState: String, Sendable, Codable {
    /// The link was issued and not opened yet.
    case pending
    case open
    case closed
    case revoked
    /// The link was never opened in time.
    case expired
}

/// A console session as the controller sees it (`GET /v1/consoles`): never the token, never a password.
public struct ConsoleSessionInfo: Sendable, Equatable {
    public var sessionId: String
    public var serverId: String
    public var mode: ConsoleMode
    public var state: ConsoleSessionState
    public var authorizedIp: String
    public var target: String
    public var createdAt: Date
    public var expiresAt: Date
    public var openedAt: Date?
    public var closedAt: Date?
    public var viewerAddress: String?
    public var bytesToViewer: Int
    public var bytesFromViewer: Int
    public var closeReason: String?

    public var json: JSONValue {
        func date(_ value: Date?) -> JSONValue { value.map { .string(UTCTime.iso8601($0)) } ?? .null }
        return [
            "sessionId": .string(sessionId), "serverId": .string(serverId), "consoleMode": .string(mode.rawValue), "state": .string(state.rawValue),
            "authorizedIp": .string(authorizedIp), "target": .string(target), "createdAt": date(createdAt), "expiresAt": date(expiresAt),
            "openedAt": date(openedAt), "closedAt": date(closedAt), "viewerAddress": viewerAddress.map(JSONValue.string) ?? .null,
            "bytesToViewer": .integer(Int64(bytesToViewer)), "bytesFromViewer": .integer(Int64(bytesFromViewer)),
            "closeReason": closeReason.map(JSONValue.string) ?? .null,
        ]
    }
}

/// What a link request finds.
public enum ConsoleAdmission: Sendable {
    /// The link is unknown, expired, revoked or already used: 404, nothing else.
    case notFound
    /// The request comes from another address than the session's `authorizedIp`: 403, nothing else.
    case forbidden
    case admitted(ConsoleSessionInfo)
}

/// The console sessions: links issued by the controller, opened once by the viewer at `authorizedIp`, revocable at any
/// moment. Tokens are 256-bit random, kept only as their SHA-256; sessions and the connections they hold (with their
/// passwords) live in memory only, so a restart ends them all.
public final class ConsoleSessions: Sendable {
    struct Session: Sendable {
        var info: ConsoleSessionInfo
        var tokenDigest: String
        var endpoint: ConsoleEndpoint
        var takeOver: Bool
        /// Ends the live connection at once (set while open).
        var close: (@Sendable (String) -> Void)?
    }

    private let sessions = Mutex<[String: Session]>([:])
    let maximum: Int
    /// Ended sessions stay listed this long.
    static let endedRetention: TimeInterval = 3600

    public init(maximum: Int) {
        self.maximum = maximum
    }

    /// Issues a link: the token (returned once, never stored) and the session.
    public func create(_ request: ConsoleRequest, lifetime: TimeInterval, now: Date = Date()) throws -> (token: String, session: ConsoleSessionInfo) {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = UInt8.random(in: .min ... .max, using: &generator) }
        let token = bytes.map { String(format: "%02x", $0) }.joined()
        let info = ConsoleSessionInfo(
            sessionId: UUID().uuidString.lowercased(), serverId: request.serverId, mode: request.mode, state: .pending,
            authorizedIp: request.authorizedIp, target: request.endpoint.target, createdAt: now, expiresAt: now.addingTimeInterval(lifetime),
            openedAt: nil, closedAt: nil, viewerAddress: nil, bytesToViewer: 0, bytesFromViewer: 0, closeReason: nil)
        try sessions.withLock { sessions in
            Self.expire(&sessions, now: now)
            let live = sessions.values.filter { $0.info.state == .pending || $0.info.state == .open }.count
            guard live < maximum else {
                throw AgentError.conflict("console_sessions_exhausted", "\(live) console sessions are pending or open (console.maxSessions \(maximum))")
            }
            sessions[info.sessionId] = Session(info: info, tokenDigest: Self.digest(token), endpoint: request.endpoint, takeOver: request.takeOver)
        }
        return (token, info)
    }

    /// Checks a link without using it (the page request).
    public func admit(token: String, from address: String?, now: Date = Date()) -> ConsoleAdmission {
        sessions.withLock { sessions in
            Self.expire(&sessions, now: now)
            guard let session = Self.find(token, in: sessions), session.info.state == .pending else { return .notFound }
            guard Self.sameAddress(address, session.info.authorizedIp) else { return .forbidden }
            return .admitted(session.info)
        }
    }

    /// Uses a link (the WebSocket): the first call from the authorised address gets the session and its endpoint,
    /// every later one `.notFound`.
    func open(token: String, from address: String?, now: Date = Date()) -> (ConsoleAdmission, ConsoleEndpoint?, Bool) {
        sessions.withLock { sessions in
            Self.expire(&sessions, now: now)
            guard var session = Self.find(token, in: sessions), session.info.state == .pending else { return (.notFound, nil, false) }
            guard Self.sameAddress(address, session.info.authorizedIp) else { return (.forbidden, nil, false) }
            session.info.state = .open
            session.info.openedAt = now
            session.info.viewerAddress = address
            sessions[session.info.sessionId] = session
            return (.admitted(session.info), session.endpoint, session.takeOver)
        }
    }

    /// Registers how to end an open session's live connection; false when it was revoked in the meantime.
    func setCloser(_ sessionId: String, _ close: @escaping @Sendable (String) -> Void) -> Bool {
        sessions.withLock { sessions in
            guard sessions[sessionId]?.info.state == .open else { return false }
            sessions[sessionId]?.close = close
            return true
        }
    }

    /// Counts bytes through an open session.
    func count(_ sessionId: String, toViewer: Int = 0, fromViewer: Int = 0) {
        sessions.withLock { sessions in
            sessions[sessionId]?.info.bytesToViewer += toViewer
            sessions[sessionId]?.info.bytesFromViewer += fromViewer
        }
    }

    /// Records the end of an open session; returns it as it ended.
    func finish(_ sessionId: String, reason: String, now: Date = Date()) -> ConsoleSessionInfo? {
        sessions.withLock { sessions in
            guard var session = sessions[sessionId] else { return nil }
            if session.info.state == .open { session.info.state = .closed }
            session.info.closedAt = session.info.closedAt ?? now
            session.info.closeReason = session.info.closeReason ?? reason
            session.close = nil
            sessions[sessionId] = session
            return session.info
        }
    }

    /// Revokes a session by its token or its id: a pending link stops working, an open one is closed at once.
    public func revoke(_ tokenOrId: String, now: Date = Date()) -> ConsoleSessionInfo? {
        let (info, close) = sessions.withLock { sessions -> (ConsoleSessionInfo?, (@Sendable (String) -> Void)?) in
            guard var session = sessions[tokenOrId] ?? Self.find(tokenOrId, in: sessions) else { return (nil, nil) }
            let close = session.close
            switch session.info.state {
            case .pending, .open:
                session.info.state = .revoked
                session.info.closedAt = now
                session.info.closeReason = "revoked"
                session.close = nil
            case .closed, .revoked, .expired:
                break
            }
            sessions[session.info.sessionId] = session
            return (session.info, close)
        }
        close?("revoked")
        return info
    }

    /// Every session pending or open, and those that ended in the last hour, newest first.
    public func list(now: Date = Date()) -> [ConsoleSessionInfo] {
        sessions.withLock { sessions in
            Self.expire(&sessions, now: now)
            return sessions.values.map(\.info).sorted { $0.createdAt > $1.createdAt }
        }
    }

    /// Closes every open session (the agent is stopping).
    public func closeAll(reason: String) {
        let closers = sessions.withLock { sessions in sessions.values.compactMap(\.close) }
        for close in closers { close(reason) }
    }

    // MARK: - Helpers

    static func digest(_ token: String) -> String {
        SHA256.hash(data: Array(token.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    private static func find(_ token: String, in sessions: [String: Session]) -> Session? {
        guard token.count == 64, token.allSatisfy(\.isHexDigit) else { return nil }
        let wanted = Array(digest(token.lowercased()).utf8)
        return sessions.values.first { constantTimeEqual(Array($0.tokenDigest.utf8), wanted) }
    }

    static func constantTimeEqual(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }

    static func sameAddress(_ peer: String?, _ authorized: String) -> Bool {
        guard let peer, let address = IPAddress(peer), let allowed = IPAddress(authorized) else { return false }
        return address == allowed || address.ipv4MappedAddress == allowed
    }

    /// Pending links past their time become expired; ended sessions older than the retention go.
    private static func expire(_ sessions: inout [String: Session], now: Date) {
        for (id, session) in sessions {
            if session.info.state == .pending, session.info.expiresAt <= now {
                sessions[id]?.info.state = .expired
                sessions[id]?.info.closedAt = session.info.expiresAt
                sessions[id]?.info.closeReason = "the link was not opened in time"
            } else if let closed = session.info.closedAt, session.info.state != .open, now.timeIntervalSince(closed) > endedRetention {
                sessions[id] = nil
            }
        }
    }
}
