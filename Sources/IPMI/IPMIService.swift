import AgentCore
import Foundation

extension PowerChange {
    /// The chassis state read-back must find.
    public var expectedState: ChassisPower { endsOn ? .on : .off }
}

/// What a verified boot-device change found.
public struct BootDeviceReport: Sendable, Codable, Equatable {
    public var result = "executed"
    public var device: String
    public var efi: Bool
    public var persistent: Bool
    /// What the BMC stored, read back from `chassis bootparam get 5`.
    public var stored: BootFlags
}

/// A BMC reset the agent saw the BMC come back from.
public struct BMCResetReport: Sendable, Codable, Equatable {
    /// Always `executed`, as in the other reports.
    public var result = "executed"
    /// `warm` or `cold`.
    public var reset: String
    /// True: the BMC answered `mc info` again after the reset.
    public var verified: Bool
    /// From the reset command to the BMC's first answer.
    public var seconds: Double
}

/// Power, boot device, BMC reset, custom commands and inventory reads for one BMC at a time.
public struct IPMIService: Sendable {
    public let executor: IPMIExecutor
    let settings: IPMIConfiguration

    public init(executor: IPMIExecutor, settings: IPMIConfiguration) {
        self.executor = executor
        self.settings = settings
    }

    public func powerStatus(_ connection: IPMIConnection) async throws -> ChassisPower {
        let output = try await executor.run(["chassis", "power", "status"], on: connection)
        guard let state = IPMIOutputParser.chassisPower(output) else {
            throw IPMIError.commandFailed(bmc: connection.address, detail: "unexpected power status output: \(output.prefix(200))")
        }
        return state
    }

    /// Sends the power command and verifies it before the deadline (`ipmi.verifyDeadlineSeconds`): on, off and
    /// soft by reading the power state back; reset and cycle only by evidence that the machine restarted (power
    /// seen off and on again, the restart cause changed to a chassis control command, or a new restart event in
    /// the SEL). A reset that left no trace is reported `verified: false` with the reason, never guessed.
    ///
    /// Errors say what the BMC did: refused before the command (`untouched`), or accepted it (`accepted`).
    public func setPower(_ action: PowerChange, _ connection: IPMIConnection) async throws -> PowerChangeReport {
        let started = ContinuousClock.now
        let name = "chassis power \(action.rawValue) on BMC \(connection.address)"
        let baseline: RestartBaseline?
        do {
            baseline = action.restarts ? try await restartBaseline(connection) : nil
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.beforeSending(name, error)
        }
        // The deadline counts from the command, not from the (best-effort, possibly slow) baseline reads.
        let deadline = ContinuousClock.now + .seconds(settings.verifyDeadlineSeconds)
        do {
            _ = try await executor.run(["chassis", "power", action.rawValue], on: connection)
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.whileSending(name, error)
        }
        do {
            if let baseline { return try await verifyRestart(action, since: baseline, connection, started: started, deadline: deadline) }
            let (state, checks) = try await poll(connection, until: action.expectedState, deadline: deadline)
            guard state == action.expectedState else {
                throw IPMIError.verificationFailed(bmc: connection.address, expected: action.expectedState.seedWord.rawValue, actual: state.seedWord.rawValue)
            }
            return PowerChangeReport(
                action: action.rawValue, powerState: state.seedWord, verified: true, evidence: "power read back \(state.rawValue)",
                reason: nil, checks: checks, seconds: Self.seconds(since: started))
        } catch let error as IPMIError where error.deviceEffect != .accepted {
            throw DeviceActionFailure.afterAcceptance(name, error)
        }
    }

    private func poll(_ connection: IPMIConnection, until expected: ChassisPower, deadline: ContinuousClock.Instant) async throws -> (ChassisPower, Int) {
        var delay = Duration.milliseconds(250)
        var checks = 0
        while true {
            checks += 1
            let state: ChassisPower
            do {
                state = try await powerStatus(connection)
            } catch let error where !(error is CancellationError) && ContinuousClock.now + delay <= deadline {
                // A missed read is no verdict; the next one is (until the deadline).
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
                continue
            }
            if state == expected || ContinuousClock.now + delay > deadline { return (state, checks) }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }

    /// What the BMC says about past restarts before a reset or cycle: later readings are compared with it.
    struct RestartBaseline {
        /// nil when the BMC does not implement Get System Restart Cause, or did not answer it (`causeUnread`).
        var cause: String?
        /// Why the restart cause could not be read before the command (a busy or slow BMC); nil when it was read or the
        /// BMC does not implement it.
        var causeUnread: String?
        /// nil when the BMC has no SEL.
        var sel: SELMark?
    }

    /// The baseline is evidence, not a precondition: a reading the BMC does not give (busy, slow, an odd failure)
    /// leaves that kind of evidence out, and the reset still goes out. Only a BMC that cannot be reached or refuses
    /// the login stops it here, before anything was sent (so a fallback may act).
    private func restartBaseline(_ connection: IPMIConnection) async throws -> RestartBaseline {
        let cause = try await baselineReading { try await restartCause(connection) }
        return RestartBaseline(
            cause: cause.value, causeUnread: cause.failure, sel: try await baselineReading { try await selMark(connection) }.value)
    }

    /// One reading; `failure` says why it is missing when the BMC did not give it (asked once: a second try would
    /// hold the command back by another timeout).
    private func baselineReading<Value>(_ read: () async throws -> Value?) async throws -> (value: Value?, failure: String?) {
        do {
            return (try await read(), nil)
        } catch let error as IPMIError {
            switch error {
            case .unreachable, .authenticationFailed: throw error
            default: return (nil, error.description)
            }
        }
    }

    /// Evidence read while a restart is verified: a read the BMC misses (busy restarting) is no evidence this time
    /// round, not a failure of the verification; cancellation still ends it.
    private func evidenceReading<Value>(_ read: () async throws -> Value?) async throws -> Value? {
        do {
            return try await read()
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return nil
        }
    }

    /// The last restart cause, or nil when the BMC does not implement the command.
    func restartCause(_ connection: IPMIConnection) async throws -> String? {
        try await optionalRead { IPMIOutputParser.restartCause(try await executor.run(["chassis", "restart_cause"], on: connection)) }
    }

    func selMark(_ connection: IPMIConnection) async throws -> SELMark? {
        try await optionalRead { IPMIOutputParser.selMark(try await executor.run(["sel", "info"], on: connection)) }
    }

    /// A read not every BMC implements: the BMC refusing the command means "not available"; a BMC that does not
    /// answer is still an error.
    private func optionalRead<Value>(_ read: () async throws -> Value?) async throws -> Value? {
        do {
            return try await read()
        } catch let error as IPMIError {
            switch error {
            case .unsupportedCommand, .invalidParameter, .commandFailed: return nil
            default: throw error
            }
        }
    }

    /// Polls until the machine shows it restarted or the deadline passes.
    private func verifyRestart(
        _ action: PowerChange, since baseline: RestartBaseline, _ connection: IPMIConnection, started: ContinuousClock.Instant,
        deadline: ContinuousClock.Instant
    ) async throws -> PowerChangeReport {
        var delay = Duration.milliseconds(250)
        var checks = 0
        var sawOff = false
        var state = ChassisPower.on
        var selSeen = baseline.sel
        func verified(_ evidence: String) -> PowerChangeReport {
            PowerChangeReport(
                action: action.rawValue, powerState: state.seedWord, verified: true, evidence: evidence, reason: nil, checks: checks,
                seconds: Self.seconds(since: started))
        }
        while true {
            checks += 1
            // A BMC busy restarting may miss a read: that is no verdict, the next read is (until the deadline).
            do {
                state = try await powerStatus(connection)
            } catch let error where !(error is CancellationError) && ContinuousClock.now + delay <= deadline {
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
                continue
            }
            if state == .off {
                sawOff = true
            } else if sawOff {
                return verified("power read off, then on again")
            }
            if state == .on, let before = baseline.cause, let now = try await evidenceReading({ try await restartCause(connection) }), now != before,
                now == IPMIOutputParser.chassisControlRestartCause
            {
                return verified("restart cause changed from \(before) to \(now)")
            }
            if state == .on, let mark = selSeen, let now = try await evidenceReading({ try await selMark(connection) }), now != mark {
                if let event = try await restartEvent(among: now.entries - mark.entries, connection) {
                    return verified("SEL entry \(event.id): \(event.sensor) \(event.event)")
                }
                selSeen = now
            }
            if ContinuousClock.now + delay > deadline { break }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
        guard state == .on else {
            throw IPMIError.verificationFailed(bmc: connection.address, expected: ChassisPower.on.seedWord.rawValue, actual: state.seedWord.rawValue)
        }
        var looked = ["power read on at every check"]
        looked.append(
            baseline.cause.map { "restart cause still \($0)" } ?? baseline.causeUnread.map { "restart cause not read before the command (\($0))" }
                ?? "no restart cause (not implemented by the BMC)")
        looked.append(baseline.sel == nil ? "no SEL" : "no new restart event in the SEL")
        return PowerChangeReport(
            action: action.rawValue, powerState: state.seedWord, verified: false, evidence: nil,
            reason: "the BMC accepted the \(action.rawValue) but showed no evidence of a restart within \(settings.verifyDeadlineSeconds) s: "
                + looked.joined(separator: ", "),
            checks: checks, seconds: Self.seconds(since: started))
    }

    /// A restart event among the newest `added` SEL entries (at least one, at most 20), if any.
    private func restartEvent(among added: Int, _ connection: IPMIConnection) async throws -> SELEntry? {
        let count = String(max(1, min(added, 20)))
        let entries = try await optionalRead { IPMIOutputParser.selEntries(try await executor.run(["sel", "elist", "last", count], on: connection)) }
        return entries?.last(where: IPMIOutputParser.isRestartEvent)
    }

    static func seconds(since started: ContinuousClock.Instant) -> Double {
        ((ContinuousClock.now - started).inSeconds * 1000).rounded() / 1000
    }

    /// Sets the next boot device and verifies the BMC stored it.
    public func setBootDevice(_ device: BootDevice, efi: Bool, persistent: Bool, _ connection: IPMIConnection) async throws -> BootDeviceReport {
        var options: [String] = []
        if efi { options.append("efiboot") }
        if persistent { options.append("persistent") }
        var command = ["chassis", "bootdev", device.rawValue]
        if !options.isEmpty { command.append("options=" + options.joined(separator: ",")) }
        _ = try await executor.run(command, on: connection)
        let readBack = try await executor.run(["chassis", "bootparam", "get", "5"], on: connection)
        guard let flags = IPMIOutputParser.bootFlags(readBack) else {
            throw IPMIError.commandFailed(bmc: connection.address, detail: "boot parameter 5 could not be read back")
        }
        guard flags.device == device else {
            throw IPMIError.verificationFailed(bmc: connection.address, expected: device.selectorText, actual: flags.deviceSelector)
        }
        if efi, !flags.efi {
            throw IPMIError.verificationFailed(bmc: connection.address, expected: "EFI boot", actual: "legacy boot")
        }
        if persistent, !flags.persistent {
            throw IPMIError.verificationFailed(bmc: connection.address, expected: "all future boots", actual: "next boot only")
        }
        return BootDeviceReport(device: device.rawValue, efi: efi, persistent: persistent, stored: flags)
    }

    /// Resets the BMC (cold by default) and waits, within the verify deadline, until it answers again.
    public func resetBMC(warm: Bool, _ connection: IPMIConnection) async throws -> BMCResetReport {
        let started = ContinuousClock.now
        _ = try await executor.run(["mc", "reset", warm ? "warm" : "cold"], on: connection)
        let deadline = started + .seconds(settings.verifyDeadlineSeconds)
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            do {
                _ = try await executor.run(["mc", "info"], on: connection)
                return BMCResetReport(reset: warm ? "warm" : "cold", verified: true, seconds: Self.seconds(since: started))
            } catch {
                lastError = error
                try await Task.sleep(for: .seconds(2))
            }
        }
        throw lastError ?? IPMIError.unreachable(bmc: connection.address, detail: "did not answer after the reset")
    }

    /// Runs an allowed ipmitool subcommand line and returns its output (the seed's executeCustomCommand).
    public func customCommand(_ line: String, _ connection: IPMIConnection) async throws -> String {
        let tokens = try customCommandTokens(line)
        if CustomCommandPolicy.carriesSecret(tokens) {
            return try await executor.runSecretBearing([tokens], on: connection, manufacturerNames: .shown)
        }
        return try await executor.run(tokens, on: connection, manufacturerNames: .shown)
    }

    /// The tokens of an allowed custom command; throws for one outside the allow-list.
    public func customCommandTokens(_ line: String) throws -> [String] {
        try CustomCommandPolicy(allowRaw: settings.allowRawCommands).check(line)
    }

    /// "online" when the BMC answers a power-status query with these credentials.
    public func testConnection(_ connection: IPMIConnection) async throws -> String {
        _ = try await powerStatus(connection)
        return "online"
    }

    public func sensors(_ connection: IPMIConnection) async throws -> [SensorReading] {
        IPMIOutputParser.sensors(try await executor.run(["sdr", "elist"], on: connection))
    }

    public func selEntries(_ connection: IPMIConnection) async throws -> [SELEntry] {
        let output = try await executor.run(["sel", "elist"], on: connection)
        return IPMIOutputParser.selEntries(output)
    }

    public func clearSEL(_ connection: IPMIConnection) async throws -> String {
        try await executor.run(["sel", "clear"], on: connection).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// FRU devices; a BMC without FRU data yields an empty list rather than an error.
    public func fru(_ connection: IPMIConnection) async throws -> [FRUDevice] {
        do {
            return IPMIOutputParser.fruDevices(try await executor.run(["fru", "print"], on: connection))
        } catch IPMIError.invalidParameter(_, let detail) where detail.contains("Device not present") {
            return []
        }
    }

    public func lanConfiguration(channel: Int, _ connection: IPMIConnection) async throws -> [KeyValue] {
        IPMIOutputParser.keyValues(try await executor.run(["lan", "print", String(channel)], on: connection))
    }
}
