import AgentCore
import Foundation
import GRDB
import Logging

/// DHCP entries and the backend configuration rendered from them.
///
/// Every change goes: render all entries → validate with the daemon's own checker → (only if valid) store and
/// write the live files atomically → reload the daemon. A refused configuration stores nothing and leaves the
/// live files as they were. Each regeneration is an action-log row and a `dhcp.regenerated` event.
public final class DHCPService: Sendable {
    let configuration: AgentConfiguration
    let database: AgentDatabase
    public let store: DHCPEntryStore
    let outbox: Outbox
    let actionLog: ActionLog
    let validator: DHCPValidator
    let runner: any CommandRunner
    let supervisor: DnsmasqSupervisor?
    let logger: Logger
    private let changes = AsyncSemaphore(permits: 1)

    public init(
        configuration: AgentConfiguration, database: AgentDatabase, outbox: Outbox, actionLog: ActionLog, runner: any CommandRunner,
        supervisor: DnsmasqSupervisor?, logger: Logger
    ) {
        self.configuration = configuration
        self.database = database
        store = DHCPEntryStore(database: database)
        self.outbox = outbox
        self.actionLog = actionLog
        validator = DHCPValidator(runner: runner, settings: configuration.dhcp)
        self.runner = runner
        self.supervisor = supervisor
        self.logger = logger
    }

    public var backend: DHCPBackendKind { configuration.dhcp.backend }

    static func renderer(_ backend: DHCPBackendKind) -> (any DHCPRenderer)? {
        switch backend {
        case .dnsmasq: return DnsmasqRenderer()
        case .kea: return KeaRenderer()
        case .isc: return ISCRenderer()
        case .none: return nil
        }
    }

    /// Renders `entries` for `backend` (default: the configured one). Pure apart from reading the configuration.
    public func render(_ entries: [DHCPEntry], backend: DHCPBackendKind? = nil) throws -> RenderedDHCPConfig? {
        guard let renderer = Self.renderer(backend ?? self.backend) else { return nil }
        let subnets = try DHCPSubnetPlan.plan(entries: entries, configured: configuration.dhcp.subnets, defaultLeaseSeconds: configuration.dhcp.leaseSeconds)
        return try renderer.render(DHCPRenderContext(entries: entries, subnets: subnets, configuration: configuration))
    }

    /// Adds or replaces the entry for `mac`. Returns the stored entry and whether it is new.
    @discardableResult
    public func put(_ mac: MACAddress, _ request: DHCPEntryRequest) async throws -> (DHCPEntry, created: Bool) {
        let entry = request.entry(mac: mac)
        return try await put(entry)
    }

    @discardableResult
    public func put(_ entry: DHCPEntry) async throws -> (DHCPEntry, created: Bool) {
        try await changes.withPermit {
            var entries = try await store.all()
            let created = !entries.contains { $0.mac == entry.mac }
            try Self.checkConflicts(entry, among: entries)
            entries.removeAll { $0.mac == entry.mac }
            entries.append(entry)
            try await apply(entries, reason: created ? "entry \(entry.mac) added" : "entry \(entry.mac) updated") { db in
                try DHCPEntryStore.put(entry, in: db)
            }
            return (entry, created)
        }
    }

    /// Removes the entry; false when there was none.
    @discardableResult
    public func delete(_ mac: MACAddress) async throws -> Bool {
        try await changes.withPermit {
            var entries = try await store.all()
            guard entries.contains(where: { $0.mac == mac }) else { return false }
            entries.removeAll { $0.mac == mac }
            try await apply(entries, reason: "entry \(mac) removed") { db in _ = try DHCPEntryStore.delete(mac, in: db) }
            return true
        }
    }

    /// Rewrites the configuration from the stored entries (POST /v1/dhcp/regenerate, start-up).
    public func regenerate(reason: String) async throws -> JSONValue {
        try await changes.withPermit {
            let entries = try await store.all()
            try await apply(entries, reason: reason) { _ in }
            return ["backend": .string(backend.rawValue), "entries": .integer(Int64(entries.count))]
        }
    }

    /// Removes temporary entries whose keepMinutes are up, then regenerates once.
    @discardableResult
    public func expireEntries(now: Date = Date()) async throws -> [DHCPEntry] {
        try await changes.withPermit {
            let expired = try await database.writer.read { db in try DHCPEntryStore.expired(db, now: now) }
            guard !expired.isEmpty else { return [] }
            let gone = Set(expired.map(\.mac))
            let remaining = try await store.all().filter { !gone.contains($0.mac) }
            try await apply(remaining, reason: "temporary entries expired: \(expired.map(\.mac.description).joined(separator: ", "))") { db in
                for entry in expired { _ = try DHCPEntryStore.delete(entry.mac, in: db) }
                try self.outbox.append(
                    OutboxEvent(type: "dhcp.entries.expired", data: ["macs": .array(expired.map { .string($0.mac.description) })]), in: db)
            }
            return expired
        }
    }

    /// Render, validate, commit `change` with the action-log row and event, write the live files, reload.
    private func apply(_ entries: [DHCPEntry], reason: String, change: @escaping @Sendable (Database) throws -> Void) async throws {
        let rendered = try render(entries)
        if let rendered { try await validator.validate(rendered.validationConfig, backend: backend) }
        try await database.writer.write { db in
            try change(db)
            try self.actionLog.append(
                ActionLogEntry(rootType: "agents", rootId: "dhcp", description: "Regenerated DHCP Configuration",
                               meta: ["text": .string(reason), "backend": .string(self.backend.rawValue), "entries": .integer(Int64(entries.count))]),
                in: db)
            try self.outbox.append(
                OutboxEvent(type: "dhcp.regenerated", data: ["reason": .string(reason), "backend": .string(self.backend.rawValue), "entries": .integer(Int64(entries.count))]),
                in: db)
        }
        if let rendered { try await install(rendered) }
    }

    /// Writes the live files atomically and makes the daemon take them.
    func install(_ rendered: RenderedDHCPConfig) async throws {
        let directory = configuration.dhcpConfigDirectory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        switch backend {
        case .dnsmasq:
            let mainPath = "\(directory)/dnsmasq.conf"
            let mainChanged = (try? String(contentsOfFile: mainPath, encoding: .utf8)) != rendered.main
            if mainChanged { try AtomicFile.write(Data(rendered.main.utf8), to: mainPath, mode: 0o644) }
            let hostsReplaced = try Self.sync(rendered.hostFiles, into: "\(directory)/hosts")
            let optionsReplaced = try Self.sync(rendered.optionFiles, into: "\(directory)/options")
            await supervisor?.configurationChanged(restart: mainChanged, reread: hostsReplaced || optionsReplaced)
        case .kea:
            let path = configuration.dhcp.liveConfigFile ?? "\(directory)/kea-dhcp4.conf"
            try AtomicFile.write(Data(rendered.main.utf8), to: path, mode: 0o644)
            if let socket = configuration.dhcp.keaControlSocket {
                do {
                    try await KeaControlChannel(path: socket).reloadConfiguration()
                } catch {
                    throw DHCPError.reloadFailed(backend: "kea", detail: "\(error)")
                }
            }
        case .isc:
            let path = configuration.dhcp.liveConfigFile ?? "\(directory)/dhcpd.conf"
            try AtomicFile.write(Data(rendered.main.utf8), to: path, mode: 0o644)
            if let command = configuration.dhcp.iscRestartCommand, let executable = command.first {
                let result = try await runner.run(ProcessCommand(executable, Array(command.dropFirst()), timeout: .seconds(60)))
                guard result.succeeded else {
                    throw DHCPError.reloadFailed(backend: "isc", detail: "\(command.joined(separator: " ")) exited \(result.exitCode ?? -1): \(result.standardError.prefix(300))")
                }
            }
        case .none:
            return
        }
    }

    /// Makes `directory` hold exactly `files` (name → content), rewriting only what changed. True when an existing
    /// file was changed or removed: dnsmasq reads new files by itself but keeps what old ones said until SIGHUP.
    static func sync(_ files: [String: String], into directory: String) throws -> Bool {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        var replaced = false
        for (name, content) in files {
            let existing = try? String(contentsOfFile: "\(directory)/\(name)", encoding: .utf8)
            guard existing != content else { continue }
            if existing != nil { replaced = true }
            try AtomicFile.write(Data(content.utf8), to: "\(directory)/\(name)", mode: 0o644)
        }
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where files[name] == nil {
            try FileManager.default.removeItem(atPath: "\(directory)/\(name)")
            replaced = true
        }
        return replaced
    }

    /// One address, one MAC: a reserved address may not be handed to another machine.
    static func checkConflicts(_ entry: DHCPEntry, among entries: [DHCPEntry]) throws {
        for other in entries where other.mac != entry.mac {
            if let mine = entry.ipv4?.ip, mine == other.ipv4?.ip {
                throw AgentError.conflict("address_in_use", "\(mine) is already reserved for \(other.mac)", details: ["field": "ipv4.ip", "mac": .string(other.mac.description)])
            }
            if let mine = entry.ipv6?.ip, mine == other.ipv6?.ip {
                throw AgentError.conflict("address_in_use", "\(mine) is already reserved for \(other.mac)", details: ["field": "ipv6.ip", "mac": .string(other.mac.description)])
            }
        }
    }
}
