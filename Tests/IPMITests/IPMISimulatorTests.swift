import AgentCore
import ControllerAPI
import Foundation
import IPMI
import Logging
import PeerHarness
import Synchronization
import Testing

/// Runs commands through the real ProcessRunner and records how many ran at once, per BMC and in total.
final class ConcurrencyProbe: CommandRunner {
    private let inner = ProcessRunner()
    private let state = Mutex<(current: [String: Int], maximum: [String: Int], total: Int, maximumTotal: Int, starts: [String: [ContinuousClock.Instant]])>(
        ([:], [:], 0, 0, [:]))

    func run(_ command: ProcessCommand) async throws -> ProcessResult {
        let port = command.arguments.firstIndex(of: "-p").map { command.arguments[$0 + 1] } ?? "?"
        state.withLock { state in
            state.current[port, default: 0] += 1
            state.maximum[port] = max(state.maximum[port, default: 0], state.current[port]!)
            state.total += 1
            state.maximumTotal = max(state.maximumTotal, state.total)
            state.starts[port, default: []].append(.now)
        }
        defer {
            state.withLock { state in
                state.current[port, default: 1] -= 1
                state.total -= 1
            }
        }
        return try await inner.run(command)
    }

    func maximumInFlight(port: Int) -> Int { state.withLock { $0.maximum[String(port)] ?? 0 } }
    var maximumInFlightTotal: Int { state.withLock { $0.maximumTotal } }
    func starts(port: Int) -> [ContinuousClock.Instant] { state.withLock { $0.starts[String(port)] ?? [] } }
}

func ipmiSettings(gap: Double = 0.02, deadline: Double = 10) -> IPMIConfiguration {
    var settings = IPMIConfiguration()
    settings.minimumGapSeconds = gap
    settings.verifyDeadlineSeconds = deadline
    settings.commandTimeoutSeconds = 10
    return settings
}

func adminConnection(_ simulator: IPMISimulator, password: String = IPMISimulator.adminPassword, timeout: Double? = nil) -> IPMIConnection {
    IPMIConnection(host: "127.0.0.1", username: IPMISimulator.adminUser, password: Secret(password), port: simulator.port, timeoutSeconds: timeout)
}

@Suite(.serialized) struct IPMISimulatorTests {
    let logger = Logger(label: "test")
    let scratch = ScratchDirectory(stateDirectory: FileManager.default.temporaryDirectory.appendingPathComponent("rackagent-ipmi-tests").path)

    func service(_ runner: any CommandRunner = ProcessRunner(), settings: IPMIConfiguration = ipmiSettings()) -> (IPMIService, BMCUserManager) {
        let executor = IPMIExecutor(runner: runner, settings: settings, scratch: scratch, logger: logger)
        return (IPMIService(executor: executor, settings: settings), BMCUserManager(executor: executor))
    }

    @Test func everyPowerMethodIsVerifiedByReadBack() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let (ipmi, _) = service()
        let connection = adminConnection(simulator)
        #expect(try await ipmi.powerStatus(connection) == .off)
        let on = try await ipmi.setPower(.on, connection)
        #expect(on.verified && on.powerState == "online")
        #expect(simulator.powerState == "1")
        let off = try await ipmi.setPower(.off, connection)
        #expect(off.powerState == "offline")
        #expect(simulator.powerState == "0")
        _ = try await ipmi.setPower(.on, connection)
        let soft = try await ipmi.setPower(.soft, connection)
        #expect(soft.powerState == "offline")
        #expect(off.evidence == "power read back off")
        _ = try await ipmi.setPower(.on, connection)
        // ipmi_sim cycles by "set power 0", then "set power 1" a second later: polling sees the off phase.
        let cycle = try await ipmi.setPower(.cycle, connection)
        #expect(cycle.verified && cycle.powerState == "online" && cycle.evidence == "power read off, then on again", "\(cycle)")
        #expect(simulator.chassisLog.contains("set power 0"))
        #expect(simulator.chassisLog.contains("set power 1"))
        #expect(try await ipmi.testConnection(connection) == "online")
    }

    /// ipmi_sim hands a reset to its chassis program, which ignores it; the simulator has no restart cause and logs
    /// no SEL events. Nothing shows the machine restarted, so the report must say unverified, with the reason.
    @Test func aResetWithoutEvidenceIsNotVerified() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        try simulator.setPowerState(on: true)
        let (ipmi, _) = service(settings: ipmiSettings(deadline: 2))
        let reset = try await ipmi.setPower(.reset, adminConnection(simulator))
        #expect(!reset.verified && reset.evidence == nil && reset.powerState == "online", "\(reset)")
        #expect(reset.reason?.contains("no evidence of a restart") == true, "\(reset)")
        #expect(reset.reason?.contains("no restart cause") == true && reset.reason?.contains("no new restart event in the SEL") == true)
        #expect(simulator.chassisLog.contains("set reset 1"))
    }

    /// A BMC that implements Get System Restart Cause: a reset is verified by the cause changing to a chassis
    /// control command; a second reset leaves the same cause behind, which proves nothing.
    @Test func restartCauseVerifiesAResetOnce() async throws {
        let bmc = try await FakeBMC(mode: .normal, initialPower: true)
        defer { bmc.stop() }
        let (ipmi, _) = service(settings: ipmiSettings(deadline: 2))
        let connection = IPMIConnection(host: "127.0.0.1", username: FakeBMC.user, password: Secret(FakeBMC.password), port: bmc.port)
        let first = try await ipmi.setPower(.reset, connection)
        #expect(first.verified && first.evidence == "restart cause changed from unknown to chassis power control command", "\(first)")
        let second = try await ipmi.setPower(.reset, connection)
        #expect(!second.verified && second.reason?.contains("restart cause still chassis power control command") == true, "\(second)")
        #expect(bmc.commands.filter { $0 == "power reset" }.count == 2)
    }

    /// A BMC that accepts reset and cycle and does nothing: neither is ever reported verified.
    @Test func aBMCThatIgnoresRestartsIsNeverVerified() async throws {
        let bmc = try await FakeBMC(mode: .ignoreReset, initialPower: true)
        defer { bmc.stop() }
        let (ipmi, _) = service(settings: ipmiSettings(deadline: 2))
        // Three ipmitool attempts of a second: the fake BMC (Python) can stall past one when the whole suite shares the
        // cores, and ipmitool then gives the command up ("Unable to set Chassis Power Control") before the promise is
        // reached.
        let connection = IPMIConnection(host: "127.0.0.1", username: FakeBMC.user, password: Secret(FakeBMC.password), port: bmc.port, retries: 3)
        for action in [PowerChange.reset, .cycle] {
            let report = try await ipmi.setPower(action, connection)
            #expect(!report.verified && report.evidence == nil, "\(action): \(report)")
            // The reason names what was looked at: the cause as read before (or why it could not be read: the fake BMC
            // can miss a read when the whole suite shares the cores), never "not implemented".
            let reason = report.reason ?? ""
            #expect(reason.contains("restart cause still unknown") || reason.contains("restart cause not read before the command"), "\(report)")
        }
        #expect(bmc.commands.contains("power reset") && bmc.commands.contains("power cycle"))
        #expect(bmc.powerState == "1")
    }

    @Test func readBackCatchesAStateThatDidNotChange() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        // A chassis that ignores "power on": the script is replaced by one that never changes state.
        try simulator.directory.write("chassis.sh", "#!/bin/sh\ncase \"$2\" in get) echo power:0;; esac\nexit 0\n", mode: 0o755)
        let (ipmi, _) = service(settings: ipmiSettings(deadline: 1.5))
        await #expect(throws: IPMIError.verificationFailed(bmc: adminConnection(simulator).address, expected: "online", actual: "offline")) {
            _ = try await ipmi.setPower(.on, adminConnection(simulator))
        }
    }

    @Test func bootDeviceIsStoredAndVerified() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let (ipmi, _) = service()
        let connection = adminConnection(simulator)
        let report = try await ipmi.setBootDevice(.pxe, efi: false, persistent: false, connection)
        #expect(report.stored.device == .pxe)
        #expect(simulator.bootState == "pxe")
        let disk = try await ipmi.setBootDevice(.disk, efi: false, persistent: false, connection)
        #expect(disk.stored.deviceSelector == "Force Boot from default Hard-Drive")
        // ipmi_sim keeps only the device selector and drops the EFI/persistent flags: the read-back must notice.
        do {
            _ = try await ipmi.setBootDevice(.pxe, efi: true, persistent: false, connection)
            Issue.record("EFI flag was not verified")
        } catch let error as IPMIError {
            #expect(error.agentError.code == "verify_failed")
        }
    }

    @Test func bmcResetCustomCommandsAndInventory() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let (ipmi, _) = service()
        let connection = adminConnection(simulator)
        let reset = try await ipmi.resetBMC(warm: false, connection)
        #expect(reset.verified && reset.reset == "cold")
        let status = try await ipmi.customCommand("chassis status", connection)
        #expect(status.contains("System Power"))
        let mc = try await ipmi.customCommand("mc info", connection)
        #expect(mc.contains("MontaVista"))
        await #expect(throws: IPMIError.self) { _ = try await ipmi.customCommand("raw 0x06 0x01", connection) }
        let lan = try await ipmi.lanConfiguration(channel: 1, connection)
        #expect(lan.contains { $0.key == "IP Address Source" })
        #expect(try await ipmi.selEntries(connection).isEmpty)
        #expect(try await ipmi.clearSEL(connection).contains("Clearing SEL"))
        #expect(try await ipmi.fru(connection).isEmpty)
        #expect(try await ipmi.sensors(connection).isEmpty)
    }

    /// The agent's own commands run with the one-entry manufacturer registry (`mc info` cannot name ipmi_sim's maker);
    /// a custom command's text names it as ipmitool normally does; without a place for that home, every command still
    /// runs, with the system's registry.
    @Test func theAgentsOwnCommandsSkipTheManufacturerRegistry() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let state = try TemporaryDirectory(prefix: "ipmihome")
        defer { state.remove() }
        let connection = adminConnection(simulator)
        let executor = IPMIExecutor(runner: ProcessRunner(), settings: ipmiSettings(), scratch: ScratchDirectory(stateDirectory: state.path), logger: logger)
        let home = try #require(executor.toolHome)
        #expect(FileManager.default.contents(atPath: home.path + "/.local/usr/share/misc/enterprise-numbers.txt") == Data("0\n  Reserved\n".utf8))
        let own = try await executor.run(["mc", "info"], on: connection)
        #expect(own.contains("Manufacturer ID           : 4753") && own.contains("Unknown (0x1291)"), "\(own)")
        let shown = try await executor.run(["mc", "info"], on: connection, manufacturerNames: .shown)
        #expect(shown.contains("MontaVista Software, Inc."), "\(shown)")
        #expect(try await IPMIService(executor: executor, settings: ipmiSettings()).powerStatus(connection) == .off)

        // A damaged registry is written again by the next executor.
        try "garbage".write(toFile: home.path + "/.local/usr/share/misc/enterprise-numbers.txt", atomically: false, encoding: .utf8)
        let again = IPMIExecutor(runner: ProcessRunner(), settings: ipmiSettings(), scratch: ScratchDirectory(stateDirectory: state.path), logger: logger)
        #expect(again.toolHome == home)
        #expect(try await again.run(["mc", "info"], on: connection).contains("Unknown (0x1291)"))

        // Turned off (an ipmitoolPath wrapper that needs the real HOME): the system's registry.
        var systemRegistry = ipmiSettings()
        systemRegistry.oneEntryManufacturerRegistry = false
        let turnedOff = IPMIExecutor(runner: ProcessRunner(), settings: systemRegistry, scratch: ScratchDirectory(stateDirectory: state.path), logger: logger)
        #expect(turnedOff.toolHome == nil)
        #expect(try await turnedOff.run(["mc", "info"], on: connection).contains("MontaVista Software, Inc."))

        // A scratch path that cannot be a directory: no home, and ipmitool reads the system's registry.
        try "a file".write(toFile: state.path + "/blocked", atomically: false, encoding: .utf8)
        let homeless = IPMIExecutor(
            runner: ProcessRunner(), settings: ipmiSettings(), scratch: ScratchDirectory(path: state.path + "/blocked/scratch"), logger: logger)
        #expect(homeless.toolHome == nil)
        #expect(try await homeless.run(["mc", "info"], on: connection).contains("MontaVista Software, Inc."))
    }

    @Test func userLifecycleEndToEnd() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let (_, users) = service()
        let connection = adminConnection(simulator)
        let created = try await users.createUserWithPasswordAndPrivilege(
            username: "ops", password: Secret("opspass123"), privilege: 3, access: nil, dontFailIfUserExists: false,
            dontFailIfPasswordChangeFailed: false, dontChangePasswordIfUserExists: false, channel: 1, connection)
        let slot = try #require(created["slot"].flatMap { if case .integer(let value) = $0 { Int(value) } else { nil } })
        #expect(slot == 3)
        #expect(created["created"] == true)
        // The new user can log in (at its OPERATOR privilege).
        #expect(await simulator.canLogIn(user: "ops", password: "opspass123", privilege: "OPERATOR"))
        let listed = try await users.listUsers(channel: 1, connection)
        #expect(listed.map(\.name) == ["admin", "ops"])
        #expect(listed.last?.privilegeId == 3)
        #expect(listed.last?.privilegeName == "OPERATOR")

        // A second create of the same name fails unless asked to reuse it.
        await #expect(throws: AgentError.self) {
            _ = try await users.createUser(username: "ops", access: nil, dontFailIfUserExists: false, channel: 1, connection)
        }
        let reused = try await users.createUserWithPasswordAndPrivilege(
            username: "ops", password: Secret("ignored-password"), privilege: 4, access: nil, dontFailIfUserExists: true,
            dontFailIfPasswordChangeFailed: false, dontChangePasswordIfUserExists: true, channel: 1, connection)
        #expect(reused["created"] == false)
        #expect(reused["passwordChanged"] == false)
        #expect(await simulator.canLogIn(user: "ops", password: "opspass123", privilege: "OPERATOR"))

        // A new password: the old one stops working, the new one works.
        let newPassword = "n3w-pass-16bytes"
        let changed = try await users.setPassword(Secret(newPassword), BMCUserReference(slot: nil, username: "ops"), withoutSlotCheck: false, channel: 1, connection)
        #expect(changed["passwordBytes"] == 16)
        #expect(!(await simulator.canLogIn(user: "ops", password: "opspass123", privilege: "OPERATOR")))
        #expect(await simulator.canLogIn(user: "ops", password: newPassword, privilege: "OPERATOR"))
        // 17-20 bytes go in IPMI 2.0's 20-byte form; ipmi_sim stores it but cannot authenticate with it, so only
        // the BMC's acceptance is checked here, then the 16-byte password is restored.
        let twenty = try await users.setPassword(Secret("twenty-bytes-long-20"), BMCUserReference(slot: slot, username: nil), withoutSlotCheck: false, channel: 1, connection)
        #expect(twenty["passwordBytes"] == 20)
        _ = try await users.setPassword(Secret(newPassword), BMCUserReference(slot: slot, username: nil), withoutSlotCheck: false, channel: 1, connection)
        let longPassword = newPassword

        _ = try await users.setPrivilege(4, BMCUserReference(slot: slot, username: nil), withoutSlotCheck: false, channel: 1, connection)
        #expect(try await users.listUsers(channel: 1, connection).last?.privilegeName == "ADMINISTRATOR")
        let access = try ChannelAccessSettings(parsing: "ipmi=on callin=off link=off privilege=4", field: "accessSettings")
        _ = try await users.channelSetAccess(access, BMCUserReference(slot: slot, username: nil), withoutSlotCheck: true, channel: 1, connection)

        // Disabled: the login fails; enabled again: it works.
        _ = try await users.setEnabled(false, BMCUserReference(slot: slot, username: nil), withoutSlotCheck: false, channel: 1, connection)
        #expect(!(await simulator.canLogIn(user: "ops", password: longPassword)))
        _ = try await users.setEnabled(true, BMCUserReference(slot: slot, username: nil), withoutSlotCheck: false, channel: 1, connection)
        #expect(await simulator.canLogIn(user: "ops", password: longPassword))

        // Deleted: no name, no login.
        _ = try await users.deleteUser(BMCUserReference(slot: nil, username: "ops"), channel: 1, connection)
        #expect(try await users.listUsers(channel: 1, connection).map(\.name) == ["admin"])
        #expect(!(await simulator.canLogIn(user: "ops", password: longPassword)))
        await #expect(throws: AgentError.self) {
            _ = try await users.setEnabled(true, BMCUserReference(slot: nil, username: "ops"), withoutSlotCheck: false, channel: 1, connection)
        }
    }

    @Test func wrongPasswordIsAuthFailed() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let (ipmi, _) = service()
        do {
            _ = try await ipmi.powerStatus(adminConnection(simulator, password: "wrong"))
            Issue.record("wrong password accepted")
        } catch let error as IPMIError {
            #expect(error.agentError.code == "auth_failed")
            #expect(error.agentError.message.contains("127.0.0.1:\(simulator.port)"))
            #expect(!error.agentError.message.contains("wrong"))
        }
    }

    @Test func deadPortIsUnreachableWithinTheTimeout() async throws {
        let (ipmi, _) = service()
        let deadPort = FreePort.udp()
        let connection = IPMIConnection(host: "127.0.0.1", username: "admin", password: Secret("secret"), port: deadPort, timeoutSeconds: 4, retries: 1)
        let started = ContinuousClock.now
        do {
            _ = try await ipmi.powerStatus(connection)
            Issue.record("dead port answered")
        } catch let error as IPMIError {
            #expect(["bmc_unreachable", "timeout"].contains(error.agentError.code), "\(error)")
            #expect(error.agentError.status == .gatewayTimeout)
        }
        // The failed call plus its one diagnostic probe, each bounded by the 4 s timeout.
        #expect(ContinuousClock.now - started < .seconds(9))
    }

    @Test func hungBMCIsKilledAtTheTimeout() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        simulator.process.suspend()
        defer { simulator.process.resume() }
        let (ipmi, _) = service()
        let started = ContinuousClock.now
        await #expect(throws: IPMIError.self) { _ = try await ipmi.powerStatus(adminConnection(simulator, timeout: 2)) }
        #expect(ContinuousClock.now - started < .seconds(6))
    }

    @Test func passwordNeverAppearsInAnIpmitoolCommandLine() async throws {
        let (ipmi, _) = service()
        let password = "canary-\(UUID().uuidString.prefix(6))"
        let deadPort = FreePort.udp()
        let connection = IPMIConnection(host: "127.0.0.1", username: "admin", password: Secret(password), port: deadPort, timeoutSeconds: 3, retries: 2)
        let call = Task { try? await ipmi.powerStatus(connection) }
        var seen: [(cmdline: String, environ: String)] = []
        let deadline = ContinuousClock.now + .seconds(3)
        while ContinuousClock.now < deadline, seen.isEmpty {
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] where Int32(entry) != nil {
                let cmdline = Self.readProcFile("/proc/\(entry)/cmdline")
                guard cmdline.contains("ipmitool"), cmdline.contains(String(deadPort)) else { continue }
                seen.append((cmdline, Self.readProcFile("/proc/\(entry)/environ")))
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        _ = await call.value
        #expect(!seen.isEmpty, "no running ipmitool was observed")
        for process in seen {
            #expect(!process.cmdline.contains(password))
            #expect(process.environ.contains("IPMI_PASSWORD=\(password)"))
        }
    }

    /// The exec file carrying a new BMC user password exists only while ipmitool runs: not while the command waits
    /// for the BMC's turn (here: the minimum gap after another command), never in /tmp, and a file a killed run left
    /// in the scratch directory is gone after the next start.
    @Test func passwordFilesExistOnlyWhileIpmitoolRuns() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let state = try TemporaryDirectory(prefix: "ipmistate")
        defer { state.remove() }
        let scratch = ScratchDirectory(stateDirectory: state.path)
        let settings = ipmiSettings(gap: 2)
        let executor = IPMIExecutor(runner: ProcessRunner(), settings: settings, scratch: scratch, logger: logger)
        let users = BMCUserManager(executor: executor)
        let connection = adminConnection(simulator)
        let password = "pw-\(UUID().uuidString.prefix(8))"
        func filesHolding(_ secret: String) -> [String] {
            var found: [String] = []
            for directory in [scratch.path, FileManager.default.temporaryDirectory.path] {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                    let path = "\(directory)/\(name)"
                    if let data = FileManager.default.contents(atPath: path), data.range(of: Data(secret.utf8)) != nil { found.append(path) }
                }
            }
            return found
        }
        _ = try await IPMIService(executor: executor, settings: settings).powerStatus(connection)
        // The BMC's gap holds the next command for two seconds: the password must not be on disk meanwhile.
        let change = Task { try await users.setPassword(Secret(password), BMCUserReference(slot: 2, username: nil), withoutSlotCheck: true, channel: 1, connection) }
        var seenWhileWaiting: [String] = []
        let waitEnds = ContinuousClock.now + .milliseconds(1500)
        while ContinuousClock.now < waitEnds {
            seenWhileWaiting += filesHolding(password)
            try await Task.sleep(for: .milliseconds(50))
        }
        _ = try await change.value
        #expect(seenWhileWaiting.isEmpty, "the password was on disk while waiting for the BMC: \(Set(seenWhileWaiting))")
        #expect(filesHolding(password).isEmpty, "the password stayed on disk")
        #expect(await simulator.canLogIn(user: "admin", password: password), "the password was really set")

        // A file a killed run left behind is removed when the agent starts.
        try scratch.prepare(emptying: false)
        let leftover = "\(scratch.path)/ipmi-exec-leftover"
        try "user set password 3 leftover-secret 16\n".write(toFile: leftover, atomically: false, encoding: .utf8)
        var configuration = AgentConfiguration()
        configuration.stateDirectory = state.path
        let runtime = try await AgentRuntime(configuration: configuration, logger: logger)
        #expect(!FileManager.default.fileExists(atPath: leftover))
        await runtime.shutdown()
    }

    /// /proc files report size 0, so read them until EOF; NUL separators become spaces.
    static func readProcFile(_ path: String) -> String {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { return "" }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = read(descriptor, &buffer, buffer.count)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
    }

    @Test func fiftyParallelCallsToOneBMCAreSerialised() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let probe = ConcurrencyProbe()
        let (ipmi, _) = service(probe, settings: ipmiSettings(gap: 0.01))
        let connection = adminConnection(simulator)
        let results = try await withThrowingTaskGroup(of: ChassisPower.self) { group in
            for _ in 0..<50 { group.addTask { try await ipmi.powerStatus(connection) } }
            var states: [ChassisPower] = []
            for try await state in group { states.append(state) }
            return states
        }
        #expect(results.count == 50)
        #expect(results.allSatisfy { $0 == .off })
        #expect(probe.maximumInFlight(port: simulator.port) == 1)
    }

    @Test func minimumGapBetweenCommandsToOneBMC() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let probe = ConcurrencyProbe()
        let (ipmi, _) = service(probe, settings: ipmiSettings(gap: 0.3))
        let connection = adminConnection(simulator)
        async let first = ipmi.powerStatus(connection)
        async let second = ipmi.powerStatus(connection)
        async let third = ipmi.powerStatus(connection)
        _ = try await (first, second, third)
        let starts = probe.starts(port: simulator.port)
        #expect(starts.count == 3)
        for (earlier, later) in zip(starts, starts.dropFirst()) {
            #expect(later - earlier >= .milliseconds(300))
        }
    }

    @Test func eightBMCsRunInParallel() async throws {
        var simulators: [IPMISimulator] = []
        for _ in 0..<8 { simulators.append(try await IPMISimulator()) }
        defer { simulators.forEach { $0.stop() } }
        let probe = ConcurrencyProbe()
        let (ipmi, _) = service(probe, settings: ipmiSettings(gap: 0))
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for simulator in simulators {
                for _ in 0..<5 { group.addTask { _ = try await ipmi.powerStatus(adminConnection(simulator)) } }
            }
            try await group.waitForAll()
        }
        let elapsed = ContinuousClock.now - started
        #expect(probe.maximumInFlightTotal > 1)
        for simulator in simulators { #expect(probe.maximumInFlight(port: simulator.port) == 1) }
        #expect(elapsed < .seconds(20))
    }
}
