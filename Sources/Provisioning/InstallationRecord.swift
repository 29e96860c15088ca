import AgentCore
import Foundation
import GRDB

public enum InstallationState: String, Sendable, Codable, CaseIterable {
    case running, completed, failed, aborted
}

/// The steps an installation walks; the seed's status reports the number.
public enum InstallationStep: Int, Sendable, Codable, CaseIterable, Comparable {
    case prepared = 1
    case caching
    case dhcp
    case power
    case waitingForBoot
    case bootScriptFetched
    case installerStarted
    case installing
    case firstBoot
    case cleanup
    case finished

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public var name: String { "\(self)" }

    public var title: String {
        switch self {
        case .prepared: return "Validated and rendered"
        case .caching: return "Caching OS files"
        case .dhcp: return "Temporary DHCP entry with PXE"
        case .power: return "Boot device PXE and power cycle"
        case .waitingForBoot: return "Waiting for the server to boot from the network"
        case .bootScriptFetched: return "Boot script fetched"
        case .installerStarted: return "Installer started (answer file fetched)"
        case .installing: return "Installing"
        case .firstBoot: return "First boot"
        case .cleanup: return "Cleaning up"
        case .finished: return "Finished"
        }
    }
}

/// One line of the seed's installProgress.
public struct InstallationProgress: Sendable, Codable, Equatable {
    public var step: Int
    public var name: String
    public var message: String
    public var at: Date
}

/// How an installation is ending, set before clean-up starts so an agent restart in the middle finishes it.
public struct InstallationEnding: Sendable, Codable, Equatable {
    public var state: InstallationState
    public var message: String
    public var resetPower: Bool
    /// The step it had reached: only what it did is undone.
    public var reached: InstallationStep
}

/// One clean-up step and how it went.
public struct CleanupStep: Sendable, Codable, Equatable {
    /// `dhcp`, `bootDevice` or `power`.
    public var name: String
    public var succeeded: Bool
    /// What was done, or the error.
    public var detail: String

    public var json: JSONValue { ["step": .string(name), "succeeded": .bool(succeeded), "detail": .string(detail)] }
}

/// An installation as it is persisted: everything needed to carry on after an agent restart.
public struct InstallationRecord: Sendable, Codable {
    public var serverId: String
    public var token: String
    public var kind: InstallationKind
    public var state: InstallationState
    public var step: InstallationStep
    public var mac: MACAddress?
    /// The only address answer files and scripts are served to: the DHCP entry's IPv4, or the first fetcher's.
    public var allowedAddress: String?
    public var hostname: String
    /// The profile as the controller sent it (re-parsed to cache files after a restart).
    public var profileDocument: JSONValue?
    public var profileName: String?
    public var completionEvent: String
    public var powerAction: InstallPowerAction
    public var permanentDHCP: Bool
    public var files: [String: RenderedFile]
    public var answerFiles: [String]
    /// The temporary entry this installation put, and the one it replaced (restored afterwards).
    public var dhcpEntry: String?
    public var previousDHCP: String?
    /// The power connection, kept only while the installation runs (it holds the BMC password).
    public var connection: JSONValue?
    public var progress: [InstallationProgress]
    public var error: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var deadline: Date
    public var finishedAt: Date?
    /// Set when the installation began to end; it ends once clean-up is done.
    public var ending: InstallationEnding?
    /// What clean-up did; a failed step keeps its error.
    public var cleanup: [CleanupStep]?

    public var isRunning: Bool { state == .running }
    /// Every clean-up step succeeded (true before clean-up ran).
    public var cleanupComplete: Bool { cleanup?.allSatisfy(\.succeeded) ?? true }

    /// The registered ISO the server boots from through virtual media (the profile's `isoId`), nil for PXE.
    /// Read as the profile was validated (the seed's ids are numbers as often as strings).
    public var bootISO: String? {
        guard let profileDocument, let id = try? SeedDocument(profileDocument, path: "profile").string("isoId"), !id.isEmpty else { return nil }
        return id
    }

    mutating func record(_ step: InstallationStep, _ message: String, at now: Date = Date()) {
        if step > self.step { self.step = step }
        progress.append(InstallationProgress(step: step.rawValue, name: step.name, message: message, at: now))
        updatedAt = now
    }

    /// The seed's status shape {installProgress, completed, canCancelInstallation, running, step} plus the agent's detail.
    public func status(bootBaseURL: String) -> JSONValue {
        var flags: [String: JSONValue] = [:]
        for kind in InstallationKind.allCases { flags[kind.runningFlag] = .integer(isRunning && kind == self.kind ? 1 : 0) }
        var result: [String: JSONValue] = [
            "installProgress": .array(progress.map { entry in
                ["step": .integer(Int64(entry.step)), "name": .string(entry.name), "message": .string(entry.message), "at": .string(UTCTime.iso8601(entry.at))]
            }),
            "completed": .integer(state == .completed ? 1 : 0),
            "canCancelInstallation": .integer(isRunning ? 1 : 0),
            "running": .integer(isRunning ? 1 : 0),
            "step": .integer(Int64(step.rawValue)),
            "stepName": .string(step.name),
            "serverId": .string(serverId), "kind": .string(kind.rawValue), "state": .string(state.rawValue),
            "error": error.map(JSONValue.string) ?? .null, "flags": .object(flags),
            "mac": mac.map { .string($0.description) } ?? .null, "ip": allowedAddress.map(JSONValue.string) ?? .null,
            "hostname": .string(hostname), "profile": profileName.map(JSONValue.string) ?? .null,
            "installPowerAction": .string(powerAction.rawValue), "completionEvent": .string(completionEvent),
            "files": .array(files.keys.sorted().map(JSONValue.string)),
            "createdAt": .string(UTCTime.iso8601(createdAt)), "updatedAt": .string(UTCTime.iso8601(updatedAt)),
            "deadline": .string(UTCTime.iso8601(deadline)), "finishedAt": finishedAt.map { .string(UTCTime.iso8601($0)) } ?? .null,
            "bootUrl": .string("\(bootBaseURL)/boot/\(token)"),
            "cleanup": cleanup.map { .array($0.map(\.json)) } ?? .null, "cleanupComplete": .bool(cleanupComplete),
        ]
        if files["script/hwdetect"] != nil {
            result["hwdetectCommand"] = .string("wget -qO - '\(bootBaseURL)/boot/\(token)/script/hwdetect' | bash -s '\(bootBaseURL)/boot/\(token)/inventory'")
        }
        return .object(result)
    }

    /// The event every transition sends to the controller.
    func event(_ type: String, message: String) -> OutboxEvent {
        var data: [String: JSONValue] = [
            "serverId": .string(serverId), "kind": .string(kind.rawValue), "state": .string(state.rawValue),
            "step": .integer(Int64(step.rawValue)), "stepName": .string(step.name), "message": .string(message),
            "error": error.map(JSONValue.string) ?? .null, kind.runningFlag: .integer(isRunning ? 1 : 0),
        ]
        if let cleanup {
            data["cleanup"] = .array(cleanup.map(\.json))
            data["cleanupComplete"] = .bool(cleanupComplete)
        }
        return OutboxEvent(type: type, data: .object(data))
    }
}

/// Installations and the last hardware inventory per server, in SQLite.
public struct InstallationStore: Sendable {
    let database: AgentDatabase

    public init(database: AgentDatabase) {
        self.database = database
    }

    public static let migrations: [SchemaMigration] = [
        SchemaMigration("provisioning.installations.v1") { db in
            try db.create(table: "installation") { table in
                table.column("serverId", .text).primaryKey()
                table.column("token", .text).notNull().unique()
                table.column("state", .text).notNull().indexed()
                table.column("mac", .text).indexed()
                table.column("document", .text).notNull()
                table.column("updatedAt", .datetime).notNull()
            }
            try db.create(table: "serverInventory") { table in
                table.column("serverId", .text).primaryKey()
                table.column("inventory", .text).notNull()
                table.column("collectedAt", .datetime).notNull()
            }
        },
    ]

    static func decode(_ text: String?) -> InstallationRecord? {
        text.flatMap { try? JSONCoding.decoder.decode(InstallationRecord.self, from: Data($0.utf8)) }
    }

    static func get(_ serverId: String, in db: Database) throws -> InstallationRecord? {
        decode(try String.fetchOne(db, sql: "SELECT document FROM installation WHERE serverId = ?", arguments: [serverId]))
    }

    static func byToken(_ token: String, in db: Database) throws -> InstallationRecord? {
        decode(try String.fetchOne(db, sql: "SELECT document FROM installation WHERE token = ?", arguments: [token]))
    }

    static func running(mac: MACAddress, in db: Database) throws -> InstallationRecord? {
        decode(try String.fetchOne(db, sql: "SELECT document FROM installation WHERE mac = ? AND state = 'running'", arguments: [mac.description]))
    }

    static func all(state: InstallationState? = nil, in db: Database) throws -> [InstallationRecord] {
        let rows = if let state {
            try String.fetchAll(db, sql: "SELECT document FROM installation WHERE state = ? ORDER BY serverId", arguments: [state.rawValue])
        } else {
            try String.fetchAll(db, sql: "SELECT document FROM installation ORDER BY serverId")
        }
        return rows.compactMap(decode)
    }

    static func put(_ record: InstallationRecord, in db: Database) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO installation (serverId, token, state, mac, document, updatedAt) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [record.serverId, record.token, record.state.rawValue, record.mac?.description,
                        String(decoding: try JSONCoding.encoder.encode(record), as: UTF8.self), record.updatedAt])
    }

    public func get(_ serverId: String) async throws -> InstallationRecord? {
        try await database.writer.read { db in try Self.get(serverId, in: db) }
    }

    public func all(state: InstallationState? = nil) async throws -> [InstallationRecord] {
        try await database.writer.read { db in try Self.all(state: state, in: db) }
    }

    /// The last normalised inventory of a server, with when it was collected.
    public func inventory(_ serverId: String) async throws -> (JSONValue, Date)? {
        try await database.writer.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT inventory, collectedAt FROM serverInventory WHERE serverId = ?", arguments: [serverId]),
                let text: String = row["inventory"], let date: Date = row["collectedAt"]
            else { return nil }
            return (try JSONCoding.decoder.decode(JSONValue.self, from: Data(text.utf8)), date)
        }
    }

    static func putInventory(_ serverId: String, _ inventory: JSONValue, at date: Date, in db: Database) throws {
        try db.execute(
            sql: "INSERT OR REPLACE INTO serverInventory (serverId, inventory, collectedAt) VALUES (?, ?, ?)",
            arguments: [serverId, inventory.jsonText, date])
    }
}

/// The boot script a pending installation would serve for a MAC, read without touching the installation
/// (diagnostics: `rackagent pxe script`).
public struct PendingBootScripts: BootScriptProvider {
    let store: InstallationStore

    public init(store: InstallationStore) {
        self.store = store
    }

    public func bootScript(for mac: MACAddress, architecture: BootArchitecture, clientAddress: String?) async throws -> String? {
        try await store.database.writer.read { db in
            guard let record = try InstallationStore.running(mac: mac, in: db), record.step >= .dhcp, record.step < .installerStarted else { return nil }
            return record.files["ipxe"]?.content
        }
    }
}
