import AgentCore
import Foundation
import Logging

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

/// Runs installations: validates and stores them, drives their preparation (cache, DHCP entry, boot device and power)
/// in the background, serves what booting servers fetch through ``InstallationBootSide``, and ends them (clean-up,
/// then the final record) exactly once. The transitions themselves are pure (``InstallationRecord``'s state machine),
/// persisted with their events by ``InstallationLedger``; what touches the outside goes through
/// ``InstallationEffects``.
public actor InstallationManager: BootScriptProvider {
    let database: AgentDatabase
    public nonisolated let store: InstallationStore
    let ledger: InstallationLedger
    let effects: any InstallationEffects
    public nonisolated let cache: OSCache
    let renderer: InstallationRenderer
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

    /// A manager acting on the agent's own DHCP service, OS cache, ISO registry, power router and console.
    public init(
        database: AgentDatabase, outbox: Outbox, actionLog: ActionLog, dhcp: DHCPService, cache: OSCache, isos: ISORegistry, renderer: InstallationRenderer,
        power: (any InstallationPowerControl)?, consoleCapture: (any InstallationConsoleCapture)? = nil, settings: InstallationSettings, logger: Logger
    ) {
        self.init(
            database: database, outbox: outbox, actionLog: actionLog, cache: cache, renderer: renderer,
            effects: AgentInstallationEffects(dhcp: dhcp, cache: cache, isos: isos, power: power, consoleCapture: consoleCapture), settings: settings, logger: logger)
    }

    /// A manager acting through `effects` (`cache` is only cleaned up daily).
    public init(
        database: AgentDatabase, outbox: Outbox, actionLog: ActionLog, cache: OSCache, renderer: InstallationRenderer, effects: any InstallationEffects,
        settings: InstallationSettings, logger: Logger
    ) {
        self.database = database
        store = InstallationStore(database: database)
        ledger = InstallationLedger(database: database, outbox: outbox, actionLog: actionLog)
        self.effects = effects
        self.cache = cache
        self.renderer = renderer
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
        if let connection = request.connection, request.powerAction != .noRestart || request.bootISO != nil {
            guard let power = effects.power else { throw InstallationError.noPowerDrivers }
            try power.validate(connection: connection, virtualMedia: request.bootISO != nil)
        }
        let token = Self.newToken()
        let hash = request.rootPassword.map { SHA512Crypt.hash($0.revealed) } ?? ""
        let rendered = try renderer.render(request, token: token, bootBaseURL: settings.bootBaseURL, rootPasswordHash: hash)
        let plannedEntry = try InstallationRecord.plannedDHCPEntry(for: request, now: now)
        if let plannedEntry { try await effects.checkDHCPConflicts(plannedEntry) }
        let record = try InstallationRecord(
            request, token: token, rendered: rendered, plannedDHCPEntry: plannedEntry, deadline: now.addingTimeInterval(Double(settings.timeoutMinutes) * 60),
            now: now)
        try await ledger.create(record)
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
            } else if let connection = record.connection, record.powerAction != .noRestart {
                let effects = effects
                Task { await effects.startConsoleCapture(serverId: record.serverId, connection: connection) }
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
                    try await ledger.advance(serverId, to: .caching, "fetching \(profile.cacheFiles.count) files into \(profile.cacheDirectory) (\(profile.cachingPolicy))")
                    try await ledger.advance(serverId, to: .caching, try await effects.prepareCache(profile))
                } else {
                    try await ledger.advance(serverId, to: .caching, "nothing to cache")
                }
            }
            if record.step <= .caching, let isoId = record.bootISO {
                try await ledger.advance(serverId, to: .caching, "waiting for ISO \(isoId) to be cached")
                let image = try await effects.readyISO(isoId)
                try await ledger.advance(serverId, to: .caching, "ISO \(isoId) (\(image.name)) cached, sha256 \(image.sha256 ?? "unknown")")
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
                if let isoId = record.bootISO, let power = effects.power, let connection = record.connection {
                    try await ledger.advance(serverId, to: .power, "mounting ISO \(isoId) as virtual media")
                    let effects = effects
                    Task { await effects.startConsoleCapture(serverId: serverId, connection: connection) }
                    // Looked up again: the image must still be the cached one (not deleted or replaced meanwhile).
                    let image = try await effects.readyISO(isoId)
                    let mounted = try await power.mountBootMedia(imageURL: image.servedURL(bootBaseURL: settings.bootBaseURL), connection: connection)
                    try await ledger.advance(serverId, to: .power, "virtual media: \(mounted)")
                    if record.powerAction == .noRestart {
                        try await ledger.advance(serverId, to: .power, "power left alone (installPowerAction noRestart): restart the server to boot the ISO")
                    } else {
                        let restart = try await power.restart(connection: connection, hard: record.powerAction == .powerReset)
                        try await ledger.advance(serverId, to: .power, "power: \(restart)")
                    }
                } else if record.powerAction == .noRestart || record.connection == nil {
                    try await ledger.advance(serverId, to: .power, "power left alone (installPowerAction noRestart): boot the server from the network")
                } else if let power = effects.power, let connection = record.connection {
                    try await ledger.advance(serverId, to: .power, "setting the boot device to PXE")
                    // The serial console is watched from before the restart, so the whole boot is in its log; its
                    // start (a slow BMC) never holds the installation up.
                    let effects = effects
                    Task { await effects.startConsoleCapture(serverId: serverId, connection: connection) }
                    let boot = try await power.setBootDevice("pxe", connection: connection)
                    try await ledger.advance(serverId, to: .power, "boot device: \(boot)")
                    let restart = try await power.restart(connection: connection, hard: record.powerAction == .powerReset)
                    try await ledger.advance(serverId, to: .power, "power: \(restart)")
                }
            }
            _ = try await currentRunning(serverId)
            if let isoId = record.bootISO {
                try await ledger.advance(
                    serverId, to: .waitingForBoot, "waiting for the installer on ISO \(isoId) to fetch its answer file or report through the installation's URLs")
            } else {
                try await ledger.advance(serverId, to: .waitingForBoot, "waiting for \(record.mac?.description ?? "the server") to fetch its boot script")
            }
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

    private func putDHCPEntry(_ serverId: String) async throws {
        let record = try await currentRunning(serverId)
        guard let mac = record.mac, let planned = try record.dhcpEntry.map(DHCPEntryStore.decode) else {
            try await ledger.advance(serverId, to: .dhcp, "no DHCP entry needed")
            return
        }
        let (entry, replaced) = InstallationRecord.dhcpEntryToPut(planned: planned, existing: try await effects.dhcpEntry(mac), serverId: serverId, now: Date())
        try await ledger.update(serverId) { try $0.puttingDHCPEntry(entry, replacing: replaced) }
        try await effects.putDHCPEntry(entry)
        try await ledger.advance(serverId, to: .dhcp, "DHCP entry \(mac) live")
    }

    // MARK: - Boot side

    /// The boot side, ending installations through this manager.
    nonisolated var bootSide: InstallationBootSide {
        InstallationBootSide(database: database, ledger: ledger, settings: settings, refusals: refusals, logger: logger) { serverId, state, message in
            _ = try await self.finish(serverId, state: state, message: message, resetPower: false)
        }
    }

    /// The iPXE script for a MAC with a running installation that has not reached its installer yet.
    public nonisolated func bootScript(for mac: MACAddress, architecture: BootArchitecture, clientAddress: String?) async throws -> String? {
        try await bootSide.bootScript(for: mac, architecture: architecture, clientAddress: clientAddress)
    }

    /// A file by boot path, for the installation's own address only; first fetch of the answer file = installer started.
    public nonisolated func file(token: String, path: String, clientAddress: String?, now: Date = Date()) async throws -> RenderedFile {
        try await bootSide.file(token: token, path: path, clientAddress: clientAddress, now: now)
    }

    /// GET/POST /boot/{token}/progress?step=&message=; `step=failed` fails the installation.
    public nonisolated func progress(token: String, step: String?, message: String?, clientAddress: String?, now: Date = Date()) async throws {
        try await bootSide.progress(token: token, step: step, message: message, clientAddress: clientAddress, now: now)
    }

    /// GET/POST /boot/{token}/done?event=; the kind's completion event completes the installation.
    public nonisolated func done(token: String, event: String?, clientAddress: String?, now: Date = Date()) async throws {
        try await bootSide.done(token: token, event: event, clientAddress: clientAddress, now: now)
    }

    /// POST /boot/{token}/inventory: normalised, kept, sent as `inventory.collected`; completes a hardware detection.
    public nonisolated func inventory(token: String, report: JSONValue, clientAddress: String?, now: Date = Date()) async throws -> JSONValue {
        try await bootSide.inventory(token: token, report: report, clientAddress: clientAddress, now: now)
    }

    // MARK: - Ending

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
            guard try await self.ledger.beginEnding(serverId, state: state, message: message, resetPower: resetPower) else { return nil }
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
        for action in record.pendingCleanup(canSwitchPower: effects.power != nil) {
            let outcome: CleanupStep
            do {
                outcome = CleanupStep(name: action.name, succeeded: true, detail: try await perform(action, for: record))
            } catch {
                outcome = CleanupStep(name: action.name, succeeded: false, detail: AgentError.from(error).message)
            }
            try await ledger.recordCleanup(serverId, outcome)
        }
        let ended = try await ledger.end(serverId, at: Date())
        await effects.stopConsoleCapture(serverId: serverId)
        logger.info("installation \(ending.state.rawValue)", metadata: ["serverId": "\(serverId)", "message": "\(ending.message)",
                                                                        "cleanupComplete": "\(ended.cleanupComplete)"])
        return ended
    }

    /// Runs one clean-up step; what it did, in words.
    private func perform(_ action: CleanupAction, for record: InstallationRecord) async throws -> String {
        switch action {
        case .dhcp(let mac):
            switch try record.dhcpCleanup(of: mac) {
            case .restore(let previous):
                try await effects.putDHCPEntry(previous)
                return "DHCP entry \(previous.mac) restored as it was before (\(previous.permanent ? "permanent" : "temporary"), PXE \(previous.pxe ? "on" : "off"))"
            case .keepPermanently(let entry):
                try await effects.putDHCPEntry(entry)
                return "DHCP entry \(entry.mac) kept permanently, PXE off (enable_permanent_dhcp)"
            case .removeTemporary(let mac):
                guard let current = try await effects.dhcpEntry(mac), current.serverId == record.serverId else { return "no DHCP entry to remove" }
                try await effects.removeDHCPEntry(mac)
                return "temporary DHCP entry \(mac) removed"
            }
        case .ejectMedia(let connection):
            guard let power = effects.power else { throw InstallationError.noPowerDrivers }
            return try await power.ejectBootMedia(connection: connection).description
        case .bootFromDisk(let connection):
            guard let power = effects.power else { throw InstallationError.noPowerDrivers }
            return "boot device \(try await power.setBootDevice("disk", connection: connection))"
        case .resetPower(let connection):
            guard let power = effects.power else { throw InstallationError.noPowerDrivers }
            return try await power.reset(connection: connection).description
        }
    }

    // MARK: - Helpers

    /// 24 random bytes as hex: unguessable, URL-safe.
    static func newToken() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<24).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }
}
