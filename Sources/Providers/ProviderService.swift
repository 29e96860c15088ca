import AgentCore
import Foundation
import Logging

/// The agent's entry to the providers: builds the driver for a connection (sharing one rate limit per
/// account), and runs power actions with read-back verification, composing the ones a provider lacks.
public final class ProviderService: Sendable {
    let settings: ProvidersConfiguration
    let transport: any ProviderTransport
    let logger: Logger
    let buckets = ProviderRateLimits()

    public init(settings: ProvidersConfiguration, transport: any ProviderTransport = HTTPClientProviderTransport(), logger: Logger) {
        self.settings = settings
        self.transport = transport
        self.logger = logger
    }

    public var waiter: ProviderWaiter {
        ProviderWaiter(interval: .seconds(settings.pollIntervalSeconds), timeout: .seconds(settings.waitTimeoutSeconds))
    }

    /// The driver for a connection's account.
    public func driver(for connection: ProviderConnection) async -> any ProviderDriver {
        let account = connection.account
        // IONOS documents 25 requests per minute (a full minute's worth may go at once); the others document none.
        let bucket = account.type == .ionos
            ? await buckets.bucket(for: account.key, ratePerSecond: settings.ionosRequestsPerMinute / 60, capacity: settings.ionosRequestsPerMinute)
            : await buckets.bucket(for: account.key, ratePerSecond: settings.requestsPerSecond, capacity: settings.requestsPerSecond)
        let http = ProviderHTTPClient(provider: account.type, transport: transport, bucket: bucket,
                                      timeout: .seconds(settings.requestTimeoutSeconds), logger: logger)
        switch account.type {
        case .ionos: return IONOSDriver(account: account, http: http)
        case .venocix: return VenocixDriver(account: account, kind: connection.venocixKind, http: http)
        case .cloudsigma: return CloudSigmaDriver(account: account, http: http)
        }
    }

    /// Restarts the server into the provider's recovery system, verified by the state leaving "on" and coming back.
    public func bootRecovery(image: String, _ connection: ProviderConnection) async throws -> JSONValue {
        let driver = await driver(for: connection)
        try await driver.bootRecovery(serverId: connection.serverId, image: image)
        var seen: [String] = []
        let (final, checks) = try await waiter.until(
            driver.provider, "the server back from its recovery restart", read: { try await driver.status(serverId: connection.serverId) },
            describe: { $0.providerState }
        ) { status in
            if seen.last != status.providerState { seen.append(status.providerState) }
            return status.state == .on && seen.count > 1
        }
        // What was seen proves a restart; that it came up in recovery mode is the provider's word (its API shows no mode).
        return ["recoveryImage": .string(image), "providerState": .string(final.providerState), "restartVerified": true,
                "evidence": .string("state went " + seen.joined(separator: ", then ")), "recoveryMode": "requested",
                "checks": .integer(Int64(checks))]
    }

    /// Inserts (or, with nil, ejects) an ISO and reads the drive back.
    public func setISO(_ isoId: String?, _ connection: ProviderConnection) async throws -> JSONValue {
        let driver = await driver(for: connection)
        var rebooted = false
        if let isoId {
            rebooted = try await driver.insertISO(isoId, serverId: connection.serverId)
        } else {
            try await driver.ejectISO(serverId: connection.serverId)
        }
        let (shown, checks) = try await waiter.until(
            driver.provider, isoId.map { "ISO \($0) in the drive" } ?? "an empty drive", read: { try await driver.insertedISO(serverId: connection.serverId) },
            describe: { $0 ?? "empty" }, isDone: { $0 == isoId })
        return ["iso": shown.map(JSONValue.string) ?? .null, "rebooted": .bool(rebooted), "verified": true, "checks": .integer(Int64(checks))]
    }

    /// The server's state; fails when the credentials or server id are wrong.
    public func status(_ connection: ProviderConnection) async throws -> ProviderServerStatus {
        try await driver(for: connection).status(serverId: connection.serverId)
    }

    /// Runs a power action to its verified end. Native actions are sent once; when the answer is unclear
    /// (timeout, 5xx) the state is read before anything is sent again. Missing actions are composed:
    /// off = shutdown and wait; reboot = shutdown, wait off, on, wait on; reset = off (or shutdown), wait, on, wait.
    ///
    /// A native reset or reboot is verified only when the state was seen leaving "on" and coming back; a provider
    /// that shows "running" throughout gives no evidence and the report says `verified: false` with the reason.
    /// Failures while waiting come after the provider took the request (`accepted`), so no fallback acts again.
    public func power(_ action: ProviderPowerAction, _ connection: ProviderConnection) async throws -> ProviderPowerReport {
        let driver = await driver(for: connection)
        let serverId = connection.serverId
        let started = ContinuousClock.now
        let name = "\(action.rawValue) of \(driver.provider.rawValue) server \(serverId)"
        var steps: [String] = []
        var checks = 0
        func send(_ native: ProviderPowerAction) async throws {
            do {
                try await driver.sendPower(native, serverId: serverId)
                steps.append(native.rawValue)
            } catch let error as ProviderError where error.isAmbiguous {
                let current = try await driver.status(serverId: serverId)
                checks += 1
                logger.warning("unclear provider answer; state read before deciding", metadata: [
                    "provider": "\(driver.provider.rawValue)", "action": "\(native.rawValue)", "state": "\(current.providerState)",
                ])
                // Already where the action leads (or on its way): it was applied. Otherwise it is safe to send once more.
                let applied = current.state == native.expectedState
                    || (native.expectedState == .off && current.state == .poweringOff)
                    || (native.expectedState == .on && [.poweringOn, .rebooting].contains(current.state) )
                if applied && native != .reboot && native != .reset {
                    steps.append("\(native.rawValue) (applied despite \(error.agentError.code))")
                    return
                }
                if native == .reboot || native == .reset { throw error }
                try await driver.sendPower(native, serverId: serverId)
                steps.append("\(native.rawValue) (sent again after reading \(current.providerState))")
            }
        }
        func wait(_ state: ProviderPowerState) async throws -> ProviderServerStatus {
            do {
                let (status, reads) = try await waiter.state(state, of: serverId, driver: driver)
                checks += reads
                steps.append("verified \(status.providerState)")
                return status
            } catch {
                throw DeviceActionFailure.afterAcceptance(name, error)
            }
        }
        func report(_ final: ProviderServerStatus, emulated: Bool, evidence: String?, reason: String? = nil) -> ProviderPowerReport {
            ProviderPowerReport(
                action: action.rawValue, powerState: final.state.seedWord, providerState: final.providerState, verified: evidence != nil,
                evidence: evidence, reason: reason, emulated: emulated, steps: steps, checks: checks,
                seconds: ((ContinuousClock.now - started).inSeconds * 1000).rounded() / 1000)
        }
        let emulated = !driver.nativePowerActions.contains(action)
        let before = try await driver.status(serverId: serverId)
        checks += 1
        // On, off and shutdown of a server already there change nothing (and some providers refuse them).
        if [.on, .off, .shutdown].contains(action), before.state == action.expectedState {
            steps.append("already \(before.providerState)")
            return report(before, emulated: false, evidence: "state read \(before.providerState) before anything was sent")
        }
        if !emulated, action == .reset || action == .reboot {
            try await send(action)
            let restart = try await waitForRestart(driver, serverId: serverId, name: name)
            checks += restart.checks
            steps += restart.steps
            return report(restart.final, emulated: false, evidence: restart.evidence, reason: restart.reason)
        }
        var final: ProviderServerStatus
        var evidence: String
        if !emulated {
            try await send(action)
            final = try await wait(action.expectedState)
            evidence = "state read back \(final.providerState)"
        } else {
            // Composed: bring the server down with what the provider has, then (for reboot and reset) up again.
            let stop: ProviderPowerAction
            switch action {
            case .off, .reset: stop = driver.nativePowerActions.contains(.off) ? .off : .shutdown
            case .reboot, .shutdown: stop = driver.nativePowerActions.contains(.shutdown) ? .shutdown : .off
            case .on: throw ProviderError.unsupported(driver.provider, operation: "power on")
            }
            if before.state == .off {
                final = before
                steps.append("already \(before.providerState)")
                evidence = "state read \(before.providerState)"
            } else {
                try await send(stop)
                final = try await wait(.off)
                evidence = "state read back \(final.providerState)"
            }
            if action.expectedState == .on {
                do {
                    try await send(.on)
                } catch {
                    throw DeviceActionFailure.afterAcceptance(name, error)
                }
                final = try await wait(.on)
                evidence += ", then \(final.providerState)"
            }
        }
        guard final.state == action.expectedState else {
            throw ProviderError.verificationFailed(driver.provider, expected: action.expectedState.rawValue, actual: final.providerState)
        }
        return report(final, emulated: emulated, evidence: evidence)
    }

    /// What the agent saw after a native reset or reboot.
    struct RestartObservation {
        var final: ProviderServerStatus
        var evidence: String?
        var reason: String?
        var checks = 0
        var steps: [String] = []
    }

    /// After a native reset or reboot: reads the state until it was seen leaving "on" and back on (evidence). A
    /// server still reading "on" after `restartEvidenceSeconds` gave no evidence: the observation says why,
    /// unverified. One seen leaving "on" is followed until it is back, up to the wait timeout.
    private func waitForRestart(_ driver: any ProviderDriver, serverId: String, name: String) async throws -> RestartObservation {
        let started = ContinuousClock.now
        let evidenceDeadline = started + .seconds(settings.restartEvidenceSeconds)
        let deadline = started + waiter.timeout
        var left: ProviderServerStatus?
        var checks = 0
        var steps: [String] = []
        var status: ProviderServerStatus
        do {
            while true {
                status = try await driver.status(serverId: serverId)
                checks += 1
                if status.state != .on, left == nil {
                    left = status
                    steps.append("seen \(status.providerState)")
                }
                if let left, status.state == .on {
                    steps.append("verified \(status.providerState)")
                    return RestartObservation(
                        final: status, evidence: "state went \(left.providerState), then \(status.providerState)", checks: checks, steps: steps)
                }
                guard ContinuousClock.now + waiter.interval < (left == nil ? min(evidenceDeadline, deadline) : deadline) else { break }
                try await Task.sleep(for: waiter.interval)
            }
        } catch {
            throw DeviceActionFailure.afterAcceptance(name, error)
        }
        guard left == nil else {
            throw DeviceActionFailure.afterAcceptance(
                name, ProviderError.timedOut(driver.provider, waitingFor: "state on", lastState: status.providerState))
        }
        return RestartObservation(
            final: status, evidence: nil,
            reason: "the provider accepted the \(name.split(separator: " ").first ?? "reset") but its state read \(status.providerState) at every "
                + "check for \(Int((ContinuousClock.now - started).inSeconds.rounded())) s: no evidence that the server restarted",
            checks: checks, steps: steps)
    }

    /// Reinstalls and waits for the end; a password the provider generated comes back apart from the details.
    public func reinstall(_ request: ProviderReinstallRequest, _ connection: ProviderConnection,
                          progress: @escaping @Sendable (String, Double?) async -> Void) async throws -> ProviderReinstallResult {
        let driver = await driver(for: connection)
        return try await driver.reinstall(request, serverId: connection.serverId, waiter: waiter, progress: progress)
    }
}

/// What a verified provider power action reports (shaped like the IPMI report).
public struct ProviderPowerReport: Sendable, Codable, Equatable {
    public var action: String
    public var powerState: ServerPowerState
    public var providerState: String
    public var verified: Bool
    /// What proved the change: the state read back (for a restart: seen leaving "on" and back).
    public var evidence: String?
    /// Why the change is not verified.
    public var reason: String?
    /// True when the provider lacks the call and the agent composed it.
    public var emulated: Bool
    public var steps: [String]
    public var checks: Int
    public var seconds: Double

    public init(action: String, powerState: ServerPowerState, providerState: String, verified: Bool, evidence: String?, reason: String?, emulated: Bool,
                steps: [String], checks: Int, seconds: Double) {
        self.action = action
        self.powerState = powerState
        self.providerState = providerState
        self.verified = verified
        self.evidence = evidence
        self.reason = reason
        self.emulated = emulated
        self.steps = steps
        self.checks = checks
        self.seconds = seconds
    }
}

/// One token bucket per provider account, shared by all its servers.
actor ProviderRateLimits {
    private var buckets: [String: TokenBucket] = [:]

    func bucket(for account: String, ratePerSecond: Double, capacity: Double) -> TokenBucket {
        if let bucket = buckets[account] { return bucket }
        let bucket = TokenBucket(ratePerSecond: ratePerSecond, capacity: capacity)
        buckets[account] = bucket
        return bucket
    }
}
