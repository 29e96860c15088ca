import AgentCore
import Foundation
import Logging
import Metrics

/// Runs ipmitool against BMCs, gently:
/// - one command at a time per BMC address (bursts crash BMCs), with a minimum gap between two commands;
/// - at most `maxConcurrentCommands` ipmitool processes in total;
/// - every call bounded by a timeout that kills the whole process group;
/// - the password only in the child's environment, never in argv or logs;
/// - the agent's own commands with a manufacturer registry of one entry (``IPMIToolHome``), which saves ipmitool most
///   of its start-up.
public final class IPMIExecutor: Sendable {
    /// Whether a command's output must name manufacturers as ipmitool normally does.
    public enum ManufacturerNames: Sendable {
        /// The agent parses the output, and no part it reads names a manufacturer: ipmitool runs with
        /// ``IPMIToolHome``.
        case unused
        /// The output goes to an operator as ipmitool printed it (a custom command): ipmitool reads the system's
        /// registry, so `mc info` says "Manufacturer Name : Super Micro Computer Inc.", not "Unknown (0x2A7C)".
        case shown
    }

    let runner: any CommandRunner
    let settings: IPMIConfiguration
    let scratch: ScratchDirectory
    let logger: Logger
    /// nil when `oneEntryManufacturerRegistry` is off or it could not be written (logged at start): every command then
    /// reads the system's registry.
    public let toolHome: IPMIToolHome?
    private let turns: DeviceTurns
    private let durationTimer = Timer(label: "rackagent_ipmi_command_duration_seconds")

    public init(runner: any CommandRunner, settings: IPMIConfiguration, scratch: ScratchDirectory, logger: Logger) {
        self.runner = runner
        self.settings = settings
        self.scratch = scratch
        self.logger = logger
        toolHome = settings.oneEntryManufacturerRegistry ? Self.prepareToolHome(in: scratch, logger: logger) : nil
        turns = DeviceTurns(minimumGapSeconds: settings.minimumGapSeconds, maximumConcurrent: settings.maxConcurrentCommands)
    }

    /// The home, or nil (logged) when it cannot be written: ipmitool then reads the system's registry, slower only.
    private static func prepareToolHome(in scratch: ScratchDirectory, logger: Logger) -> IPMIToolHome? {
        do {
            return try IPMIToolHome.prepare(in: scratch)
        } catch {
            logger.warning(
                "ipmitool will read the system's manufacturer registry at every start, which costs most of its CPU",
                metadata: ["error": "\(error)"])
            return nil
        }
    }

    /// Runs `command` (ipmitool arguments after the connection options) and returns stdout.
    /// Failures are classified into ``IPMIError``.
    public func run(_ command: [String], on connection: IPMIConnection, manufacturerNames: ManufacturerNames = .unused) async throws -> String {
        try await serialised(on: connection) {
            try await self.execute(command, on: connection, manufacturerNames: manufacturerNames)
        }
    }

    /// Runs several commands through an ipmitool `exec` file so that the secrets in them (a new user password) stay
    /// off the command line. The file (0600, in the agent's scratch directory) exists only while ipmitool runs: it
    /// is written after the BMC's turn has come, not while the command waits for it.
    public func runSecretBearing(
        _ lines: [[String]], on connection: IPMIConnection, manufacturerNames: ManufacturerNames = .unused
    ) async throws -> String {
        let text = try lines.map(ExecFileLine.render).joined(separator: "\n") + "\n"
        return try await serialised(on: connection) {
            try await self.scratch.withFile("ipmi-exec", contents: Data(text.utf8)) { path in
                try await self.execute(["exec", path], on: connection, manufacturerNames: manufacturerNames, redacting: lines.flatMap { $0 })
            }
        }
    }

    /// Runs `body` during the BMC's turn (one command at a time, the minimum gap, a global permit).
    func serialised<Value: Sendable>(on connection: IPMIConnection, _ body: () async throws -> Value) async throws -> Value {
        try await turns.withTurn(on: connection.address, body)
    }

    /// ipmitool's environment: the password, and ``IPMIToolHome`` unless the output must name manufacturers.
    func environment(_ line: IPMICommandLine, _ manufacturerNames: ManufacturerNames) -> [String: String] {
        guard manufacturerNames == .unused, let toolHome else { return line.environment }
        return line.environment.merging(toolHome.environment) { current, _ in current }
    }

    private func execute(
        _ command: [String], on connection: IPMIConnection, manufacturerNames: ManufacturerNames, redacting extra: [String] = []
    ) async throws -> String {
        let line = IPMICommandLine(connection: connection, defaults: settings)
        let timeout = Duration.seconds(line.timeoutSeconds)
        let started = ContinuousClock.now
        let result = try await runner.run(
            ProcessCommand(settings.ipmitoolPath, line.arguments(command), environment: environment(line, manufacturerNames), timeout: timeout))
        durationTimer.recordSeconds((ContinuousClock.now - started).inSeconds)
        let redactor = Redactor(secrets: [connection.password]).adding(extra.count > 0 ? secretsIn(extra) : [])
        if result.timedOut {
            logger.warning("ipmitool timed out", metadata: ["bmc": "\(connection.address)", "command": "\(command.first ?? "")"])
            throw IPMIError.timeout(bmc: connection.address, seconds: line.timeoutSeconds)
        }
        let output = result.standardOutput
        guard result.exitCode == 0 else {
            let errorText = redactor.redact(result.standardError + "\n" + output)
            if IPMIErrorClassifier.isSessionFailure(errorText) {
                throw await diagnoseSessionFailure(connection: connection, line: line, fallback: errorText)
            }
            throw IPMIErrorClassifier.classify(errorText, bmc: connection.address)
        }
        return output
    }

    /// "Unable to establish a session" hides whether the password or the network is at fault; one verbose
    /// probe (same gate, same credentials) tells them apart.
    private func diagnoseSessionFailure(connection: IPMIConnection, line: IPMICommandLine, fallback: String) async -> IPMIError {
        let probe = try? await runner.run(
            ProcessCommand(
                settings.ipmitoolPath, line.arguments(["chassis", "power", "status"], verbose: true), environment: environment(line, .unused),
                timeout: .seconds(line.timeoutSeconds)))
        let text = Redactor(secrets: [connection.password]).redact((probe?.standardError ?? "") + "\n" + fallback)
        if probe?.timedOut == true { return .unreachable(bmc: connection.address, detail: "no answer within \(line.timeoutSeconds) s") }
        return IPMIErrorClassifier.classify(text, bmc: connection.address)
    }

    /// The secret among exec-file tokens: what follows `password <slot>`.
    private func secretsIn(_ tokens: [String]) -> [Secret] {
        var secrets: [Secret] = []
        for (index, token) in tokens.enumerated() where token == "password" && index + 2 < tokens.count {
            secrets.append(Secret(tokens[index + 2]))
        }
        return secrets
    }
}
