import AgentCore
import Foundation
import GRDB

/// Persists the state machine's transitions: each one is a read-modify-write of one record in one SQLite
/// transaction together with its outbox event (and action-log row where the controller's log wants one), so it
/// survives a restart and the controller hears of it exactly as it happened.
struct InstallationLedger: Sendable {
    let database: AgentDatabase
    let outbox: Outbox
    let actionLog: ActionLog

    /// Stores a new installation with its `installation.started` event, refusing a second one for the server or
    /// the MAC.
    func create(_ record: InstallationRecord) async throws {
        try await database.writer.write { db in
            if let existing = try InstallationStore.get(record.serverId, in: db), existing.isRunning {
                throw InstallationError.running(serverId: record.serverId, kind: existing.kind)
            }
            if let mac = record.mac, let other = try InstallationStore.running(mac: mac, in: db) {
                throw InstallationError.macBusy(mac: mac.description, serverId: other.serverId)
            }
            try InstallationStore.put(record, in: db)
            try outbox.append(record.event("installation.started", message: record.progress.last?.message ?? ""), in: db)
            try actionLog.append(
                ActionLogEntry(rootType: "servers", rootId: record.serverId, description: "Installation started",
                               meta: ["kind": .string(record.kind.rawValue), "profile": record.profileName.map(JSONValue.string) ?? .null]),
                in: db)
        }
    }

    /// One transition with its `installation.progress` event; the event's message is the last progress line.
    @discardableResult
    func update(_ serverId: String, _ change: @escaping @Sendable (inout InstallationRecord) throws -> Void) async throws -> InstallationRecord {
        try await database.writer.write { db in
            guard var record = try InstallationStore.get(serverId, in: db) else { throw AgentError.notFound("installation for server", serverId) }
            try change(&record)
            try InstallationStore.put(record, in: db)
            try outbox.append(record.event("installation.progress", message: record.progress.last?.message ?? ""), in: db)
            return record
        }
    }

    /// A preparation step (see ``InstallationRecord/advance(to:_:)``).
    func advance(_ serverId: String, to step: InstallationStep, _ message: String) async throws {
        try await update(serverId) { try $0.advance(to: step, message) }
    }

    /// Claims the ending (see ``InstallationRecord/beginEnding(_:message:resetPower:)``); false when another caller
    /// has it or the installation is not running.
    func beginEnding(_ serverId: String, state: InstallationState, message: String, resetPower: Bool) async throws -> Bool {
        try await database.writer.write { db in
            guard var record = try InstallationStore.get(serverId, in: db), record.beginEnding(state, message: message, resetPower: resetPower) else {
                return false
            }
            try InstallationStore.put(record, in: db)
            try outbox.append(record.event("installation.progress", message: record.progress.last?.message ?? ""), in: db)
            return true
        }
    }

    /// Keeps one clean-up step's outcome as soon as it is known (no event: the end carries them all).
    func recordCleanup(_ serverId: String, _ outcome: CleanupStep) async throws {
        try await database.writer.write { db in
            guard var record = try InstallationStore.get(serverId, in: db) else { return }
            record.recordCleanup(outcome)
            try InstallationStore.put(record, in: db)
        }
    }

    /// The end, with its `installation.<state>` event and an action-log row naming what clean-up did.
    func end(_ serverId: String, at now: Date) async throws -> InstallationRecord {
        try await database.writer.write { db -> InstallationRecord in
            guard var record = try InstallationStore.get(serverId, in: db), let ending = record.ending else {
                throw AgentError.notFound("installation for server", serverId)
            }
            let summary = record.end(at: now)
            let steps = record.cleanup ?? []
            try InstallationStore.put(record, in: db)
            try outbox.append(record.event("installation.\(ending.state.rawValue)", message: summary), in: db)
            try actionLog.append(
                ActionLogEntry(rootType: "servers", rootId: serverId,
                               description: ending.state == .aborted ? "Aborted PXE provisioning" : "Installation \(ending.state.rawValue)",
                               loglevel: steps.allSatisfy(\.succeeded) ? .info : .error,
                               meta: ["kind": .string(record.kind.rawValue), "text": .string(summary), "cleanup": .array(steps.map(\.json))]),
                in: db)
            return record
        }
    }

    /// A hardware inventory a server reported, kept with its `inventory.collected` event.
    func putInventory(_ serverId: String, _ inventory: JSONValue, at now: Date) async throws {
        try await database.writer.write { db in
            try InstallationStore.putInventory(serverId, inventory, at: now, in: db)
            try outbox.append(OutboxEvent(type: "inventory.collected", data: ["serverId": .string(serverId), "inventory": inventory]), in: db)
        }
    }
}
