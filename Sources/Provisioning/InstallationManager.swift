import AgentCore
import Foundation
import GRDB
import Logging
import ServiceLifecycle

/// Keeps a server's serial console open while its installation runs, so its output is kept even when nobody
/// watches (the console module does it; this module knows nothing of SOL).
public protocol InstallationConsoleCapture: Sendable {
    func startCapture(serverId: String, connection: JSONValue) async
    func stopCapture(serverId: String) async
}

/// Settings the manager takes from the configuration.
public struct InstallationSettings: Sendable {
    public var bootBaseURL: String
    public var timeoutMinutes: Int
    /// How long after completion the first-boot script may still fetch run scripts and report.
    public var completionGraceMinutes: Int

    public init(bootBaseURL: String, timeoutMinutes: Int, completionGraceMinutes: Int = 180) {
        self.bootBaseURL = bootBaseURL
        self.timeoutMinutes = timeoutMinutes
        self.completionGraceMinutes = completionGraceMinutes
    }
}

/// Errors of the boot side; a wrong or expired token is a plain 404 (and a log line).
public enum InstallationError: Error, Sendable, AgentErrorConvertible {
    case running(serverId: String, kind: InstallationKind)
    case macBusy(mac: String, serverId: String)
    case unknownToken
    case notRunning(String)
    /// The installation ended, but part of its clean-up (DHCP restore, boot device, power reset) failed.
    case cleanupFailed(serverId: String, state: InstallationState, failures: [CleanupStep])

    public var agentError: AgentError {
        switch self {
        case .running(let serverId, let kind):
            return .conflict("installation_running", "server \(serverId) already has a running \(kind.rawValue)", details: ["serverId": .string(serverId)])
        case .macBusy(let mac, let serverId):
            return .conflict("installation_running", "\(mac) is being installed as server \(serverId)", details: ["mac": .string(mac), "serverId": .string(serverId)])
        case .unknownToken:
            return AgentError(status: .notFound, code: "not_found", message: "unknown or expired installation URL")
        case .notRunning(let serverId):
            return .conflict("installation_not_running", "server \(serverId) has no running installation", details: ["serverId": .string(serverId)])
        case .cleanupFailed(let serverId, let state, let failures):
            return AgentError(
                status: .badGateway, code: "installation_cleanup_failed",
                message: "installation of server \(serverId) \(state.rawValue), but clean-up failed: "
                    + failures.map { "\($0.name): \($0.detail)" }.joined(separator: "; "),
                details: ["serverId": .string(serverId), "state": .string(state.rawValue), "failures": .array(failures.map(\.json))])
        }
    }
}

/// The installation state machine: validate → render → cache → temporary DHCP entry with PXE → boot device PXE and
/// power cycle → boot script → answer file → progress → completion → PXE off, boot device disk, DHCP restored.
/// Every transition is one SQLite transaction together with its outbox event, so it survives a restart and the
/// controller hears of it exactly as it happened.
public actor InstallationManager: BootScriptProvider {
    let database: AgentDatabase
    public nonisolated let store: InstallationStore
    let outbox: Outbox
    let actionLog: ActionLog
    let dhcp: DHCPService
    public nonisolated let cache: OSCache
    let renderer: InstallationRenderer
    let power: (any InstallationPowerControl)?
    let consoleCapture: (any InstallationConsoleCapture)?
    public nonisolated let settings: InstallationSettings
    let logger: Logger
    /// Refusals a booting machine or a scanner can cause at will are logged at most once a minute per kind.
    nonisolated let refusals = LogThrottle()
    private var drivers: [String: Task<Void, Never>] = [:]
    /// Endings under way (driver stopped, clean-up, final record), one per installation: a second caller finds it
    /// here in the same actor turn in which it was created, so clean-up never runs twice at once.
    private var endings: [String: Task<InstallationRecord?, any Error>] = [:]
    /// The installation the current task drives (its preparation steps), if any.
    @TaskLocal static var drivenInstallation: String?
    /// How long an ending waits for the driver it cancelled to finish its step in flight.
    static let driverStopWait = Duration.seconds(120)

    public init(
        database: AgentDatabase, outbox: Outbox, actionLog: ActionLog, dhcp: DHCPService, cache: OSCache, renderer: InstallationRenderer,
        power: (any InstallationPowerControl)?, consoleCapture: (any InstallationConsoleCapture)? = nil, settings: InstallationSettings, logger: Logger
    ) {
        self.database = database
        store = InstallationStore(database: database)
        self.outbox = outbox
        self.actionLog = actionLog
        self.dhcp = dhcp
        self.cache = cache
        self.renderer = renderer
        self.power = power
        self.consoleCapture = consoleCapture
        self.settings = settings
        self.logger = logger
    }

    // MARK: - Controller side

    /// Validates and renders synchronously (bad input is a 400 and leaves nothing behind), stores the installation
    /// and drives the preparation steps in the background.
    public func start(serverId: String, body: JSONValue, now: Date = Date()) async throws -> InstallationRecord {
        var request = try InstallationRequest(serverId: serverId, body: body)
        if request.diskCount == nil || request.hasHardwareRAID == nil, let (inventory, _) = try await store.inventory(serverId) {
            request.diskCount = request.diskCount ?? inventory["facts"]?["disks"].flatMap { if case .integer(let n) = $0 { Int(n) } else { nil } }
            request.hasHardwareRAID = request.hasHardwareRAID ?? (inventory["facts"]?["hardwareRaid"] == .bool(true))
        }
        if let connection = request.connection, request.powerAction != .noRestart {
            guard let power else { throw AgentError.unsupported("this agent has no power drivers for installations") }
            try power.validate(connection: connection)
        }
        let token = Self.newToken()
        let hash = request.rootPassword.map { SHA512Crypt.hash($0.revealed) } ?? ""
        let rendered = try renderer.render(request, token: token, bootBaseURL: settings.bootBaseURL, rootPasswordHash: hash)
        let plannedEntry = try request.mac.map { _ in try Self.dhcpEntry(for: request, now: now) } ?? nil
        if let plannedEntry {
            let others = try await dhcp.store.all().filter { $0.mac != plannedEntry.mac }
            try DHCPService.checkConflicts(plannedEntry, among: others)
        }
        let livePXEless = request.kind == .hardwareDetection && request.powerAction == .noRestart && request.mac == nil
        var record = InstallationRecord(
            serverId: serverId, token: token, kind: request.kind, state: .running, step: .prepared, mac: request.mac,
            allowedAddress: request.primaryIPv4?.address.description ?? (livePXEless ? nil : request.primaryIPv6?.address.description),
            hostname: request.hostname, profileDocument: request.profile?.document, profileName: request.profile?.osName,
            completionEvent: Self.completionEvent(request), powerAction: request.powerAction, permanentDHCP: request.permanentDHCP,
            files: rendered.files, answerFiles: rendered.answerFiles.sorted(), dhcpEntry: try plannedEntry.map(DHCPEntryStore.document), previousDHCP: nil,
            connection: request.connection, progress: [], error: nil, createdAt: now, updatedAt: now,
            deadline: now.addingTimeInterval(Double(settings.timeoutMinutes) * 60), finishedAt: nil, ending: nil, cleanup: nil)
        record.record(.prepared, "\(request.kind.rawValue) of \(request.hostname) with \(request.profile?.osName ?? "the live system"): \(rendered.files.count) files rendered")
        if request.mac == nil || (request.kind == .hardwareDetection && request.powerAction == .noRestart) {
            record.step = .waitingForBoot
            record.record(.waitingForBoot, request.mac == nil ? "run the hwdetect command on the server" : "waiting for the boot or the hwdetect command")
        }
        let stored = record
        try await database.writer.write { db in
            if let existing = try InstallationStore.get(serverId, in: db), existing.isRunning {
                throw InstallationError.running(serverId: serverId, kind: existing.kind)
            }
            if let mac = stored.mac, let other = try InstallationStore.running(mac: mac, in: db) {
                throw InstallationError.macBusy(mac: mac.description, serverId: other.serverId)
            }
            try InstallationStore.put(stored, in: db)
            try self.outbox.append(stored.event("installation.started", message: stored.progress.last?.message ?? ""), in: db)
            try self.actionLog.append(
                ActionLogEntry(rootType: "servers", rootId: serverId, description: "Installation started",
                               meta: ["kind": .string(stored.kind.rawValue), "profile": stored.profileName.map(JSONValue.string) ?? .null]),
                in: db)
        }
        logger.info("installation started", metadata: ["serverId": "\(serverId)", "kind": "\(record.kind.rawValue)", "mac": "\(record.mac?.description ?? "-")"])
        if record.step < .waitingForBoot { launchDriver(serverId) }
        return record
    }

    public func status(_ serverId: String) async throws -> InstallationRecord? {
        try await store.get(serverId)
    }

    public func list() async throws -> [InstallationRecord] {
        try await store.all()
    }

    /// Waits (bounded) until the installation left the preparation steps; for `PUT ?wait=`.
    public func waitForPreparation(_ serverId: String, timeout: Duration) async throws -> InstallationRecord? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let record = try await store.get(serverId)
            guard let record, record.isRunning, record.step < .waitingForBoot || record.ending != nil, ContinuousClock.now < deadline else {
                return record
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Aborts: boot device disk and a power reset (unless `withoutPowerReset`), DHCP restored. When part of that
    /// clean-up fails the installation is still aborted, and the error names what failed.
    public func abort(_ serverId: String, withoutPowerReset: Bool) async throws -> InstallationRecord {
        guard let record = try await store.get(serverId) else { throw AgentError.notFound("installation for server", serverId) }
        guard record.isRunning, record.ending == nil else { throw InstallationError.notRunning(serverId) }
        let message = withoutPowerReset ? "aborted (without power reset)" : "aborted"
        guard let ended = try await finish(serverId, state: .aborted, message: message, resetPower: !withoutPowerReset) else {
            throw InstallationError.notRunning(serverId)
        }
        let failures = (ended.cleanup ?? []).filter { !$0.succeeded }
        guard failures.isEmpty else { throw InstallationError.cleanupFailed(serverId: serverId, state: ended.state, failures: failures) }
        return ended
    }

    /// Carries on installations a previous run left in their preparation steps, and finishes those it left in the
    /// middle of their clean-up.
    public func resume() async throws {
        for record in try await store.all(state: .running) {
            if record.ending != nil {
                logger.notice("finishing the clean-up of an installation", metadata: ["serverId": "\(record.serverId)"])
                await completePendingEnding(record.serverId)
            } else if record.step < .waitingForBoot {
                logger.notice("resuming installation", metadata: ["serverId": "\(record.serverId)", "step": "\(record.step.name)"])
                launchDriver(record.serverId)
            } else if let connection = record.connection, record.powerAction != .noRestart, let consoleCapture {
                Task { await consoleCapture.startCapture(serverId: record.serverId, connection: connection) }
            }
        }
    }

    /// Completes an ending left unfinished (a restart in the middle of clean-up, a failed final write); errors are
    /// logged and the next maintenance round tries again.
    private func completePendingEnding(_ serverId: String) async {
        guard endings[serverId] == nil else { return }
        let ending = Task { () async throws -> InstallationRecord? in
            defer { self.endingFinished(serverId) }
            return try await self.completeEnding(serverId)
        }
        endings[serverId] = ending
        do {
            _ = try await ending.value
        } catch {
            logger.error("cannot complete the end of an installation; will try again", metadata: [
                "serverId": "\(serverId)", "error": "\(AgentError.from(error).message)",
            ])
        }
    }

    /// Fails installations past their deadline; removes stale dailyCleanup cache directories.
    public func maintenance(now: Date = Date()) async {
        do {
            for record in try await store.all(state: .running) where record.ending != nil {
                await completePendingEnding(record.serverId)
            }
            for record in try await store.all(state: .running) where record.deadline <= now && record.ending == nil {
                do {
                    _ = try await finish(
                        record.serverId, state: .failed, message: "timed out at step \(record.step.name) after \(settings.timeoutMinutes) minutes",
                        resetPower: false)
                } catch {
                    logger.error("cannot end an overdue installation", metadata: ["serverId": "\(record.serverId)", "error": "\(AgentError.from(error).message)"])
                }
            }
            let inUse = Set(try await store.all(state: .running).compactMap { $0.profileDocument?["cacheDirectory"]?.stringValue })
            let removed = await cache.dailyCleanup(inUse: inUse, now: now)
            if !removed.isEmpty { logger.info("daily cache cleanup", metadata: ["removed": "\(removed.joined(separator: ", "))"]) }
        } catch {
            logger.error("installation maintenance failed", metadata: ["error": "\(error)"])
        }
    }

    /// Cache directories a running installation uses (DELETE /v1/os-cache refuses them).
    public func cacheDirectoriesInUse() async throws -> Set<String> {
        Set(try await store.all(state: .running).compactMap { $0.profileDocument?["cacheDirectory"]?.stringValue })
    }

    // MARK: - Background preparation

    private func launchDriver(_ serverId: String) {
        drivers[serverId]?.cancel()
        drivers[serverId] = Task { [weak self] in
            await Self.$drivenInstallation.withValue(serverId) {
                await LogContext.replacing(with: ["serverId": serverId]) { await self?.drive(serverId) }
            }
        }
    }

    private func driverFinished(_ serverId: String) {
        drivers[serverId] = nil
    }

    func drive(_ serverId: String) async {
        defer { driverFinished(serverId) }
        do {
            guard var record = try await store.get(serverId), record.isRunning else { return }
            let profile = try record.profileDocument.map { try PXEProfile($0) }
            if record.step < .caching {
                if let profile, profile.mirrorUrl != nil, !profile.cacheFiles.isEmpty {
                    try await transition(serverId, to: .caching, "fetching \(profile.cacheFiles.count) files into \(profile.cacheDirectory) (\(profile.cachingPolicy))")
                    let result = try await cache.prepare(profile)
                    try await transition(serverId, to: .caching,
                        "cache ready: \(result.downloaded.count) downloaded, \(result.revalidated.count) revalidated, \(result.reused.count) reused")
                } else {
                    try await transition(serverId, to: .caching, "nothing to cache")
                }
            }
            record = try await currentRunning(serverId)
            if record.step <= .dhcp {
                try await putDHCPEntry(serverId)
            }
            record = try await currentRunning(serverId)
            // `.power` is recorded before the first BMC command (an abort in the middle of it then sets the boot
            // device back to disk), and the sequence runs again after an agent restart that interrupted it: a second
            // power cycle of a server booting from the network is harmless, a server never restarted is not.
            if record.step <= .power {
                if record.powerAction == .noRestart || record.connection == nil {
                    try await transition(serverId, to: .power, "power left alone (installPowerAction noRestart): boot the server from the network")
                } else if let power, let connection = record.connection {
                    try await transition(serverId, to: .power, "setting the boot device to PXE")
                    // The serial console is watched from before the restart, so the whole boot is in its log; its
                    // start (a slow BMC) never holds the installation up.
                    if let consoleCapture { Task { await consoleCapture.startCapture(serverId: serverId, connection: connection) } }
                    let boot = try await power.setBootDevice("pxe", connection: connection)
                    try await transition(serverId, to: .power, "boot device: \(boot)")
                    let restart = try await power.restart(connection: connection, hard: record.powerAction == .powerReset)
                    try await transition(serverId, to: .power, "power: \(restart)")
                }
            }
            _ = try await currentRunning(serverId)
            try await transition(serverId, to: .waitingForBoot, "waiting for \(record.mac?.description ?? "the server") to fetch its boot script")
        } catch is CancellationError {
            return
        } catch where Task.isCancelled {
            // Stopped by whoever is ending the installation: they record the end.
            return
        } catch InstallationError.notRunning {
            return
        } catch {
            let agentError = AgentError.from(error)
            logger.error("installation failed", metadata: ["serverId": "\(serverId)", "error": "\(agentError.message)"])
            do {
                _ = try await finish(serverId, state: .failed, message: agentError.message, resetPower: false)
            } catch {
                // The failure could not be recorded (the database refused): the deadline check ends it later.
                logger.critical("cannot record the failure of an installation", metadata: [
                    "serverId": "\(serverId)", "failure": "\(agentError.message)", "error": "\(AgentError.from(error).message)",
                ])
            }
        }
    }

    private func currentRunning(_ serverId: String) async throws -> InstallationRecord {
        guard let record = try await store.get(serverId), record.isRunning else { throw InstallationError.notRunning(serverId) }
        try Task.checkCancellation()
        return record
    }

    /// The temporary entry: the primary addresses, PXE on, expiring after keep_dhcp_minutes (a permanent entry
    /// the server already had stays permanent and is restored as it was afterwards).
    static func dhcpEntry(for request: InstallationRequest, now: Date) throws -> DHCPEntry? {
        guard let mac = request.mac else { return nil }
        func address(_ assignment: IPAssignment?) -> DHCPEntry.Address? {
            guard let assignment else { return nil }
            let network = IPNetwork(address: assignment.address, prefixLength: assignment.prefixLength)
            let gateway = assignment.gateway.flatMap(IPAddress.init).flatMap { network.contains($0) && $0 != assignment.address ? $0.description : nil }
            return DHCPEntry.Address(ip: assignment.address.description, cidr: assignment.prefixLength, gateway: gateway)
        }
        let keep = request.profile?.keepDHCPMinutes ?? 120
        return DHCPEntry(
            mac: mac, serverId: request.serverId, hostname: request.hostname, ipv4: address(request.primaryIPv4), ipv6: address(request.primaryIPv6),
            dns: request.dns, permanent: false, keepMinutes: keep, pxe: true,
            bootFiles: DHCPEntry.BootFiles(bios: request.profile?.ipxeBIOSFile, efi: request.profile?.ipxeEFIFile),
            expiresAt: now.addingTimeInterval(Double(keep) * 60))
    }

    private func putDHCPEntry(_ serverId: String) async throws {
        let record = try await currentRunning(serverId)
        guard let mac = record.mac, let planned = try record.dhcpEntry.map(DHCPEntryStore.decode) else {
            try await transition(serverId, to: .dhcp, "no DHCP entry needed")
            return
        }
        let previous = try await dhcp.store.get(mac)
        let ours = previous.map { $0.serverId == serverId && $0.pxe } ?? false
        var entry = planned
        if let previous, !ours, previous.permanent {
            entry.permanent = true
            entry.keepMinutes = nil
            entry.expiresAt = nil
        } else {
            entry.expiresAt = Date().addingTimeInterval(Double(entry.keepMinutes ?? 120) * 60)
        }
        // Recorded before the entry is put (with the one it replaces): an ending that comes while the put is under
        // way, or an agent restart in the middle, restores the previous entry whether or not the put got through.
        let applied = entry
        try await update(serverId, type: "installation.progress") { record in
            guard record.isRunning, record.ending == nil else { throw InstallationError.notRunning(serverId) }
            record.dhcpEntry = try DHCPEntryStore.document(applied)
            if record.previousDHCP == nil, let previous, !ours { record.previousDHCP = try DHCPEntryStore.document(previous) }
            record.record(.dhcp, "putting DHCP entry \(mac) → \(applied.ipv4?.ip ?? applied.ipv6?.ip ?? "?") with PXE, "
                + (applied.permanent ? "permanent" : "expires in \(applied.keepMinutes ?? 0) minutes"))
            return record.progress.last?.message ?? ""
        }
        try await dhcp.put(entry)
        try await transition(serverId, to: .dhcp, "DHCP entry \(mac) live")
    }

    // MARK: - Boot side

    /// The iPXE script for a MAC with a running installation that has not reached its installer yet.
    public func bootScript(for mac: MACAddress, architecture: BootArchitecture, clientAddress: String?) async throws -> String? {
        guard let record = try await database.writer.read({ db in try InstallationStore.running(mac: mac, in: db) }),
            record.step >= .dhcp, record.step < .installerStarted, let script = record.files["ipxe"]
        else { return nil }
        guard addressAllowed(record, clientAddress) else {
            refusals.log(logger, level: .warning, kind: "script-address", "boot script refused: wrong client address", metadata: [
                "mac": "\(mac)", "client": "\(clientAddress ?? "-")", "expected": "\(record.allowedAddress ?? "-")",
            ])
            return nil
        }
        try await update(record.serverId, type: "installation.progress") { record in
            if record.allowedAddress == nil { record.allowedAddress = clientAddress }
            record.record(.bootScriptFetched, "boot script fetched by \(clientAddress ?? "?") (\(architecture.rawValue))")
            return record.progress.last?.message ?? ""
        }
        return script.content
    }

    func addressAllowed(_ record: InstallationRecord, _ clientAddress: String?) -> Bool {
        guard let allowed = record.allowedAddress else { return true }
        guard let clientAddress, let client = IPAddress(clientAddress), let expected = IPAddress(allowed) else { return false }
        return client == expected
    }

    /// A file by boot path, for the installation's own address only; first fetch of the answer file = installer started.
    public func file(token: String, path: String, clientAddress: String?, now: Date = Date()) async throws -> RenderedFile {
        let record = try await authorized(token: token, clientAddress: clientAddress, purpose: path, now: now, afterCompletion: path.hasPrefix("script/"))
        guard let file = record.files[path] else { throw AgentError.notFound("installation file", path) }
        if record.isRunning, record.answerFiles.contains(path), record.step < .installerStarted {
            try await update(record.serverId, type: "installation.progress") { record in
                if record.allowedAddress == nil { record.allowedAddress = clientAddress }
                record.record(.installerStarted, "answer file \(path) fetched by \(clientAddress ?? "?")")
                return record.progress.last?.message ?? ""
            }
        }
        return file
    }

    /// GET/POST /boot/{token}/progress?step=&message=; `step=failed` fails the installation.
    public func progress(token: String, step: String?, message: String?, clientAddress: String?, now: Date = Date()) async throws {
        let record = try await authorized(token: token, clientAddress: clientAddress, purpose: "progress", now: now, afterCompletion: true)
        let text = Self.sanitize(message ?? step ?? "progress")
        if step == "failed", record.isRunning {
            _ = try await finish(record.serverId, state: .failed, message: "reported by the server: \(text)", resetPower: false)
            return
        }
        try await update(record.serverId, type: "installation.progress") { record in
            let target: InstallationStep = record.isRunning && record.step >= .installerStarted && record.step < .installing ? .installing : record.step
            record.record(target, "\(Self.sanitize(step ?? "progress")): \(text)")
            return record.progress.last?.message ?? ""
        }
    }

    /// GET/POST /boot/{token}/done?event=; the kind's completion event completes the installation.
    public func done(token: String, event: String?, clientAddress: String?, now: Date = Date()) async throws {
        let record = try await authorized(token: token, clientAddress: clientAddress, purpose: "done", now: now, afterCompletion: true)
        let event = Self.sanitize(event ?? "done")
        if record.isRunning, event == record.completionEvent {
            _ = try await finish(record.serverId, state: .completed, message: "completed (\(event))", resetPower: false)
            return
        }
        try await update(record.serverId, type: "installation.progress") { record in
            let target: InstallationStep
            switch event {
            case "installerFinished" where record.isRunning: target = max(record.step, .installing)
            case "firstBootBeforeScriptExecution" where record.isRunning: target = max(record.step, .firstBoot)
            default: target = record.step
            }
            record.record(target, "event \(event)")
            return record.progress.last?.message ?? ""
        }
    }

    /// POST /boot/{token}/inventory: normalised, kept, sent as `inventory.collected`; completes a hardware detection.
    public func inventory(token: String, report: JSONValue, clientAddress: String?, now: Date = Date()) async throws -> JSONValue {
        let record = try await authorized(token: token, clientAddress: clientAddress, purpose: "inventory", now: now, afterCompletion: true)
        let inventory = try HardwareInventory.normalize(report)
        try await database.writer.write { db in
            try InstallationStore.putInventory(record.serverId, inventory, at: now, in: db)
            try self.outbox.append(OutboxEvent(type: "inventory.collected", data: ["serverId": .string(record.serverId), "inventory": inventory]), in: db)
        }
        if record.isRunning, record.kind == .hardwareDetection {
            _ = try await finish(record.serverId, state: .completed, message: "inventory collected", resetPower: false)
        } else {
            try await update(record.serverId, type: "installation.progress") { record in
                record.record(record.step, "inventory collected")
                return "inventory collected"
            }
        }
        return inventory
    }

    /// The record behind a token, or a 404 (logged) when the token is unknown, expired or used from elsewhere.
    private func authorized(token: String, clientAddress: String?, purpose: String, now: Date, afterCompletion: Bool) async throws -> InstallationRecord {
        guard token.count == 48, token.allSatisfy(\.isHexDigit),
            let record = try await database.writer.read({ db in try InstallationStore.byToken(token, in: db) })
        else {
            refusals.log(logger, level: .warning, kind: "unknown-token", "boot URL with an unknown token refused", metadata: [
                "purpose": "\(purpose)", "client": "\(clientAddress ?? "-")",
            ])
            throw InstallationError.unknownToken
        }
        let inGrace = record.state == .completed && afterCompletion
            && (record.finishedAt.map { now.timeIntervalSince($0) < Double(settings.completionGraceMinutes) * 60 } ?? false)
        guard record.isRunning || inGrace else {
            refusals.log(logger, level: .warning, kind: "finished-\(record.serverId)", "boot URL of a finished installation refused", metadata: [
                "serverId": "\(record.serverId)", "purpose": "\(purpose)", "state": "\(record.state.rawValue)",
            ])
            throw InstallationError.unknownToken
        }
        guard addressAllowed(record, clientAddress) else {
            refusals.log(logger, level: .warning, kind: "address-\(record.serverId)", "boot URL refused: wrong client address", metadata: [
                "serverId": "\(record.serverId)", "purpose": "\(purpose)", "client": "\(clientAddress ?? "-")", "expected": "\(record.allowedAddress ?? "-")"])
            throw InstallationError.unknownToken
        }
        return record
    }

    // MARK: - Transitions

    /// Read-modify-write of one record with its outbox event, in one transaction. `change` returns the event message.
    @discardableResult
    func update(_ serverId: String, type: String, _ change: @escaping @Sendable (inout InstallationRecord) throws -> String) async throws -> InstallationRecord {
        try await database.writer.write { db in
            guard var record = try InstallationStore.get(serverId, in: db) else { throw AgentError.notFound("installation for server", serverId) }
            let message = try change(&record)
            try InstallationStore.put(record, in: db)
            try self.outbox.append(record.event(type, message: message), in: db)
            return record
        }
    }

    func transition(_ serverId: String, to step: InstallationStep, _ message: String) async throws {
        try await update(serverId, type: "installation.progress") { record in
            // Once ending, the preparation records nothing more: clean-up reads what was reached.
            guard record.isRunning, record.ending == nil else { throw InstallationError.notRunning(serverId) }
            record.record(step, message)
            return message
        }
    }

    /// Ends a running installation (completed, failed, aborted): stops its driver (waiting for the step in flight, so
    /// clean-up knows everything that was done), marks it ending, cleans up (PXE off and DHCP restored, boot device
    /// disk, a power reset when aborting), then records the end together with what clean-up did, in one
    /// transaction with its `installation.<state>` event: the controller never hears "completed" for an installation
    /// whose clean-up has not run, and hears which clean-up step failed. Returns nil when it was not running (or
    /// another caller is already ending it).
    func finish(_ serverId: String, state: InstallationState, message: String, resetPower: Bool) async throws -> InstallationRecord? {
        guard endings[serverId] == nil else { return nil }
        let driver = Self.drivenInstallation == serverId ? nil : drivers[serverId]
        // Everything in a task of its own, registered in this actor turn: the caller may be the driver itself, or a
        // request whose client goes away while the driver stops, and the claim, the clean-up and the final record
        // must happen regardless.
        let ending = Task { () async throws -> InstallationRecord? in
            defer { self.endingFinished(serverId) }
            if let driver {
                driver.cancel()
                await Self.waitForEnd(of: driver, upTo: Self.driverStopWait)
            }
            let claimed: Bool = try await self.database.writer.write { db in
                guard var record = try InstallationStore.get(serverId, in: db), record.isRunning, record.ending == nil else { return false }
                record.ending = InstallationEnding(state: state, message: message, resetPower: resetPower, reached: record.step)
                record.cleanup = []
                record.record(.cleanup, "ending (\(state.rawValue)): \(message); cleaning up")
                try InstallationStore.put(record, in: db)
                try self.outbox.append(record.event("installation.progress", message: record.progress.last?.message ?? ""), in: db)
                return true
            }
            guard claimed else { return nil }
            return try await self.completeEnding(serverId)
        }
        endings[serverId] = ending
        return try await ending.value
    }

    private func endingFinished(_ serverId: String) {
        endings[serverId] = nil
    }

    /// Waits until `task` has ended, or `limit` has passed (whichever comes first; the task is not waited for after).
    static func waitForEnd(of task: Task<Void, Never>, upTo limit: Duration) async {
        let (done, signal) = AsyncStream<Void>.makeStream()
        let watcher = Task {
            await task.value
            signal.finish()
        }
        let timer = Task {
            try? await Task.sleep(for: limit)
            signal.finish()
        }
        for await _ in done {}
        watcher.cancel()
        timer.cancel()
    }

    /// Clean-up for an installation marked ending, then its end. Each step's outcome is stored as it completes, so
    /// an ending completed after a restart does not repeat a step that already succeeded (a second power reset).
    private func completeEnding(_ serverId: String) async throws -> InstallationRecord {
        guard let record = try await store.get(serverId), record.isRunning, let ending = record.ending else {
            throw InstallationError.notRunning(serverId)
        }
        for step in plannedCleanup(record, reached: ending.reached, resetPower: ending.resetPower)
        where !(record.cleanup ?? []).contains(where: { $0.name == step.name && $0.succeeded }) {
            let outcome = await cleanupStep(step.name, step.work)
            try await database.writer.write { db in
                guard var stored = try InstallationStore.get(serverId, in: db) else { return }
                stored.cleanup = (stored.cleanup ?? []).filter { $0.name != outcome.name } + [outcome]
                stored.record(.cleanup, "\(outcome.name): \(outcome.succeeded ? "" : "FAILED: ")\(outcome.detail)")
                try InstallationStore.put(stored, in: db)
            }
        }
        let now = Date()
        let ended = try await database.writer.write { db -> InstallationRecord in
            guard var record = try InstallationStore.get(serverId, in: db) else { throw AgentError.notFound("installation for server", serverId) }
            record.state = ending.state
            record.finishedAt = now
            if ending.state == .failed { record.error = ending.message }
            record.connection = nil
            let steps = record.cleanup ?? []
            let failed = steps.filter { !$0.succeeded }
            let summary = "\(record.kind.rawValue) \(ending.state.rawValue): \(ending.message)"
                + (failed.isEmpty ? "" : "; clean-up failed: \(failed.map(\.name).joined(separator: ", "))")
            record.record(.finished, summary, at: now)
            try InstallationStore.put(record, in: db)
            try self.outbox.append(record.event("installation.\(ending.state.rawValue)", message: summary), in: db)
            try self.actionLog.append(
                ActionLogEntry(rootType: "servers", rootId: serverId,
                               description: ending.state == .aborted ? "Aborted PXE provisioning" : "Installation \(ending.state.rawValue)",
                               loglevel: failed.isEmpty ? .info : .error,
                               meta: ["kind": .string(record.kind.rawValue), "text": .string(summary), "cleanup": .array(steps.map(\.json))]),
                in: db)
            return record
        }
        await consoleCapture?.stopCapture(serverId: serverId)
        logger.info("installation \(ending.state.rawValue)", metadata: ["serverId": "\(serverId)", "message": "\(ending.message)",
                                                                        "cleanupComplete": "\(ended.cleanupComplete)"])
        return ended
    }

    /// One clean-up step to run.
    struct PlannedCleanup: Sendable {
        let name: String
        let work: @Sendable () async throws -> String
    }

    /// The clean-up an ending needs. `reached` is the step the installation had got to: only what it did is undone.
    private func plannedCleanup(_ record: InstallationRecord, reached: InstallationStep, resetPower: Bool) -> [PlannedCleanup] {
        var steps: [PlannedCleanup] = []
        let finalState = record.ending?.state ?? record.state
        let dhcp = self.dhcp
        if let mac = record.mac, reached >= .dhcp, record.dhcpEntry != nil {
            steps.append(PlannedCleanup(name: "dhcp") {
                if let previous = try record.previousDHCP.map(DHCPEntryStore.decode) {
                    try await dhcp.put(previous)
                    return "DHCP entry \(mac) restored as it was before (\(previous.permanent ? "permanent" : "temporary"), PXE \(previous.pxe ? "on" : "off"))"
                } else if record.permanentDHCP, finalState == .completed, var entry = try record.dhcpEntry.map(DHCPEntryStore.decode) {
                    entry.pxe = false
                    entry.permanent = true
                    entry.keepMinutes = nil
                    entry.expiresAt = nil
                    try await dhcp.put(entry)
                    return "DHCP entry \(mac) kept permanently, PXE off (enable_permanent_dhcp)"
                } else if let current = try await dhcp.store.get(mac), current.serverId == record.serverId {
                    try await dhcp.delete(mac)
                    return "temporary DHCP entry \(mac) removed"
                }
                return "no DHCP entry to remove"
            })
        }
        if let power, let connection = record.connection, record.powerAction != .noRestart, reached >= .power {
            steps.append(PlannedCleanup(name: "bootDevice") { "boot device \(try await power.setBootDevice("disk", connection: connection))" })
            if resetPower {
                steps.append(PlannedCleanup(name: "power") { try await power.reset(connection: connection).description })
            }
        }
        return steps
    }

    /// Runs one clean-up step: what it did, or its error.
    private func cleanupStep(_ name: String, _ work: () async throws -> String) async -> CleanupStep {
        do {
            return CleanupStep(name: name, succeeded: true, detail: try await work())
        } catch {
            return CleanupStep(name: name, succeeded: false, detail: AgentError.from(error).message)
        }
    }

    // MARK: - Helpers

    /// 24 random bytes as hex: unguessable, URL-safe.
    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// What completes an installation of this kind.
    static func completionEvent(_ request: InstallationRequest) -> String {
        switch request.kind {
        case .install: return request.profile?.completionEvent ?? "firstBootAfterScriptExecution"
        case .rescue: return "rescueReady"
        case .diskWipe: return "diskWipeFinished"
        case .passwordReset: return "passwordResetFinished"
        case .hardwareDetection: return "inventoryCollected"
        }
    }

    /// Messages from booting servers: printable, bounded.
    static func sanitize(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(300).map(Character.init))
    }
}

/// Resumes installations a previous run left preparing, then every minute fails overdue ones and removes stale
/// dailyCleanup cache directories.
public struct InstallationMaintenance: Service {
    let manager: InstallationManager
    let logger: Logger

    public init(manager: InstallationManager, logger: Logger) {
        self.manager = manager
        self.logger = logger
    }

    public func run() async throws {
        do {
            try await manager.resume()
        } catch {
            logger.error("cannot resume installations", metadata: ["error": "\(AgentError.from(error).message)"])
        }
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await manager.maintenance()
                try? await Task.sleep(for: .seconds(60))
            }
        }
    }
}
