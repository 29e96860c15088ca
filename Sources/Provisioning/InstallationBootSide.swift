import AgentCore
import Foundation
import Logging

/// What booting servers reach: the per-MAC boot script, the rendered files behind an installation's token, and
/// the callbacks (progress, events, inventory). Every request is bound to the installation's token and to its
/// server's address; a wrong token, a finished installation or another address is a plain 404 and a log line
/// (throttled: a booting machine or a scanner can cause them at will).
struct InstallationBootSide: Sendable {
    let database: AgentDatabase
    let ledger: InstallationLedger
    let settings: InstallationSettings
    let refusals: LogThrottle
    let logger: Logger
    /// Ends an installation (the manager's ending: driver stopped, clean-up, final record).
    let finish: @Sendable (_ serverId: String, _ state: InstallationState, _ message: String) async throws -> Void

    /// The iPXE script for a MAC with a running installation that has not reached its installer yet.
    func bootScript(for mac: MACAddress, architecture: BootArchitecture, clientAddress: String?) async throws -> String? {
        guard let record = try await database.writer.read({ db in try InstallationStore.running(mac: mac, in: db) }),
            record.servesBootScript, let script = record.files["ipxe"]
        else { return nil }
        guard record.allows(clientAddress) else {
            refusals.log(logger, level: .warning, kind: "script-address", "boot script refused: wrong client address", metadata: [
                "mac": "\(mac)", "client": "\(clientAddress ?? "-")", "expected": "\(record.allowedAddress ?? "-")",
            ])
            return nil
        }
        try await ledger.update(record.serverId) { $0.bootScriptFetched(by: clientAddress, architecture: architecture) }
        return script.content
    }

    /// A file by boot path; the first fetch of an answer file means the installer started.
    func file(token: String, path: String, clientAddress: String?, now: Date) async throws -> RenderedFile {
        let record = try await authorized(token: token, clientAddress: clientAddress, purpose: path, now: now, afterCompletion: path.hasPrefix("script/"))
        guard let file = record.files[path] else { throw AgentError.notFound("installation file", path) }
        if record.startsInstaller(path) {
            try await ledger.update(record.serverId) { $0.installerStarted(path: path, by: clientAddress) }
        }
        return file
    }

    /// A progress report; `step=failed` fails the installation.
    func progress(token: String, step: String?, message: String?, clientAddress: String?, now: Date) async throws {
        let record = try await authorized(token: token, clientAddress: clientAddress, purpose: "progress", now: now, afterCompletion: true)
        let text = InstallationRecord.sanitize(message ?? step ?? "progress")
        if step == "failed", record.isRunning {
            try await finish(record.serverId, .failed, "reported by the server: \(text)")
            return
        }
        try await ledger.update(record.serverId) { $0.progressReported(step: step, message: text) }
    }

    /// An event; the kind's completion event completes the installation.
    func done(token: String, event: String?, clientAddress: String?, now: Date) async throws {
        let record = try await authorized(token: token, clientAddress: clientAddress, purpose: "done", now: now, afterCompletion: true)
        let event = InstallationRecord.sanitize(event ?? "done")
        if record.completes(on: event) {
            try await finish(record.serverId, .completed, "completed (\(event))")
            return
        }
        try await ledger.update(record.serverId) { $0.eventReported(event) }
    }

    /// A hardware report: normalised, kept, sent as `inventory.collected`; it completes a hardware detection.
    func inventory(token: String, report: JSONValue, clientAddress: String?, now: Date) async throws -> JSONValue {
        let record = try await authorized(token: token, clientAddress: clientAddress, purpose: "inventory", now: now, afterCompletion: true)
        let inventory = try HardwareInventory.normalize(report)
        try await ledger.putInventory(record.serverId, inventory, at: now)
        if record.isRunning, record.kind == .hardwareDetection {
            try await finish(record.serverId, .completed, "inventory collected")
        } else {
            try await ledger.update(record.serverId) { $0.record($0.step, "inventory collected") }
        }
        return inventory
    }

    /// The record behind a token, or a 404 (logged) when the token is unknown, its installation is over, or the
    /// request comes from another address.
    func authorized(token: String, clientAddress: String?, purpose: String, now: Date, afterCompletion: Bool) async throws -> InstallationRecord {
        guard token.count == 48, token.allSatisfy(\.isHexDigit),
            let record = try await database.writer.read({ db in try InstallationStore.byToken(token, in: db) })
        else {
            refusals.log(logger, level: .warning, kind: "unknown-token", "boot URL with an unknown token refused", metadata: [
                "purpose": "\(purpose)", "client": "\(clientAddress ?? "-")",
            ])
            throw InstallationError.unknownToken
        }
        guard record.acceptsBootRequests(afterCompletion: afterCompletion, graceMinutes: settings.completionGraceMinutes, now: now) else {
            refusals.log(logger, level: .warning, kind: "finished-\(record.serverId)", "boot URL of a finished installation refused", metadata: [
                "serverId": "\(record.serverId)", "purpose": "\(purpose)", "state": "\(record.state.rawValue)",
            ])
            throw InstallationError.unknownToken
        }
        guard record.allows(clientAddress) else {
            refusals.log(logger, level: .warning, kind: "address-\(record.serverId)", "boot URL refused: wrong client address", metadata: [
                "serverId": "\(record.serverId)", "purpose": "\(purpose)", "client": "\(clientAddress ?? "-")", "expected": "\(record.allowedAddress ?? "-")"])
            throw InstallationError.unknownToken
        }
        return record
    }
}
