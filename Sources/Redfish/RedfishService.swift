import AgentCore
import Foundation

extension PowerChange {
    /// The `PowerState` read-back must find.
    public var expectedState: RedfishPowerState { endsOn ? .on : .off }

    /// The reset types that carry the change out, in order of preference.
    var resetTypes: [ResetType] {
        switch self {
        case .on: return [.on, .forceOn]
        case .off: return [.forceOff]
        case .soft: return [.gracefulShutdown]
        case .reset: return [.forceRestart]
        case .cycle: return [.powerCycle]
        }
    }
}

/// What a Redfish system offers, for supported-actions.
public struct RedfishCapabilities: Sendable, Equatable {
    public var resetTarget: Bool
    /// nil when the system does not list them (every type is then tried, and a refusal reported).
    public var resetTypes: [String]?
    public var bootOverride: Bool
    public var managerReset: Bool

    /// Whether `action` can be carried out: one of its reset types is allowed (a cycle also as ForceOff then On).
    public func canReset(_ action: PowerChange) -> Bool {
        guard resetTarget else { return false }
        guard let resetTypes else { return true }
        if action.resetTypes.contains(where: { resetTypes.contains($0.rawValue) }) { return true }
        return action == .cycle && resetTypes.contains(ResetType.forceOff.rawValue) && resetTypes.contains(ResetType.on.rawValue)
    }
}

/// A boot override set and read back.
public struct RedfishBootReport: Sendable, Codable, Equatable {
    public var result = "executed"
    public var target: String
    public var persistent: Bool
    /// `UEFI`, `Legacy`, or nil when the mode was left as it was.
    public var mode: String?
    /// What the system reports after the change.
    public var stored: BootOverride
    /// True when the stored target (and mode, when one was asked for) is what was asked for.
    public var verified: Bool
    /// A difference that does not undo the change (a BMC that keeps every override `Continuous`).
    public var note: String?
}

/// A BMC (manager) reset and the evidence that it happened.
public struct RedfishManagerResetReport: Sendable, Codable, Equatable {
    public var result = "executed"
    public var resetType: String
    /// True only with `evidence`.
    public var verified: Bool
    /// The service seen away and answering again, or the manager's LastResetTime moved.
    public var evidence: String?
    /// Why the reset is not verified.
    public var reason: String?
    public var seconds: Double
}

/// Power, boot override, BMC reset and inventory of one Redfish system.
public struct RedfishService: Sendable {
    public let client: RedfishClient

    public init(client: RedfishClient) {
        self.client = client
    }

    var settings: RedfishConfiguration { client.settings }

    /// The system the connection means: `systemId`, or the only member of `/redfish/v1/Systems`.
    public func systemPath(_ connection: RedfishConnection) async throws -> String {
        if let id = connection.systemId { return RedfishPath.root + "/Systems/" + id }
        let root = ServiceRoot(try await document(RedfishPath.root, connection))
        guard let systems = root.systems else { throw RedfishError.unsupported(bmc: connection.address, detail: "the service lists no Systems") }
        let members = try await document(systems, connection).links()
        guard let first = members.first else { throw RedfishError.unsupported(bmc: connection.address, detail: "the Systems collection is empty") }
        guard members.count == 1 else {
            let ids = members.map { String($0.split(separator: "/").last ?? "") }
            throw AgentError.invalidField("connection.meta.systemId", "BMC \(connection.address) manages \(members.count) systems (\(ids.joined(separator: ", "))): name one")
        }
        return first
    }

    public func system(_ connection: RedfishConnection) async throws -> ComputerSystem {
        let path = try await systemPath(connection)
        return ComputerSystem(path: path, document: try await document(path, connection))
    }

    public func powerStatus(_ connection: RedfishConnection) async throws -> RedfishPowerState {
        try Self.settledState(try await system(connection), connection)
    }

    /// Posts the reset and verifies it before `redfish.verifyDeadlineSeconds`: on, off and soft by reading `PowerState`
    /// back (BMCs apply changes seconds later); reset and cycle only by evidence of the restart (the system seen off or
    /// powering on and then on again, or `LastResetTime` moved). A cycle on a system without `PowerCycle` is ForceOff,
    /// verified off, then On, verified on. No evidence means `verified: false` with the reason, never a guess.
    public func setPower(_ action: PowerChange, _ connection: RedfishConnection) async throws -> PowerChangeReport {
        let started = ContinuousClock.now
        let name = "\(action.rawValue) on Redfish BMC \(connection.address)"
        let system: ComputerSystem
        let allowed: [String]?
        do {
            system = try await self.system(connection)
            allowed = try await allowedResetTypes(system, connection)
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.beforeSending(name, error)
        }
        guard let target = system.resetTarget else {
            throw DeviceActionFailure.beforeSending(name, RedfishError.unsupported(bmc: connection.address, detail: "the system offers no ComputerSystem.Reset"))
        }
        let resetType = action.resetTypes.first { allowed?.contains($0.rawValue) ?? true }
        if action == .cycle, resetType == nil, allowed?.contains(ResetType.forceOff.rawValue) == true, allowed?.contains(ResetType.on.rawValue) == true {
            return try await cycleInTwoSteps(system: system, target: target, connection, started: started)
        }
        guard let resetType else {
            throw DeviceActionFailure.beforeSending(name, RedfishError.unsupported(
                bmc: connection.address, detail: "\(action.resetTypes.map(\.rawValue).joined(separator: " or ")) is not among the reset types \(allowed?.joined(separator: ", ") ?? "")"))
        }
        let deadline = ContinuousClock.now + .seconds(settings.verifyDeadlineSeconds)
        do {
            _ = try await client.post(target, body: ["ResetType": .string(resetType.rawValue)], on: connection)
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.whileSending(name, error)
        }
        do {
            if action.restarts {
                return try await verifyRestart(action, resetTypes: [resetType], since: system, connection, started: started, deadline: deadline)
            }
            let (state, checks) = try await poll(connection, until: action.expectedState, deadline: deadline)
            guard state == action.expectedState else {
                throw RedfishError.verificationFailed(bmc: connection.address, expected: action.expectedState.rawValue, actual: state.rawValue)
            }
            return PowerChangeReport(
                action: action.rawValue, resetTypes: [resetType.rawValue], powerState: state.serverPowerState, verified: true,
                evidence: "PowerState read back \(state.rawValue)", reason: nil, checks: checks, seconds: Self.seconds(since: started))
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.afterAcceptance(name, error)
        }
    }

    /// ForceOff, verified off, then On, verified on: the off reading between them is the evidence of the cycle.
    private func cycleInTwoSteps(system: ComputerSystem, target: String, _ connection: RedfishConnection, started: ContinuousClock.Instant) async throws
        -> PowerChangeReport
    {
        let name = "cycle on Redfish BMC \(connection.address)"
        let deadline = ContinuousClock.now + .seconds(settings.verifyDeadlineSeconds)
        do {
            _ = try await client.post(target, body: ["ResetType": .string(ResetType.forceOff.rawValue)], on: connection)
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.whileSending(name, error)
        }
        do {
            let (off, offChecks) = try await poll(connection, until: .off, deadline: deadline)
            guard off == .off else { throw RedfishError.verificationFailed(bmc: connection.address, expected: "Off (first half of the cycle)", actual: off.rawValue) }
            _ = try await client.post(target, body: ["ResetType": .string(ResetType.on.rawValue)], on: connection)
            let (on, onChecks) = try await poll(connection, until: .on, deadline: ContinuousClock.now + .seconds(settings.verifyDeadlineSeconds))
            guard on == .on else { throw RedfishError.verificationFailed(bmc: connection.address, expected: "On (second half of the cycle)", actual: on.rawValue) }
            return PowerChangeReport(
                action: "cycle", resetTypes: [ResetType.forceOff.rawValue, ResetType.on.rawValue], powerState: .online, verified: true,
                evidence: "PowerState read back Off after ForceOff, then On after On", reason: nil, checks: offChecks + onChecks,
                seconds: Self.seconds(since: started))
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.afterAcceptance(name, error)
        }
    }

    /// Polls until the system is on again after a restart, collecting evidence that it went down: a reading other than
    /// On, or a new `LastResetTime`.
    private func verifyRestart(
        _ action: PowerChange, resetTypes: [ResetType], since before: ComputerSystem, _ connection: RedfishConnection,
        started: ContinuousClock.Instant, deadline: ContinuousClock.Instant
    ) async throws -> PowerChangeReport {
        var delay = Duration.milliseconds(250)
        var checks = 0
        // A system that was not on before the command has no restart to see: it coming on is the evidence it started.
        var sawDown: String? = before.powerState == .on ? nil : "PowerState was \(before.reportedPowerState ?? "unknown") before the \(action.rawValue)"
        var last: ComputerSystem = before
        while true {
            checks += 1
            last = try await system(connection)
            if let state = last.powerState, state != .on, sawDown == nil { sawDown = "PowerState read \(state.rawValue)" }
            let resetTimeMoved = RedfishTime.moved(from: before.lastResetTime, to: last.lastResetTime)
            if last.powerState == .on, sawDown != nil || resetTimeMoved {
                let evidence = sawDown.map { "\($0), then On" } ?? "LastResetTime moved from \(before.lastResetTime ?? "") to \(last.lastResetTime ?? "")"
                return PowerChangeReport(
                    action: action.rawValue, resetTypes: resetTypes.map(\.rawValue), powerState: .online, verified: true, evidence: evidence, reason: nil,
                    checks: checks, seconds: Self.seconds(since: started))
            }
            if ContinuousClock.now + delay > deadline { break }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
        guard last.powerState == .on else {
            throw RedfishError.verificationFailed(bmc: connection.address, expected: "On after the restart", actual: last.reportedPowerState ?? "no PowerState")
        }
        return PowerChangeReport(
            action: action.rawValue, resetTypes: resetTypes.map(\.rawValue), powerState: .online, verified: false, evidence: nil,
            reason: "the system read On throughout and " + (before.lastResetTime == nil ? "reports no LastResetTime" : "its LastResetTime did not move")
                + " within \(Int(settings.verifyDeadlineSeconds)) s",
            checks: checks, seconds: Self.seconds(since: started))
    }

    private func poll(_ connection: RedfishConnection, until expected: RedfishPowerState, deadline: ContinuousClock.Instant) async throws
        -> (RedfishPowerState, Int)
    {
        var delay = Duration.milliseconds(250)
        var checks = 0
        while true {
            checks += 1
            let state = try Self.settledState(try await system(connection), connection)
            if state == expected || ContinuousClock.now + delay > deadline { return (state, checks) }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }

    /// The reset types the system allows: those listed inline and those of the action's ActionInfo together (firmware
    /// fills one or the other, or both, not always alike); nil when it says nothing.
    func allowedResetTypes(_ system: ComputerSystem, _ connection: RedfishConnection) async throws -> [String]? {
        var listed: [String]?
        if let info = system.resetActionInfo { listed = ActionInfo.allowedValues(try await document(info, connection)) }
        guard system.resetTypes != nil || listed != nil else { return nil }
        var allowed = system.resetTypes ?? []
        for value in listed ?? [] where !allowed.contains(value) { allowed.append(value) }
        return allowed
    }

    /// What the system and its manager advertise: reset types, a boot override, a manager reset.
    public func capabilities(_ connection: RedfishConnection) async throws -> RedfishCapabilities {
        let system = try await self.system(connection)
        let manager = try? await self.manager(connection)
        return RedfishCapabilities(
            resetTarget: system.resetTarget != nil, resetTypes: try await allowedResetTypes(system, connection), bootOverride: system.boot?.target != nil,
            managerReset: manager?.resetTarget != nil)
    }

    /// Sets the boot override and reads it back. `uefi` nil leaves the mode as it is.
    public func setBootOverride(_ target: BootOverrideTarget, persistent: Bool, uefi: Bool?, _ connection: RedfishConnection) async throws -> RedfishBootReport {
        let name = "boot override \(target.rawValue) on Redfish BMC \(connection.address)"
        let path: String
        let answer: RedfishAnswer
        do {
            path = try await systemPath(connection)
            answer = try await client.get(path, on: connection)
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.beforeSending(name, error)
        }
        let current = ComputerSystem(path: path, document: answer.body ?? .null)
        if let allowed = current.boot?.allowedTargets, !allowed.contains(target.rawValue) {
            throw DeviceActionFailure.beforeSending(name, RedfishError.unsupported(
                bmc: connection.address, detail: "boot target \(target.rawValue) is not among \(allowed.joined(separator: ", "))"))
        }
        var boot: [String: JSONValue] = [
            "BootSourceOverrideTarget": .string(target.rawValue), "BootSourceOverrideEnabled": .string(persistent ? "Continuous" : "Once"),
        ]
        let mode = uefi.map { $0 ? "UEFI" : "Legacy" }
        if let mode { boot["BootSourceOverrideMode"] = .string(mode) }
        do {
            _ = try await client.patch(path, body: ["Boot": .object(boot)], etag: answer.header("ETag"), on: connection)
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.whileSending(name, error)
        }
        do {
            let stored = ComputerSystem(path: path, document: try await document(path, connection)).boot ?? BootOverride(target: nil, enabled: nil, mode: nil, allowedTargets: nil)
            // An override the BMC keeps but has Disabled does not apply at the next boot.
            let verified = stored.target == target.rawValue && (mode == nil || stored.mode == mode) && stored.enabled != "Disabled"
            guard verified else {
                throw RedfishError.verificationFailed(
                    bmc: connection.address, expected: "\(target.rawValue)\(mode.map { " \($0)" } ?? ""), enabled",
                    actual: "\(stored.target ?? "no target")\(stored.mode.map { " \($0)" } ?? ""), \(stored.enabled ?? "enabled unknown")")
            }
            let asked = persistent ? "Continuous" : "Once"
            let note = stored.enabled == asked ? nil : "asked for \(asked), the BMC reports \(stored.enabled ?? "nothing")"
            return RedfishBootReport(target: target.rawValue, persistent: persistent, mode: mode, stored: stored, verified: true, note: note)
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.afterAcceptance(name, error)
        }
    }

    /// Resets the BMC (`Manager.Reset`) and waits until its service root answers again.
    public func resetManager(graceful: Bool, _ connection: RedfishConnection) async throws -> RedfishManagerResetReport {
        let started = ContinuousClock.now
        let name = "manager reset on Redfish BMC \(connection.address)"
        let manager: ManagerResource
        do {
            manager = try await self.manager(connection)
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.beforeSending(name, error)
        }
        guard let target = manager.resetTarget else {
            throw DeviceActionFailure.beforeSending(name, RedfishError.unsupported(bmc: connection.address, detail: "the manager offers no Manager.Reset"))
        }
        let preferred: ResetType = graceful ? .gracefulRestart : .forceRestart
        let resetType = manager.resetTypes.map { types in types.contains(preferred.rawValue) ? preferred : (types.compactMap(ResetType.init(rawValue:)).first ?? preferred) } ?? preferred
        do {
            _ = try await client.post(target, body: ["ResetType": .string(resetType.rawValue)], on: connection)
        } catch let error where !(error is CancellationError) {
            throw DeviceActionFailure.whileSending(name, error)
        }
        // Evidence of the reset: the service seen away and answering again, or the manager's LastResetTime moved. A BMC
        // that answers throughout and reports no new LastResetTime is reported unverified, never guessed.
        let deadline = ContinuousClock.now + .seconds(settings.managerResetDeadlineSeconds)
        var sawAway = false
        var reason = "the BMC answered throughout and " + (manager.lastResetTime == nil ? "reports no LastResetTime" : "its LastResetTime did not move")
        while ContinuousClock.now < deadline {
            try await Task.sleep(for: .seconds(1))
            do {
                let after = ManagerResource(path: manager.path, document: try await document(manager.path, connection))
                if sawAway || RedfishTime.moved(from: manager.lastResetTime, to: after.lastResetTime) {
                    return RedfishManagerResetReport(
                        resetType: resetType.rawValue, verified: true,
                        evidence: sawAway ? "the service went away and answered again" : "LastResetTime moved to \(after.lastResetTime ?? "")",
                        reason: nil, seconds: Self.seconds(since: started))
                }
            } catch let error where !(error is CancellationError) {
                sawAway = true
                reason = "the service went away and did not answer again: \(AgentError.from(error).message)"
            }
        }
        return RedfishManagerResetReport(resetType: resetType.rawValue, verified: false, evidence: nil, reason: reason + " within the deadline",
                                         seconds: Self.seconds(since: started))
    }

    /// The manager of the system (its `ManagedBy`), else the first of `/redfish/v1/Managers`.
    public func manager(_ connection: RedfishConnection) async throws -> ManagerResource {
        let system = try await self.system(connection)
        var path = system.managers.first
        if path == nil, let managers = ServiceRoot(try await document(RedfishPath.root, connection)).managers {
            path = try await document(managers, connection).links().first
        }
        guard let path else { throw RedfishError.unsupported(bmc: connection.address, detail: "the service lists no manager") }
        return ManagerResource(path: path, document: try await document(path, connection))
    }

    /// "online" when the service answers with these credentials and the system can be read.
    public func testConnection(_ connection: RedfishConnection) async throws -> String {
        _ = try await powerStatus(connection)
        return "online"
    }

    /// A document as JSON; an answer without one is malformed.
    func document(_ path: String, _ connection: RedfishConnection) async throws -> JSONValue {
        guard let body = try await client.get(path, on: connection).body, case .object = body else {
            throw RedfishError.malformedAnswer(bmc: connection.address, detail: "\(path) answered without a JSON object")
        }
        return body
    }

    static func settledState(_ system: ComputerSystem, _ connection: RedfishConnection) throws -> RedfishPowerState {
        guard let state = system.powerState else {
            throw RedfishError.malformedAnswer(bmc: connection.address, detail: "unexpected PowerState \(system.reportedPowerState.map { "\($0.prefix(40))" } ?? "(none)")")
        }
        return state
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        ((ContinuousClock.now - start).inSeconds * 100).rounded() / 100
    }
}

