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
        scratch: ScratchDirectory, supervisor: DnsmasqSupervisor?, logger: Logger
    ) {
        self.configuration = configuration
        self.database = database
        store = DHCPEntryStore(database: database)
        self.outbox = outbox
        self.actionLog = actionLog
        validator = DHCPValidator(runner: runner, settings: configuration.dhcp, scratch: scratch)
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

    /// Render, validate, install the live files and make the daemon take them, and only then commit `change` with
    /// its action-log row and `dhcp.regenerated` event: the controller hears of a configuration that is live. When
    /// the daemon does not take it, the previous files are put back, nothing is stored and the error says why.
    private func apply(_ entries: [DHCPEntry], reason: String, change: @escaping @Sendable (Database) throws -> Void) async throws {
        // Once begun, a change runs to its end in a task of its own: a caller cancelled half way (an aborted
        // installation's driver) must not leave the live files and the database disagreeing.
        try await Task { try await self.applyToTheEnd(entries, reason: reason, change: change) }.value
    }

    private func applyToTheEnd(_ entries: [DHCPEntry], reason: String, change: @escaping @Sendable (Database) throws -> Void) async throws {
        let rendered = try render(entries)
        if let rendered {
            try await validator.validate(rendered.validationConfig, backend: backend)
            try await install(rendered)
        }
        do {
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
        } catch {
            // The daemon runs the new configuration but the database does not have it: go back to what is stored.
            logger.error("DHCP change installed but not stored; reinstalling the stored configuration", metadata: ["error": "\(error)"])
            do {
                if let stored = try render(try await store.all()) { try await install(stored) }
            } catch let reinstall {
                logger.critical("cannot reinstall the stored DHCP configuration", metadata: ["error": "\(AgentError.from(reinstall).message)"])
            }
            throw error
        }
    }

    /// Writes the live files atomically and makes the daemon take them (dnsmasq restarted or re-read and seen
    /// running, Kea's config-reload answered 0, the ISC restart command exited 0). When that fails, the previous
    /// files are written back and the daemon asked to take them again; the error says what happened to both.
    func install(_ rendered: RenderedDHCPConfig) async throws {
        let directory = configuration.dhcpConfigDirectory
        let backend = self.backend
        let livePath: String
        switch backend {
        case .dnsmasq: livePath = "\(directory)/dnsmasq.conf"
        case .kea: livePath = configuration.dhcp.liveConfigFile ?? "\(directory)/kea-dhcp4.conf"
        case .isc: livePath = configuration.dhcp.liveConfigFile ?? "\(directory)/dhcpd.conf"
        case .none: return
        }
        let previous = try await BlockingWork.run { try LiveDHCPFiles.read(main: livePath, directory: directory, backend: backend) }
        let proposed = LiveDHCPFiles(rendered, backend: backend)
        let changes = try await BlockingWork.run { try proposed.write(main: livePath, directory: directory, over: previous) }
        do {
            try await takeEffect(changes)
        } catch {
            let failure = AgentError.from(error).message
            guard previous.main != nil else {
                // The first configuration ever written: there is none to put back, and removing it would leave the
                // daemon nothing to start on. It stays (the daemon's own checker accepted it) and the error says so.
                throw DHCPError.reloadFailed(
                    backend: backend.rawValue, detail: "\(failure); this is the first configuration written, there is none to put back")
            }
            do {
                let restored = try await BlockingWork.run { try previous.write(main: livePath, directory: directory, over: proposed) }
                try await takeEffect(restored)
            } catch let restoring {
                throw DHCPError.reloadFailed(
                    backend: backend.rawValue, detail: "\(failure); putting the previous configuration back failed too: \(AgentError.from(restoring).message)")
            }
            throw DHCPError.reloadFailed(backend: backend.rawValue, detail: "\(failure); the previous configuration is back in place")
        }
    }

    /// Makes the daemon take what was just written.
    private func takeEffect(_ changes: LiveDHCPFiles.Changes) async throws {
        switch backend {
        case .dnsmasq:
            try await supervisor?.configurationChanged(restart: changes.mainChanged, reread: changes.includesReplaced)
        case .kea:
            guard let socket = configuration.dhcp.keaControlSocket else { return }
            do {
                try await KeaControlChannel(path: socket).reloadConfiguration()
            } catch {
                throw DHCPError.reloadFailed(backend: "kea", detail: "\(error)")
            }
        case .isc:
            guard let command = configuration.dhcp.iscRestartCommand, let executable = command.first else { return }
            let result = try await runner.run(ProcessCommand(executable, Array(command.dropFirst()), timeout: .seconds(60)))
            guard result.succeeded else {
                throw DHCPError.reloadFailed(backend: "isc", detail: "\(command.joined(separator: " ")) exited \(result.exitCode ?? -1): \(result.standardError.prefix(300))")
            }
        case .none:
            return
        }
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

/// The files a DHCP backend runs on: the main configuration and, for dnsmasq, one host and one option file per
/// MAC. Read before a change so it can be put back when the daemon refuses the new ones.
struct LiveDHCPFiles: Sendable {
    /// nil: the file does not exist.
    var main: String?
    /// dnsmasq only: its dhcp-hostsdir and dhcp-optsdir (which must exist for it to start).
    var hasIncludeDirectories: Bool
    var hostFiles: [String: String] = [:]
    var optionFiles: [String: String] = [:]

    /// What writing changed, which decides how the daemon must be told.
    struct Changes {
        var mainChanged: Bool
        /// A host or option file was changed or removed (dnsmasq reads new ones by itself, changed ones on SIGHUP).
        var includesReplaced: Bool
    }

    init(main: String?, hasIncludeDirectories: Bool, hostFiles: [String: String] = [:], optionFiles: [String: String] = [:]) {
        self.main = main
        self.hasIncludeDirectories = hasIncludeDirectories
        self.hostFiles = hostFiles
        self.optionFiles = optionFiles
    }

    init(_ rendered: RenderedDHCPConfig, backend: DHCPBackendKind) {
        self.init(main: rendered.main, hasIncludeDirectories: backend == .dnsmasq, hostFiles: rendered.hostFiles, optionFiles: rendered.optionFiles)
    }

    static func read(main: String, directory: String, backend: DHCPBackendKind) throws -> LiveDHCPFiles {
        let text = FileManager.default.fileExists(atPath: main) ? try String(contentsOfFile: main, encoding: .utf8) : nil
        var files = LiveDHCPFiles(main: text, hasIncludeDirectories: backend == .dnsmasq)
        if backend == .dnsmasq {
            files.hostFiles = try readDirectory("\(directory)/hosts")
            files.optionFiles = try readDirectory("\(directory)/options")
        }
        return files
    }

    private static func readDirectory(_ path: String) throws -> [String: String] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        var files: [String: String] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: path) {
            files[name] = try String(contentsOfFile: "\(path)/\(name)", encoding: .utf8)
        }
        return files
    }

    /// Writes these files atomically over `current`, touching only what differs.
    func write(main path: String, directory: String, over current: LiveDHCPFiles) throws -> Changes {
        // The configuration directory also holds the daemons' lease files.
        for needed in [directory, (path as NSString).deletingLastPathComponent] {
            try FileManager.default.createDirectory(atPath: needed, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        let mainChanged = main != current.main
        if mainChanged {
            if let main { try AtomicFile.write(Data(main.utf8), to: path, mode: 0o644) } else { try FileManager.default.removeItem(atPath: path) }
        }
        guard hasIncludeDirectories else { return Changes(mainChanged: mainChanged, includesReplaced: false) }
        let hosts = try Self.sync(hostFiles, over: current.hostFiles, into: "\(directory)/hosts")
        let options = try Self.sync(optionFiles, over: current.optionFiles, into: "\(directory)/options")
        return Changes(mainChanged: mainChanged, includesReplaced: hosts || options)
    }

    /// Makes `directory` hold exactly `files`; true when an existing file was changed or removed.
    private static func sync(_ files: [String: String], over current: [String: String], into directory: String) throws -> Bool {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        var replaced = false
        for (name, content) in files where current[name] != content {
            if current[name] != nil { replaced = true }
            try AtomicFile.write(Data(content.utf8), to: "\(directory)/\(name)", mode: 0o644)
        }
        for name in current.keys where files[name] == nil {
            try FileManager.default.removeItem(atPath: "\(directory)/\(name)")
            replaced = true
        }
        return replaced
    }
}
