import AgentCore
import Foundation
import Logging
import Synchronization

/// A switch to manage: where, who, how, and which host key it must present.
public struct SwitchTarget: Sendable {
    public var deviceId: String
    public var host: String
    public var port: Int
    public var user: String
    public var credential: SSHCredential
    public var vendor: String
    /// `SHA256:...` from the device's meta.hostKeySha256.
    public var pinnedHostKey: String?

    public init(deviceId: String, host: String, port: Int, user: String, credential: SSHCredential, vendor: String, pinnedHostKey: String?) {
        self.deviceId = deviceId
        self.host = host
        self.port = port
        self.user = user
        self.credential = credential
        self.vendor = vendor
        self.pinnedHostKey = pinnedHostKey
    }

    public var endpoint: String { "\(host):\(port)" }
    public var label: String { "\(deviceId) (\(endpoint))" }

    /// What must not change for a pooled session to be reused.
    var sessionKey: String {
        let secret: String
        switch credential {
        case .password(let password): secret = password.revealed
        case .privateKey(let key, let passphrase): secret = key.revealed + (passphrase?.revealed ?? "")
        }
        return "\(host)|\(port)|\(user)|\(vendor)|\(secret.hashValue)|\(pinnedHostKey ?? "")"
    }

    public var secrets: [Secret] {
        switch credential {
        case .password(let password): return [password]
        case .privateKey(let key, let passphrase): return [key] + (passphrase.map { [$0] } ?? [])
        }
    }

    /// `SHA256:abc...` from `SHA256:abc=`, `abc`, with or without padding.
    static func normalizedFingerprint(_ text: String) -> String {
        var body = text.trimmingCharacters(in: .whitespaces)
        if body.uppercased().hasPrefix("SHA256:") { body = String(body.dropFirst(7)) }
        while body.hasSuffix("=") { body.removeLast() }
        return "SHA256:" + body
    }
}

/// One CLI session per switch, reused for a burst of actions and closed when idle; a second action on the same
/// switch waits for the first. Host keys are checked on every connect.
public final class SwitchSessionPool: Sendable {
    struct Entry {
        let key: String
        let session: SSHSession
        let cli: CLISession
        var lastUsed: ContinuousClock.Instant
    }

    let settings: SSHConfiguration
    let store: SwitchStore
    let logger: Logger
    private let entries = Mutex<[String: Entry]>([:])
    private let deviceLocks = Mutex<[String: AsyncSemaphore]>([:])
    private let sessions: AsyncSemaphore
    private let connects = Mutex(0)

    public init(settings: SSHConfiguration, store: SwitchStore, logger: Logger) {
        self.settings = settings
        self.store = store
        self.logger = logger
        sessions = AsyncSemaphore(permits: max(1, settings.maxConcurrentSessions))
    }

    /// How many SSH connections were opened (the benchmark shows reuse with it).
    public var connectionsOpened: Int { connects.withLock { $0 } }

    func lock(_ deviceId: String) -> AsyncSemaphore {
        deviceLocks.withLock { locks in
            if let existing = locks[deviceId] { return existing }
            let created = AsyncSemaphore(permits: 1)
            locks[deviceId] = created
            return created
        }
    }

    /// Runs `body` with the device's CLI session (opened, or reused when the target is unchanged). A transport
    /// failure or timeout closes the session; a refused command leaves it open.
    public func withCLI<Value: Sendable>(_ target: SwitchTarget, dialect: any SwitchDialect, _ body: (CLISession) async throws -> Value) async throws -> Value {
        try await lock(target.deviceId).withPermit {
            try await sessions.withPermit {
                let key = target.sessionKey
                var entry = entries.withLock { $0.removeValue(forKey: target.deviceId) }
                if let stale = entry, stale.key != key || !stale.session.isOpen {
                    stale.session.close()
                    entry = nil
                }
                if entry == nil { entry = try await open(target, dialect: dialect, key: key) }
                guard var entry else { throw SwitchError.ssh(device: target.label, detail: "no session") }
                do {
                    let value = try await body(entry.cli)
                    entry.lastUsed = .now
                    let kept = entry
                    entries.withLock { $0[target.deviceId] = kept }
                    return value
                } catch let error as SwitchError {
                    switch error {
                    case .commandRejected, .notFound, .vlanExists, .verifyFailed, .structuredOutputUnavailable, .unexpectedOutput:
                        entry.lastUsed = .now
                        let kept = entry
                        entries.withLock { $0[target.deviceId] = kept }
                    default:
                        entry.session.close()
                    }
                    throw error
                } catch {
                    entry.session.close()
                    throw error
                }
            }
        }
    }

    /// Runs `body` on a new CLI connection that is not pooled and is closed afterwards, without taking the device's
    /// lock: for putting a device back from inside ``withCLI(_:dialect:_:)`` when its session fell out of step.
    func withUnpooledCLI<Value: Sendable>(_ target: SwitchTarget, dialect: any SwitchDialect, _ body: (CLISession) async throws -> Value) async throws -> Value {
        let entry = try await open(target, dialect: dialect, key: target.sessionKey)
        defer { entry.session.close() }
        return try await body(entry.cli)
    }

    /// Runs `body` on a fresh connection that is not pooled (exec channels).
    public func withSession<Value: Sendable>(_ target: SwitchTarget, _ body: (SSHSession) async throws -> Value) async throws -> Value {
        try await lock(target.deviceId).withPermit {
            try await sessions.withPermit {
                let session = try await connect(target)
                defer { session.close() }
                return try await body(session)
            }
        }
    }

    func connect(_ target: SwitchTarget) async throws -> SSHSession {
        let timeout = Duration.milliseconds(Int64(settings.connectTimeoutSeconds * 1000))
        let session = try await SSHSession.connect(
            device: target.label, host: target.host, port: target.port, timeout: timeout, keepaliveSeconds: settings.keepaliveSeconds)
        connects.withLock { $0 += 1 }
        do {
            try await verifyHostKey(target, presented: session.hostKeyFingerprint)
            try await session.authenticate(user: target.user, credential: target.credential, timeout: timeout)
        } catch {
            session.close()
            throw error
        }
        return session
    }

    func open(_ target: SwitchTarget, dialect: any SwitchDialect, key: String) async throws -> Entry {
        let session = try await connect(target)
        do {
            let timeout = Duration.milliseconds(Int64(settings.commandTimeoutSeconds * 1000))
            let shell = try await session.openShell(timeout: timeout)
            let cli = try CLISession(device: target.label, shell: shell, conventions: dialect.conventions, commandTimeout: timeout)
            try await cli.start()
            logger.info("switch session opened", metadata: ["device": "\(target.label)", "vendor": "\(target.vendor)"])
            return Entry(key: key, session: session, cli: cli, lastUsed: .now)
        } catch {
            session.close()
            throw error
        }
    }

    /// Pinned key (device meta or policy), else the first key seen for the device.
    func verifyHostKey(_ target: SwitchTarget, presented: String) async throws {
        if let pinned = target.pinnedHostKey.map(SwitchTarget.normalizedFingerprint) {
            guard pinned == presented else { throw SwitchError.hostKeyMismatch(device: target.label, expected: pinned, presented: presented) }
            return
        }
        guard settings.hostKeyPolicy == .trustOnFirstUse else { throw SwitchError.hostKeyNotPinned(device: target.label) }
        if let known = try await store.hostKey(target.deviceId) {
            guard known.fingerprint == presented else {
                throw SwitchError.hostKeyMismatch(device: target.label, expected: known.fingerprint, presented: presented)
            }
            return
        }
        try await store.recordHostKey(target.deviceId, endpoint: target.endpoint, fingerprint: presented)
        logger.notice("switch host key recorded (trust on first use)", metadata: ["device": "\(target.label)", "fingerprint": "\(presented)"])
    }

    /// Closes sessions idle longer than the setting and keeps the others alive. Returns how many were closed.
    @discardableResult
    public func closeIdle(now: ContinuousClock.Instant = .now) -> Int {
        let idle = Duration.milliseconds(Int64(settings.idleCloseSeconds * 1000))
        let expired = entries.withLock { entries -> [Entry] in
            let old = entries.filter { now - $0.value.lastUsed >= idle }
            for key in old.keys { entries.removeValue(forKey: key) }
            return Array(old.values)
        }
        for entry in expired { entry.session.close() }
        return expired.count
    }

    /// Closes a device's pooled session (its settings changed or it was removed).
    public func close(deviceId: String) {
        entries.withLock { $0.removeValue(forKey: deviceId) }?.session.close()
    }

    public func closeAll() {
        let all = entries.withLock { entries -> [Entry] in
            defer { entries.removeAll() }
            return Array(entries.values)
        }
        for entry in all { entry.session.close() }
    }

    public var openSessions: Int { entries.withLock { $0.count } }
}
