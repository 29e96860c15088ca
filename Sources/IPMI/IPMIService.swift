import AgentCore
import Foundation

/// A chassis power change ipmitool can make, and the state it must lead to.
public enum ChassisPowerAction: String, Sendable, CaseIterable {
    case on, off, soft, reset, cycle

    /// The state read-back must find.
    public var expectedState: ChassisPower {
        switch self {
        case .on, .reset, .cycle: return .on
        case .off, .soft: return .off
        }
    }
}

/// What a verified power change found.
public struct PowerChangeReport: Sendable, Codable, Equatable {
    public var result = "executed"
    public var action: String
    /// The seed's word for the state read back: online or offline.
    public var powerState: String
    public var verified: Bool
    public var checks: Int
    public var seconds: Double
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

    /// Sends the power command, then polls with backoff until the expected state is read back or the
    /// deadline (`ipmi.verifyDeadlineSeconds`) passes.
    public func setPower(_ action: ChassisPowerAction, _ connection: IPMIConnection) async throws -> PowerChangeReport {
        let started = ContinuousClock.now
        _ = try await executor.run(["chassis", "power", action.rawValue], on: connection)
        let (state, checks) = try await poll(connection, until: action.expectedState, deadline: started + .seconds(settings.verifyDeadlineSeconds))
        guard state == action.expectedState else {
            throw IPMIError.verificationFailed(bmc: connection.address, expected: action.expectedState.seedWord, actual: state.seedWord)
        }
        return PowerChangeReport(
            action: action.rawValue, powerState: state.seedWord, verified: true, checks: checks,
            seconds: ((ContinuousClock.now - started).inSeconds * 1000).rounded() / 1000)
    }

    private func poll(_ connection: IPMIConnection, until expected: ChassisPower, deadline: ContinuousClock.Instant) async throws -> (ChassisPower, Int) {
        var delay = Duration.milliseconds(250)
        var checks = 0
        while true {
            checks += 1
            let state = try await powerStatus(connection)
            if state == expected || ContinuousClock.now + delay > deadline { return (state, checks) }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
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
    public func resetBMC(warm: Bool, _ connection: IPMIConnection) async throws -> JSONValue {
        let started = ContinuousClock.now
        _ = try await executor.run(["mc", "reset", warm ? "warm" : "cold"], on: connection)
        let deadline = started + .seconds(settings.verifyDeadlineSeconds)
        var lastError: (any Error)?
        while ContinuousClock.now < deadline {
            do {
                _ = try await executor.run(["mc", "info"], on: connection)
                return [
                    "result": "executed", "reset": .string(warm ? "warm" : "cold"), "verified": true,
                    "seconds": .double(((ContinuousClock.now - started).inSeconds * 1000).rounded() / 1000),
                ]
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
            return try await executor.runSecretBearing([tokens], on: connection)
        }
        return try await executor.run(tokens, on: connection)
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
