import AgentCore
import Foundation
import Logging

/// What a change did (or, with dryRun, would do).
public struct SwitchChangeResult: Sendable, Codable, Equatable {
    public var changed: Bool
    public var dryRun: Bool
    public var message: String
    public var commands: [String]
    public var before: JSONValue
    public var after: JSONValue?
    public var snapshotId: Int64?
}

/// Switch management over SSH: read → diff → apply → verify for interfaces and VLANs, with configuration
/// snapshots before changes and a redacted transcript of every action in the action log.
public final class SwitchService: Sendable {
    public let pool: SwitchSessionPool
    public let store: SwitchStore
    let actionLog: ActionLog
    let logger: Logger

    public init(pool: SwitchSessionPool, store: SwitchStore, actionLog: ActionLog, logger: Logger) {
        self.pool = pool
        self.store = store
        self.actionLog = actionLog
        self.logger = logger
    }

    public static func dialect(_ vendor: String) throws -> any SwitchDialect {
        guard let dialect = SwitchDialects.dialect(for: vendor) else {
            throw AgentError.invalidField("managementVendor", "one of \(SwitchDialects.vendors.joined(separator: ", "))")
        }
        return dialect
    }

    public func interface(_ target: SwitchTarget, name: String) async throws -> SwitchInterface {
        let dialect = try Self.dialect(target.vendor)
        try dialect.validateInterfaceName(name, field: "portId")
        return try await withTranscript(target, action: "getInterface \(name)", jobId: nil) { cli in
            try await dialect.readInterface(name, using: cli)
        }
    }

    public func vlans(_ target: SwitchTarget) async throws -> [SwitchVLAN] {
        let dialect = try Self.dialect(target.vendor)
        return try await withTranscript(target, action: "getVlans", jobId: nil) { cli in try await dialect.readVLANs(using: cli) }
    }

    /// Reads the interface, plans the fewest commands, applies them, reads back and compares; a request already
    /// satisfied changes nothing.
    public func changeInterface(_ target: SwitchTarget, name: String, change: InterfaceChange, dryRun: Bool, jobId: String?) async throws -> SwitchChangeResult {
        let dialect = try Self.dialect(target.vendor)
        try dialect.validateInterfaceName(name, field: "portId")
        return try await withTranscript(target, action: "interface \(name)", jobId: jobId) { cli in
            let current = try await dialect.readInterface(name, using: cli)
            let desired = change.desired(from: current)
            let commands = dialect.interfaceCommands(from: current, to: desired)
            return try await self.apply(
                target, dialect: dialect, cli: cli, commands: commands, before: try JSONValue(encoding: current), dryRun: dryRun, jobId: jobId,
                readBack: { session in
                    let after = try await dialect.readInterface(name, using: session)
                    return (try JSONValue(encoding: after), change.mismatches(desired, after))
                },
                reverse: { after in
                    guard let actual = try? after.decode(as: SwitchInterface.self) else { return [] }
                    return dialect.interfaceCommands(from: actual, to: current)
                })
        }
    }

    /// createVlan (refused when the VLAN exists with other settings) and updateVlan (the VLAN must exist).
    public func changeVLAN(_ target: SwitchTarget, change: VLANChange, dryRun: Bool, jobId: String?) async throws -> SwitchChangeResult {
        let dialect = try Self.dialect(target.vendor)
        return try await withTranscript(target, action: "vlan \(change.id)", jobId: jobId) { cli in
            let vlans = try await dialect.readVLANs(using: cli)
            let current = vlans.first { $0.id == change.id }
            if !change.create, current == nil { throw SwitchError.notFound(device: target.label, what: "VLAN \(change.id)") }
            let desired = change.desired(from: current)
            if change.create, let current, current != desired { throw SwitchError.vlanExists(device: target.label, id: change.id) }
            let commands = dialect.vlanCommands(from: current, to: desired)
            return try await self.apply(
                target, dialect: dialect, cli: cli, commands: commands, before: try current.map { try JSONValue(encoding: $0) } ?? .null,
                dryRun: dryRun, jobId: jobId,
                readBack: { session in
                    let after = try await dialect.readVLANs(using: session).first { $0.id == change.id }
                    var problems: [String] = []
                    if after == nil { problems.append("VLAN \(change.id) is missing") }
                    if let after, after.name != desired.name { problems.append("name is \(after.name)") }
                    if let after, after.l3Ips != desired.l3Ips { problems.append("l3Ips are \(after.l3Ips.joined(separator: ", "))") }
                    return (try after.map { try JSONValue(encoding: $0) } ?? .null, problems)
                },
                reverse: { after in
                    guard let current, let actual = try? after.decode(as: SwitchVLAN.self) else { return [] }
                    return dialect.vlanCommands(from: actual, to: current)
                })
        }
    }

    /// The shared tail: dry run, snapshot, apply, read back, confirm. A command the device refuses half way, or a
    /// read-back that disagrees, puts the device back to how it was read before (verified by reading again); when
    /// that cannot be done the error says the device may be left changed (`rollback_failed`), never "rolled back".
    func apply(
        _ target: SwitchTarget, dialect: any SwitchDialect, cli: CLISession, commands: [String], before: JSONValue, dryRun: Bool, jobId: String?,
        readBack: (CLISession) async throws -> (JSONValue, [String]), reverse: (JSONValue) -> [String]
    ) async throws -> SwitchChangeResult {
        guard !commands.isEmpty else {
            return SwitchChangeResult(changed: false, dryRun: dryRun, message: "already as requested; nothing sent", commands: [], before: before, after: before, snapshotId: nil)
        }
        if dryRun {
            return SwitchChangeResult(changed: false, dryRun: true, message: "dry run: \(commands.count) commands not sent", commands: commands, before: before, after: nil, snapshotId: nil)
        }
        // Stored with every configuration secret masked: a snapshot is for reading what changed, never a copy of keys.
        let configuration = SwitchTextRedactor(secrets: target.secrets).redact(try await cli.run(dialect.runningConfigurationCommand))
        let snapshot = try await store.saveSnapshot(deviceId: target.deviceId, jobId: jobId, vendor: dialect.vendor, content: configuration)
        let script = dialect.applyScript(commands, job: jobId ?? "cli")
        do {
            for line in script { _ = try await cli.run(line) }
        } catch SwitchError.commandRejected(let device, let command, let message) {
            let outcome = try await restore(
                target, dialect: dialect, cli: cli, before: before, readBack: readBack, reverse: reverse, jobId: jobId,
                failure: "\(device) rejected `\(command)`: \(message)")
            throw SwitchError.commandRejected(device: device, command: command, message: "\(message) (\(outcome))")
        } catch let error where !(error is CancellationError) {
            // A timeout or a dropped session half way: some lines may have taken, and the session is out of step (a
            // late prompt would answer the next command). The device is read and put back through a new session.
            let failure = AgentError.from(error).message
            let outcome = try await restoreThroughNewSession(
                target, dialect: dialect, before: before, readBack: readBack, reverse: reverse, jobId: jobId, failure: failure)
            throw SwitchError.changeInterrupted(device: target.label, failure: failure, outcome: outcome)
        }
        let after: JSONValue
        let problems: [String]
        do {
            (after, problems) = try await readBack(cli)
        } catch let error where !(error is CancellationError) {
            let failure = "reading the change back failed: \(AgentError.from(error).message)"
            let outcome = try await restoreThroughNewSession(
                target, dialect: dialect, before: before, readBack: readBack, reverse: reverse, jobId: jobId, failure: failure)
            throw SwitchError.changeInterrupted(device: target.label, failure: failure, outcome: outcome)
        }
        guard problems.isEmpty else {
            let failure = problems.joined(separator: "; ")
            let outcome = try await restore(
                target, dialect: dialect, cli: cli, before: before, readBack: readBack, reverse: reverse, jobId: jobId, failure: failure, committed: true)
            throw SwitchError.verifyFailed(device: target.label, detail: "\(failure) (\(outcome))")
        }
        for line in dialect.confirmScript { _ = try await cli.run(line) }
        return SwitchChangeResult(
            changed: true, dryRun: false, message: "\(commands.count) commands applied and verified", commands: commands, before: before, after: after,
            snapshotId: snapshot)
    }

    /// ``restore`` on a new connection (the one the change ran on is out of step or gone); its configuration mode died
    /// with it. When no new connection can be had, the error says the device may be left changed.
    func restoreThroughNewSession(
        _ target: SwitchTarget, dialect: any SwitchDialect, before: JSONValue, readBack: (CLISession) async throws -> (JSONValue, [String]),
        reverse: (JSONValue) -> [String], jobId: String?, failure: String
    ) async throws -> String {
        do {
            return try await pool.withUnpooledCLI(target, dialect: dialect) { fresh in
                try await restore(
                    target, dialect: dialect, cli: fresh, before: before, readBack: readBack, reverse: reverse, jobId: jobId, failure: failure,
                    committed: true)
            }
        } catch let error as SwitchError {
            if case .rollbackFailed = error { throw error }
            throw SwitchError.rollbackFailed(device: target.label, failure: failure, detail: "no new session to put it back: \(error.agentError.message)")
        }
    }

    /// Brings the device back to `before` after `failure`: leaves configuration mode (discarding what was not
    /// committed), reads the device, and when it differs undoes the difference and reads again. Returns what it
    /// did ("nothing had changed", "rolled back, verified"); throws ``SwitchError/rollbackFailed`` when the device could
    /// not be brought back or read.
    func restore(
        _ target: SwitchTarget, dialect: any SwitchDialect, cli: CLISession, before: JSONValue,
        readBack: (CLISession) async throws -> (JSONValue, [String]), reverse: (JSONValue) -> [String], jobId: String?, failure: String,
        committed: Bool = false
    ) async throws -> String {
        func failed(_ detail: String) -> SwitchError { .rollbackFailed(device: target.label, failure: failure, detail: detail) }
        if !committed {
            for line in dialect.abortScript {
                do {
                    _ = try await cli.run(line)
                } catch {
                    throw failed("leaving configuration mode failed: \(AgentError.from(error).message)")
                }
            }
        }
        let current: JSONValue
        do {
            current = try await readBack(cli).0
        } catch {
            throw failed("cannot read the device after the failure: \(AgentError.from(error).message)")
        }
        guard current != before else { return "nothing had changed" }
        let undo = dialect.rollbackScript ?? {
            let lines = reverse(current)
            return lines.isEmpty ? [] : dialect.applyScript(lines, job: jobId ?? "cli")
        }()
        guard !undo.isEmpty else { throw failed("no commands found to undo \(current.jsonText)") }
        for line in undo {
            do {
                _ = try await cli.run(line)
            } catch {
                throw failed("`\(line)` failed: \(AgentError.from(error).message)")
            }
        }
        let restored: JSONValue
        do {
            restored = try await readBack(cli).0
        } catch {
            throw failed("cannot read the device after the rollback: \(AgentError.from(error).message)")
        }
        guard restored == before else { throw failed("after the rollback the device reads \(restored.jsonText), before it read \(before.jsonText)") }
        return "rolled back, verified"
    }

    /// One command on the CLI session (diagnostics: `rackagent switch run`); configuration secrets in the output are masked.
    public func run(_ target: SwitchTarget, command: String) async throws -> String {
        try Validation.noControlCharacters(command, field: "command")
        let output = try await withTranscript(target, action: "run", jobId: nil) { cli in try await cli.run(command) }
        return SwitchTextRedactor(secrets: target.secrets).redact(output).trimmingCharacters(in: .newlines)
    }

    /// One command on an exec channel (no shell): exit status, stdout, stderr, configuration secrets masked.
    public func exec(_ target: SwitchTarget, command: String) async throws -> SSHExecResult {
        var result = try await pool.withSession(target) { session in
            try await session.exec(command, timeout: .milliseconds(Int64(pool.settings.commandTimeoutSeconds * 1000)))
        }
        let redactor = SwitchTextRedactor(secrets: target.secrets)
        result.standardOutput = redactor.redact(result.standardOutput)
        result.standardError = redactor.redact(result.standardError)
        return result
    }

    /// Runs `body` on the device's CLI and keeps what was sent and received (redacted) in the action log.
    func withTranscript<Value: Sendable>(_ target: SwitchTarget, action: String, jobId: String?, _ body: (CLISession) async throws -> Value) async throws -> Value {
        let dialect = try Self.dialect(target.vendor)
        let redactor = SwitchTextRedactor(secrets: target.secrets)
        var start = 0
        var captured: [TranscriptLine] = []
        do {
            let value = try await pool.withCLI(target, dialect: dialect) { cli in
                start = cli.transcript.count
                defer { captured = Array(cli.transcript.dropFirst(start)) }
                return try await body(cli)
            }
            try await record(target, action: action, jobId: jobId, lines: captured, redactor: redactor, error: nil)
            return value
        } catch {
            do {
                try await record(target, action: action, jobId: jobId, lines: captured, redactor: redactor, error: error)
            } catch let recording {
                logger.error("cannot keep the transcript of a failed switch action", metadata: [
                    "device": "\(target.deviceId)", "action": "\(action)", "error": "\(recording)",
                ])
            }
            throw error
        }
    }

    func record(_ target: SwitchTarget, action: String, jobId: String?, lines: [TranscriptLine], redactor: SwitchTextRedactor, error: (any Error)?) async throws {
        let sent = lines.map(\.sent).filter { !$0.isEmpty }
        guard !sent.isEmpty || error != nil else { return }
        let transcript = lines.map { line -> JSONValue in
            ["sent": .string(redactor.redact(line.sent)), "received": .string(redactor.redact(String(line.received.prefix(4000))))]
        }
        var meta: [String: JSONValue] = [
            "text": .string(action), "vendor": .string(target.vendor), "commands": .array(sent.map { .string(redactor.redact($0)) }),
            "transcript": .array(transcript),
        ]
        if let jobId { meta["jobId"] = .string(jobId) }
        if let error { meta["error"] = .string(redactor.redact(AgentError.from(error).message)) }
        try await actionLog.append(ActionLogEntry(
            rootType: "networkDevice", rootId: target.deviceId, description: "SSH \(action)" + (error == nil ? "" : " failed"),
            loglevel: error == nil ? .info : .error, meta: .object(meta)))
    }
}
