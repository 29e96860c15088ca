import AgentCore
import Foundation
@testable import Provisioning
import Testing

/// The installation state machine's transitions and clean-up plans, with no database and no peer.
struct InstallationStateMachineTests {
    static let mac = MACAddress("52:54:00:12:34:56")!
    static let bmc: JSONValue = ["type": "ipmi", "meta": ["ip": "127.0.0.1", "username": "admin", "password": "secret"]]
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func entry(serverId: String? = "61", permanent: Bool = false, pxe: Bool = true) -> DHCPEntry {
        DHCPEntry(mac: mac, serverId: serverId, hostname: "web1", ipv4: DHCPEntry.Address(ip: "10.0.0.5", cidr: 24, gateway: "10.0.0.1"),
                  permanent: permanent, keepMinutes: permanent ? nil : 120, pxe: pxe)
    }

    static func record(step: InstallationStep = .prepared, connection: JSONValue? = bmc, powerAction: InstallPowerAction = .powerCycle,
                       permanentDHCP: Bool = false, allowedAddress: String? = "10.0.0.5") throws -> InstallationRecord {
        InstallationRecord(
            serverId: "61", token: String(repeating: "ab", count: 24), kind: .install, state: .running, step: step, mac: mac,
            allowedAddress: allowedAddress, hostname: "web1", profileDocument: nil, profileName: "debian12", completionEvent: "firstBootAfterScriptExecution",
            powerAction: powerAction, permanentDHCP: permanentDHCP, files: ["ipxe": RenderedFile("#!ipxe")], answerFiles: ["preseed.cfg"],
            dhcpEntry: try DHCPEntryStore.document(entry()), previousDHCP: nil, connection: connection, progress: [], error: nil,
            createdAt: start, updatedAt: start, deadline: start.addingTimeInterval(3600), finishedAt: nil, ending: nil, cleanup: nil)
    }

    @Test func preparationStopsOnceTheInstallationIsEnding() throws {
        var record = try Self.record()
        try record.advance(to: .caching, "nothing to cache")
        #expect(record.step == .caching && record.progress.last?.message == "nothing to cache")
        let claimed = record.beginEnding(.aborted, message: "aborted", resetPower: true)
        let claimedAgain = record.beginEnding(.failed, message: "again", resetPower: false)
        #expect(claimed && !claimedAgain, "an ending is claimed once")
        #expect(throws: InstallationError.self) { try record.advance(to: .dhcp, "late") }
        #expect(record.ending?.reached == .caching && record.step == .cleanup)
    }

    @Test func aPermanentEntryStaysPermanentAndIsRestored() {
        let planned = Self.entry()
        let permanent = Self.entry(serverId: nil, permanent: true, pxe: false)
        let kept = InstallationRecord.dhcpEntryToPut(planned: planned, existing: permanent, serverId: "61", now: Self.start)
        #expect(kept.entry.permanent && kept.entry.expiresAt == nil && kept.entry.pxe && kept.replaces == permanent)
        let fresh = InstallationRecord.dhcpEntryToPut(planned: planned, existing: nil, serverId: "61", now: Self.start)
        #expect(!fresh.entry.permanent && fresh.entry.expiresAt == Self.start.addingTimeInterval(7200) && fresh.replaces == nil)
        // The installation's own entry from an interrupted run is not "the entry it had before".
        let ours = InstallationRecord.dhcpEntryToPut(planned: planned, existing: Self.entry(), serverId: "61", now: Self.start)
        #expect(ours.replaces == nil)
    }

    @Test func bootRequestsAreBoundToTheServersAddress() throws {
        var record = try Self.record(step: .waitingForBoot)
        #expect(record.allows("10.0.0.5") && !record.allows("10.0.0.6") && !record.allows(nil) && !record.allows("not an address"))
        var unbound = try Self.record(step: .waitingForBoot, allowedAddress: nil)
        #expect(unbound.allows("10.0.0.9"))
        unbound.bootScriptFetched(by: "10.0.0.9", architecture: .efi)
        #expect(unbound.allowedAddress == "10.0.0.9" && !unbound.allows("10.0.0.5") && unbound.step == .bootScriptFetched)
        #expect(record.servesBootScript && !record.startsInstaller("ipxe") && record.startsInstaller("preseed.cfg"))
        record.installerStarted(path: "preseed.cfg", by: "10.0.0.5")
        #expect(!record.servesBootScript && !record.startsInstaller("preseed.cfg"))
        record.progressReported(step: "partman", message: "partitioning")
        #expect(record.step == .installing && record.progress.last?.message == "partman: partitioning")
        record.eventReported("firstBootBeforeScriptExecution")
        #expect(record.step == .firstBoot && !record.completes(on: "installerFinished") && record.completes(on: "firstBootAfterScriptExecution"))
    }

    @Test func aFinishedInstallationAnswersOnlyDuringItsGrace() throws {
        var record = try Self.record(step: .firstBoot)
        #expect(record.acceptsBootRequests(afterCompletion: false, graceMinutes: 180, now: Self.start))
        _ = record.beginEnding(.completed, message: "completed", resetPower: false)
        _ = record.end(at: Self.start)
        #expect(record.acceptsBootRequests(afterCompletion: true, graceMinutes: 180, now: Self.start.addingTimeInterval(179 * 60)))
        #expect(!record.acceptsBootRequests(afterCompletion: true, graceMinutes: 180, now: Self.start.addingTimeInterval(181 * 60)))
        #expect(!record.acceptsBootRequests(afterCompletion: false, graceMinutes: 180, now: Self.start))
        var failed = try Self.record(step: .installing)
        _ = failed.beginEnding(.failed, message: "reported by the server", resetPower: false)
        _ = failed.end(at: Self.start)
        #expect(!failed.acceptsBootRequests(afterCompletion: true, graceMinutes: 180, now: Self.start.addingTimeInterval(60)), "only a completed one has a grace")
    }

    @Test func cleanUpUndoesOnlyWhatWasDone() throws {
        var early = try Self.record(step: .caching)
        _ = early.beginEnding(.aborted, message: "aborted", resetPower: true)
        #expect(early.pendingCleanup(canSwitchPower: true).isEmpty, "nothing was put, nothing is undone")

        var powered = try Self.record(step: .power)
        _ = powered.beginEnding(.aborted, message: "aborted", resetPower: true)
        #expect(powered.pendingCleanup(canSwitchPower: true) == [.dhcp(Self.mac), .bootFromDisk(connection: Self.bmc), .resetPower(connection: Self.bmc)])
        #expect(powered.pendingCleanup(canSwitchPower: false) == [.dhcp(Self.mac)])
        powered.recordCleanup(CleanupStep(name: "bootDevice", succeeded: true, detail: "boot device disk"))
        powered.recordCleanup(CleanupStep(name: "power", succeeded: false, detail: "BMC unreachable"))
        #expect(powered.pendingCleanup(canSwitchPower: true) == [.dhcp(Self.mac), .resetPower(connection: Self.bmc)], "a step that succeeded is not repeated")

        var completed = try Self.record(step: .firstBoot, powerAction: .noRestart)
        _ = completed.beginEnding(.completed, message: "completed", resetPower: false)
        #expect(completed.pendingCleanup(canSwitchPower: true) == [.dhcp(Self.mac)], "noRestart: the boot device was never touched")
    }

    @Test func theDHCPCleanUpRestoresKeepsOrRemoves() throws {
        var restoring = try Self.record(step: .waitingForBoot)
        try restoring.puttingDHCPEntry(Self.entry(), replacing: Self.entry(serverId: nil, permanent: true, pxe: false))
        _ = restoring.beginEnding(.completed, message: "completed", resetPower: false)
        #expect(try restoring.dhcpCleanup(of: Self.mac) == .restore(Self.entry(serverId: nil, permanent: true, pxe: false)))

        var keeping = try Self.record(step: .firstBoot, permanentDHCP: true)
        _ = keeping.beginEnding(.completed, message: "completed", resetPower: false)
        guard case .keepPermanently(let kept) = try keeping.dhcpCleanup(of: Self.mac) else { Issue.record("enable_permanent_dhcp keeps the entry"); return }
        #expect(kept.permanent && !kept.pxe && kept.expiresAt == nil)

        var failing = try Self.record(step: .firstBoot, permanentDHCP: true)
        _ = failing.beginEnding(.failed, message: "timed out", resetPower: false)
        #expect(try failing.dhcpCleanup(of: Self.mac) == .removeTemporary(Self.mac), "only a completed installation keeps its entry")
    }

    @Test func theEndNamesFailedCleanUpAndDropsTheBMCPassword() throws {
        var record = try Self.record(step: .power)
        _ = record.beginEnding(.aborted, message: "aborted", resetPower: true)
        record.recordCleanup(CleanupStep(name: "dhcp", succeeded: true, detail: "temporary DHCP entry removed"))
        record.recordCleanup(CleanupStep(name: "power", succeeded: false, detail: "BMC unreachable"))
        let summary = record.end(at: Self.start)
        #expect(summary == "install aborted: aborted; clean-up failed: power")
        #expect(record.state == .aborted && record.step == .finished && record.connection == nil && record.finishedAt == Self.start && !record.cleanupComplete)
        #expect(InstallationRecord.sanitize("ok\u{1B}[2J\nnext") == "ok[2Jnext")
    }
}
