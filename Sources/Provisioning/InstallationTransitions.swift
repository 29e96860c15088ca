import AgentCore
import Foundation

/// The installation state machine: every transition is a pure change of an ``InstallationRecord`` that records its
/// message in the progress. ``InstallationLedger`` persists each one with its outbox event; nothing here touches a
/// device, the network or the disk.
extension InstallationRecord {
    // MARK: - Start

    /// A new installation of `request`: prepared, or already waiting for the boot when there is nothing to prepare
    /// (no MAC: the hwdetect command is run by hand; a live hardware detection without restart).
    init(_ request: InstallationRequest, token: String, rendered: RenderedInstallation, plannedDHCPEntry: DHCPEntry?, deadline: Date, now: Date) throws {
        let livePXEless = request.kind == .hardwareDetection && request.powerAction == .noRestart && request.mac == nil
        self.init(
            serverId: request.serverId, token: token, kind: request.kind, state: .running, step: .prepared, mac: request.mac,
            allowedAddress: request.primaryIPv4?.address.description ?? (livePXEless ? nil : request.primaryIPv6?.address.description),
            hostname: request.hostname, profileDocument: request.profile?.document, profileName: request.profile?.osName,
            completionEvent: Self.completionEvent(request), powerAction: request.powerAction, permanentDHCP: request.permanentDHCP,
            files: rendered.files, answerFiles: rendered.answerFiles.sorted(), dhcpEntry: try plannedDHCPEntry.map(DHCPEntryStore.document), previousDHCP: nil,
            connection: request.connection, progress: [], error: nil, createdAt: now, updatedAt: now, deadline: deadline, finishedAt: nil, ending: nil,
            cleanup: nil)
        record(.prepared, "\(request.kind.rawValue) of \(request.hostname) with \(request.profile?.osName ?? "the live system"): \(rendered.files.count) files rendered")
        if request.mac == nil || (request.kind == .hardwareDetection && request.powerAction == .noRestart) {
            step = .waitingForBoot
            record(.waitingForBoot, request.mac == nil ? "run the hwdetect command on the server" : "waiting for the boot or the hwdetect command")
        }
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

    /// The temporary entry: the primary addresses, PXE on, expiring after keep_dhcp_minutes (a permanent entry
    /// the server already had stays permanent and is restored as it was afterwards).
    static func plannedDHCPEntry(for request: InstallationRequest, now: Date) throws -> DHCPEntry? {
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
            // A server booting an ISO gets its address, never the network boot: its BMC boots the CD once, and a later
            // boot from the network must not start a PXE installation the profile did not ask for.
            dns: request.dns, permanent: false, keepMinutes: keep, pxe: request.bootISO == nil,
            bootFiles: DHCPEntry.BootFiles(bios: request.profile?.ipxeBIOSFile, efi: request.profile?.ipxeEFIFile),
            expiresAt: now.addingTimeInterval(Double(keep) * 60))
    }

    // MARK: - Preparation

    /// A preparation step (caching, DHCP, power, waiting for the boot). Once the installation is ending, the
    /// preparation records nothing more: clean-up reads what was reached.
    mutating func advance(to step: InstallationStep, _ message: String) throws {
        guard isRunning, ending == nil else { throw InstallationError.notRunning(serverId) }
        record(step, message)
    }

    /// Records the DHCP entry about to be put and the one it replaces (restored at the end), before the put: an
    /// ending that comes while the put is under way, or a restart in the middle, then restores the previous entry
    /// whether or not the put got through.
    mutating func puttingDHCPEntry(_ entry: DHCPEntry, replacing previous: DHCPEntry?) throws {
        guard isRunning, ending == nil else { throw InstallationError.notRunning(serverId) }
        dhcpEntry = try DHCPEntryStore.document(entry)
        if previousDHCP == nil, let previous { previousDHCP = try DHCPEntryStore.document(previous) }
        record(.dhcp, "putting DHCP entry \(entry.mac) → \(entry.ipv4?.ip ?? entry.ipv6?.ip ?? "?") with PXE, "
            + (entry.permanent ? "permanent" : "expires in \(entry.keepMinutes ?? 0) minutes"))
    }

    /// The entry to put for this installation's planned one when the MAC already has `existing`, and the entry it
    /// replaces (to restore at the end). A permanent entry the server had stays permanent; the installation's own
    /// entry from an interrupted run is replaced, not remembered.
    static func dhcpEntryToPut(planned: DHCPEntry, existing: DHCPEntry?, serverId: String, now: Date) -> (entry: DHCPEntry, replaces: DHCPEntry?) {
        let ours = existing.map { $0.serverId == serverId && $0.pxe } ?? false
        var entry = planned
        if let existing, !ours, existing.permanent {
            entry.permanent = true
            entry.keepMinutes = nil
            entry.expiresAt = nil
        } else {
            entry.expiresAt = now.addingTimeInterval(Double(entry.keepMinutes ?? 120) * 60)
        }
        return (entry, ours ? nil : existing)
    }

    // MARK: - Boot side

    /// Whether `clientAddress` may use this installation's boot URLs: its bound address only, once it has one.
    func allows(_ clientAddress: String?) -> Bool {
        guard let allowedAddress else { return true }
        guard let clientAddress, let client = IPAddress(clientAddress), let expected = IPAddress(allowedAddress) else { return false }
        return client == expected
    }

    /// Whether the boot URLs still answer: while running, and for `afterCompletion` purposes (run scripts, reports of
    /// the first boot) during the grace period after completion.
    func acceptsBootRequests(afterCompletion: Bool, graceMinutes: Int, now: Date) -> Bool {
        if isRunning { return true }
        guard state == .completed, afterCompletion, let finishedAt else { return false }
        return now.timeIntervalSince(finishedAt) < Double(graceMinutes) * 60
    }

    /// Whether the boot script may be served now: DHCP is live and the installer has not started.
    /// An installation that boots an ISO never hands out a network boot script: the BMC boots the CD.
    var servesBootScript: Bool { step >= .dhcp && step < .installerStarted && bootISO == nil }

    /// The boot script was fetched; the fetching address is bound when the installation had none.
    mutating func bootScriptFetched(by clientAddress: String?, architecture: BootArchitecture) {
        if allowedAddress == nil { allowedAddress = clientAddress }
        record(.bootScriptFetched, "boot script fetched by \(clientAddress ?? "?") (\(architecture.rawValue))")
    }

    /// Whether fetching `path` starts the installer: the first fetch of an answer file.
    func startsInstaller(_ path: String) -> Bool {
        isRunning && answerFiles.contains(path) && step < .installerStarted
    }

    mutating func installerStarted(path: String, by clientAddress: String?) {
        if allowedAddress == nil { allowedAddress = clientAddress }
        record(.installerStarted, "answer file \(path) fetched by \(clientAddress ?? "?")")
    }

    /// A progress report from the server; the first one after the installer started means it is installing.
    mutating func progressReported(step reported: String?, message: String) {
        let target: InstallationStep = isRunning && step >= .installerStarted && step < .installing ? .installing : step
        record(target, "\(Self.sanitize(reported ?? "progress")): \(message)")
    }

    /// Whether `event` (sanitised) is the one that completes this installation.
    func completes(on event: String) -> Bool { isRunning && event == completionEvent }

    /// An event from the server that does not complete the installation.
    mutating func eventReported(_ event: String) {
        let target: InstallationStep
        switch event {
        case "installerFinished" where isRunning: target = max(step, .installing)
        case "firstBootBeforeScriptExecution" where isRunning: target = max(step, .firstBoot)
        default: target = step
        }
        record(target, "event \(event)")
    }

    /// Messages from booting servers: printable, bounded.
    static func sanitize(_ text: String) -> String {
        String(text.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.prefix(300).map(Character.init))
    }

    // MARK: - Ending

    /// Claims the ending: false when the installation is not running or already ending.
    mutating func beginEnding(_ state: InstallationState, message: String, resetPower: Bool) -> Bool {
        guard isRunning, ending == nil else { return false }
        ending = InstallationEnding(state: state, message: message, resetPower: resetPower, reached: step)
        cleanup = []
        record(.cleanup, "ending (\(state.rawValue)): \(message); cleaning up")
        return true
    }

    /// The clean-up steps the ending still needs: only what the installation did is undone (the boot device and the
    /// power only when the agent can switch them), and a step that already succeeded (before an agent restart) is
    /// not repeated.
    func pendingCleanup(canSwitchPower: Bool) -> [CleanupAction] {
        guard let ending else { return [] }
        var actions: [CleanupAction] = []
        if let mac, ending.reached >= .dhcp, dhcpEntry != nil { actions.append(.dhcp(mac)) }
        if canSwitchPower, let connection, bootISO != nil, ending.reached >= .power {
            actions.append(.ejectMedia(connection: connection))
        }
        if canSwitchPower, let connection, powerAction != .noRestart || bootISO != nil, ending.reached >= .power {
            actions.append(.bootFromDisk(connection: connection))
            // noRestart: the agent never restarted the server (with an ISO it only mounted the image and set the next
            // boot), so an abort does not reset it either.
            if ending.resetPower, powerAction != .noRestart { actions.append(.resetPower(connection: connection)) }
        }
        return actions.filter { action in !(cleanup ?? []).contains { $0.name == action.name && $0.succeeded } }
    }

    /// What the DHCP clean-up does: put back the entry the MAC had, keep the installation's entry permanently without
    /// PXE (enable_permanent_dhcp on a completed installation), or remove the temporary entry.
    func dhcpCleanup(of mac: MACAddress) throws -> DHCPCleanup {
        if let previous = try previousDHCP.map(DHCPEntryStore.decode) { return .restore(previous) }
        if permanentDHCP, (ending?.state ?? state) == .completed, var entry = try dhcpEntry.map(DHCPEntryStore.decode) {
            entry.pxe = false
            entry.permanent = true
            entry.keepMinutes = nil
            entry.expiresAt = nil
            return .keepPermanently(entry)
        }
        return .removeTemporary(mac)
    }

    /// Keeps what one clean-up step did (replacing an earlier failed try of it).
    mutating func recordCleanup(_ outcome: CleanupStep) {
        cleanup = (cleanup ?? []).filter { $0.name != outcome.name } + [outcome]
        record(.cleanup, "\(outcome.name): \(outcome.succeeded ? "" : "FAILED: ")\(outcome.detail)")
    }

    /// Ends the installation as its ending says; returns the summary (naming failed clean-up steps). The power
    /// connection (it holds the BMC password) is dropped.
    mutating func end(at now: Date) -> String {
        guard let ending else { return "" }
        state = ending.state
        finishedAt = now
        if ending.state == .failed { error = ending.message }
        connection = nil
        let failed = (cleanup ?? []).filter { !$0.succeeded }
        let summary = "\(kind.rawValue) \(ending.state.rawValue): \(ending.message)"
            + (failed.isEmpty ? "" : "; clean-up failed: \(failed.map(\.name).joined(separator: ", "))")
        record(.finished, summary, at: now)
        return summary
    }
}

/// One clean-up step of an ending; its ``name`` is how the record keeps its outcome.
enum CleanupAction: Sendable, Equatable {
    /// Restore the MAC's DHCP entry (``InstallationRecord/dhcpCleanup(of:)`` says how).
    case dhcp(MACAddress)
    /// The ISO ejected from the server's virtual CD.
    case ejectMedia(connection: JSONValue)
    /// Boot device back to disk.
    case bootFromDisk(connection: JSONValue)
    /// A power reset, so the server stops running the installer (aborting).
    case resetPower(connection: JSONValue)

    /// The step's name in the stored record and in the seed-facing `cleanup` list: persisted, so it never changes.
    var name: String {
        switch self {
        case .dhcp: return "dhcp"
        case .ejectMedia: return "virtualMedia"
        case .bootFromDisk: return "bootDevice"
        case .resetPower: return "power"
        }
    }
}

/// What the DHCP clean-up does to the installation's MAC.
enum DHCPCleanup: Sendable, Equatable {
    case restore(DHCPEntry)
    case keepPermanently(DHCPEntry)
    /// Removed only while it is still this server's entry.
    case removeTemporary(MACAddress)
}
