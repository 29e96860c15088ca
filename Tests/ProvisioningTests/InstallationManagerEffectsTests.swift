import AgentCore
import Foundation
import Logging
import PeerHarness
@testable import Provisioning
import Synchronization
import Testing

/// Stands in for the DHCP service, the OS cache, the BMC and the console: records every effect in order, and fails
/// the ones a test names.
final class RecordingEffects: InstallationEffects, InstallationPowerControl {
    private let state = Mutex<(log: [String], console: [String], entries: [MACAddress: DHCPEntry], failing: Set<String>)>(([], [], [:], []))

    var log: [String] { state.withLock { $0.log } }
    /// Console captures started and stopped (apart: a capture starts in a task of its own).
    var console: [String] { state.withLock { $0.console } }
    var entries: [MACAddress: DHCPEntry] { state.withLock { $0.entries } }

    func fail(_ effect: String) { state.withLock { _ = $0.failing.insert(effect) } }

    private func record(_ effect: String, _ detail: String) throws {
        let failing = state.withLock { state in
            state.log.append("\(effect) \(detail)")
            return state.failing.contains(effect)
        }
        if failing { throw AgentError(status: .badGateway, code: "bmc_unreachable", message: "\(effect) failed (test)") }
    }

    func prepareCache(_ profile: PXEProfile) async throws -> String {
        try record("cache", profile.cacheDirectory)
        return "cache ready (test)"
    }

    func dhcpEntry(_ mac: MACAddress) async throws -> DHCPEntry? { state.withLock { $0.entries[mac] } }
    func checkDHCPConflicts(_ planned: DHCPEntry) async throws {}

    func putDHCPEntry(_ entry: DHCPEntry) async throws {
        try record("putDHCP", "\(entry.mac) pxe=\(entry.pxe)")
        state.withLock { $0.entries[entry.mac] = entry }
    }

    func removeDHCPEntry(_ mac: MACAddress) async throws {
        try record("removeDHCP", "\(mac)")
        state.withLock { _ = $0.entries.removeValue(forKey: mac) }
    }

    var power: (any InstallationPowerControl)? { self }
    func startConsoleCapture(serverId: String, connection: JSONValue) async { state.withLock { $0.console.append("start \(serverId)") } }
    func stopConsoleCapture(serverId: String) async { state.withLock { $0.console.append("stop \(serverId)") } }

    func validate(connection: JSONValue, virtualMedia: Bool) throws {}

    func readyISO(_ id: String) async throws -> ISOImage {
        try record("iso", id)
        return ISOImage(
            id: id, name: "Test ISO", downloadUrl: "http://mirror.test/images/test.iso", state: .ready, cacheDirectory: "iso-\(id)", file: "test.iso",
            bytes: 42, sha256: String(repeating: "a", count: 64), verified: true, error: nil, updatedAt: Date())
    }

    func mountBootMedia(imageURL: String, connection: JSONValue) async throws -> InstallationPowerStep {
        try record("mount", imageURL)
        return .mediaMounted(imageURL, PowerStepCheck(verified: true, summary: "read back (test)"))
    }

    func ejectBootMedia(connection: JSONValue) async throws -> InstallationPowerStep {
        try record("eject", "")
        return .mediaEjected(PowerStepCheck(verified: true, summary: "read back (test)"))
    }

    func setBootDevice(_ device: String, connection: JSONValue) async throws -> InstallationPowerStep {
        try record("bootDevice", device)
        return .bootDevice(device, PowerStepCheck(verified: true, summary: "read back (test)"))
    }

    func restart(connection: JSONValue, hard: Bool) async throws -> InstallationPowerStep {
        try record("restart", hard ? "hard" : "cycle")
        return .restarted(hard: hard, PowerStepCheck(verified: true, summary: "verified online (test)"))
    }

    func reset(connection: JSONValue) async throws -> InstallationPowerStep {
        try record("reset", "")
        return .reset(PowerStepCheck(verified: true, summary: "verified online (test)"))
    }
}

/// The manager's orchestration through the effects seam: what it does, in which order, and what an effect that
/// fails leaves behind; no DHCP server, BMC or mirror involved.
final class InstallationManagerEffectsTests {
    let directory: TemporaryDirectory
    let database: AgentDatabase
    let outbox: Outbox
    let effects = RecordingEffects()
    let manager: InstallationManager

    init() throws {
        directory = try TemporaryDirectory()
        database = try AgentDatabase(path: directory.file("agent.sqlite"), migrations: ProvisioningSchema.migrations + InstallationStore.migrations)
        let logger = Logger(label: "test")
        outbox = Outbox(database: database, maximumEvents: 10_000, logger: logger)
        manager = InstallationManager(
            database: database, outbox: outbox, actionLog: ActionLog(database: database),
            cache: OSCache(directory: directory.file("cache"), timeoutSeconds: 5, logger: logger),
            renderer: InstallationRenderer(library: InstallationFixtures.library), effects: effects,
            settings: InstallationSettings(bootBaseURL: "http://10.10.10.1:8080", timeoutMinutes: 60), logger: logger)
    }

    deinit { directory.remove() }

    static let body = InstallationFixtures.body(profile: InstallationFixtures.profile("kickstart"), overrides: [
        "installPowerAction": "powerCycle", "connection": ["type": "ipmi", "meta": ["ip": "127.0.0.1", "username": "admin", "password": "secret"]],
    ])

    func prepared() async throws -> InstallationRecord {
        _ = try await manager.start(serverId: "61", body: Self.body)
        // A bound, not a speed: every step writes SQLite, and under the whole suite's load that has taken seconds.
        let record = try #require(try await manager.waitForPreparation("61", timeout: .seconds(60)))
        #expect(record.step == .waitingForBoot, "\(record.progress.map(\.message))")
        return record
    }

    @Test func preparationRunsCacheDHCPBootDeviceThenPower() async throws {
        let record = try await prepared()
        #expect(effects.log == ["cache rocky9", "putDHCP 52:54:00:12:34:56 pxe=true", "bootDevice pxe", "restart cycle"])
        #expect(record.progress.map(\.message).contains("boot device: pxe (read back (test))"))
        #expect(record.progress.map(\.message).contains("power: power cycled (verified online (test))"))
    }

    /// The ISO's id as a number, as the seed sends ids (the string form goes through the API test).
    static let isoBody = InstallationFixtures.body(profile: InstallationFixtures.profile("kickstart", overrides: ["isoId": 7]), overrides: [
        "installPowerAction": "powerCycle", "connection": ["type": "redfish", "meta": ["ip": "127.0.0.1", "username": "admin", "password": "secret"]],
    ])

    /// A profile naming an ISO: the image must be cached, the DHCP entry gives the address without network boot, the
    /// ISO is mounted with the next boot set to it instead of PXE, then the restart; the end ejects it.
    @Test func anISOProfileMountsTheImageInsteadOfNetworkBoot() async throws {
        _ = try await manager.start(serverId: "61", body: Self.isoBody)
        let record = try #require(try await manager.waitForPreparation("61", timeout: .seconds(60)))
        #expect(record.step == .waitingForBoot, "\(record.progress.map(\.message))")
        #expect(effects.log == [
            "cache rocky9", "iso 7", "putDHCP 52:54:00:12:34:56 pxe=false", "iso 7", "mount http://10.10.10.1:8080/boot/files/iso-7/test.iso", "restart cycle",
        ], "\(effects.log)")
        #expect(record.progress.map(\.message).contains("virtual media: http://10.10.10.1:8080/boot/files/iso-7/test.iso mounted, next boot from the virtual CD (read back (test))"))

        let ended = try await manager.abort("61", withoutPowerReset: false)
        #expect(ended.cleanup?.map(\.name) == ["dhcp", "virtualMedia", "bootDevice", "power"], "\(ended.cleanup ?? [])")
        #expect(effects.log.suffix(4) == ["removeDHCP 52:54:00:12:34:56", "eject ", "bootDevice disk", "reset "], "\(effects.log)")
    }

    /// A BMC that takes the insert and never mounts the image (the mount is not read back): the server is never
    /// restarted, and the end still ejects and sets the disk.
    @Test func anISOTheBMCDoesNotMountIsNeverBooted() async throws {
        effects.fail("mount")
        _ = try await manager.start(serverId: "61", body: Self.isoBody)
        var record = try #require(try await manager.status("61"))
        let deadline = ContinuousClock.now + .seconds(60)
        while record.isRunning, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            record = try #require(try await manager.status("61"))
        }
        #expect(record.state == .failed && record.error?.contains("mount failed") == true, "\(record.state) \(record.error ?? "")")
        #expect(!effects.log.contains { $0.hasPrefix("restart") || $0.hasPrefix("bootDevice pxe") }, "\(effects.log)")
        #expect(effects.log.suffix(2) == ["eject ", "bootDevice disk"], "\(effects.log)")
    }

    /// noRestart with an ISO: the image is mounted and the next boot set, the server is not restarted, and an abort
    /// does not reset it either (the agent never switched its power).
    @Test func anISOWithNoRestartIsMountedAndNeverPowerSwitched() async throws {
        var body = Self.isoBody
        if case .object(var members) = body {
            members["installPowerAction"] = "noRestart"
            body = .object(members)
        }
        _ = try await manager.start(serverId: "61", body: body)
        let record = try #require(try await manager.waitForPreparation("61", timeout: .seconds(60)))
        #expect(record.step == .waitingForBoot, "\(record.progress.map(\.message))")
        let ended = try await manager.abort("61", withoutPowerReset: false)
        #expect(ended.cleanup?.map(\.name) == ["dhcp", "virtualMedia", "bootDevice"], "\(ended.cleanup ?? [])")
        #expect(!effects.log.contains { $0.hasPrefix("restart") || $0.hasPrefix("reset") }, "\(effects.log)")
        #expect(effects.log.contains("mount http://10.10.10.1:8080/boot/files/iso-7/test.iso"), "\(effects.log)")
    }

    /// A profile that boots an ISO needs a redfish connection (virtual media), named in the 400.
    @Test func anISOProfileNeedsARedfishConnection() async throws {
        let ipmi = InstallationFixtures.body(profile: InstallationFixtures.profile("kickstart", overrides: ["isoId": "7"]), overrides: [
            "installPowerAction": "powerCycle", "connection": ["type": "ipmi", "meta": ["ip": "127.0.0.1", "username": "admin", "password": "secret"]],
        ])
        await #expect { try await manager.start(serverId: "61", body: ipmi) } throws: { AgentError.from($0).details["field"] == "connection.type" }
        let badId = InstallationFixtures.body(profile: InstallationFixtures.profile("kickstart", overrides: ["isoId": "../7"]), overrides: [:])
        await #expect { try await manager.start(serverId: "61", body: badId) } throws: { AgentError.from($0).details["field"] == "profile.isoId" }
        #expect(try await manager.status("61") == nil)
    }

    @Test func anAbortPutsBackEverythingThePreparationDid() async throws {
        _ = try await prepared()
        let ended = try await manager.abort("61", withoutPowerReset: false)
        #expect(Array(effects.log.dropFirst(4)) == ["removeDHCP 52:54:00:12:34:56", "bootDevice disk", "reset "])
        #expect(ended.state == .aborted && ended.cleanupComplete && ended.connection == nil && effects.entries.isEmpty)
        // The console was kept from before the restart, and is let go once, at the end.
        for _ in 0..<1500 where !effects.console.contains("start 61") { try await Task.sleep(for: .milliseconds(20)) }
        #expect(effects.console.first == "start 61" && effects.console.filter { $0 == "stop 61" }.count == 1, "\(effects.console)")
    }

    /// The server reports completion while the controller aborts: one of them ends the installation, the clean-up
    /// runs once and the controller hears one end.
    @Test func anAbortAndACompletionAtOnceEndTheInstallationOnce() async throws {
        let record = try await prepared()
        let manager = manager
        await withTaskGroup(of: Void.self) { group in
            group.addTask { _ = try? await manager.abort("61", withoutPowerReset: true) }
            group.addTask { try? await manager.done(token: record.token, event: "firstBootAfterScriptExecution", clientAddress: "10.10.10.30") }
        }
        let ended = try #require(try await manager.status("61"))
        #expect([.aborted, .completed].contains(ended.state) && ended.cleanup?.map(\.name) == ["dhcp", "bootDevice"], "\(ended.cleanup ?? [])")
        #expect(effects.log.filter { $0.hasPrefix("removeDHCP") }.count == 1 && effects.log.filter { $0 == "bootDevice disk" }.count == 1)
        let ends = try await outbox.pendingEvents().filter { ["installation.aborted", "installation.completed"].contains($0.type) }
        #expect(ends.count == 1, "\(ends.map(\.type))")
    }

    @Test func aFailedCleanUpStepIsNamedAndNotRepeatedWhenItSucceeded() async throws {
        _ = try await prepared()
        effects.fail("reset")
        await #expect(throws: InstallationError.self) { _ = try await manager.abort("61", withoutPowerReset: false) }
        let record = try #require(try await manager.status("61"))
        #expect(record.state == .aborted && !record.cleanupComplete)
        #expect(record.cleanup?.map(\.name) == ["dhcp", "bootDevice", "power"] && record.cleanup?.last?.succeeded == false)
        #expect(record.progress.last?.message == "install aborted: aborted; clean-up failed: power")
    }

    @Test func aBMCThatRefusesTheBootDeviceFailsTheInstallationAndIsSetBackToDisk() async throws {
        effects.fail("bootDevice")
        _ = try await manager.start(serverId: "61", body: Self.body)
        var record = try #require(try await manager.waitForPreparation("61", timeout: .seconds(60)))
        for _ in 0..<1200 where record.isRunning {
            try await Task.sleep(for: .milliseconds(50))
            record = try #require(try await manager.status("61"))
        }
        #expect(record.state == .failed && record.error == "bootDevice failed (test)")
        // The restart never happened; clean-up still tried the boot device (reached .power) and removed the entry.
        #expect(!effects.log.contains("restart cycle"))
        #expect(effects.log.suffix(2) == ["removeDHCP 52:54:00:12:34:56", "bootDevice disk"])
    }
}
