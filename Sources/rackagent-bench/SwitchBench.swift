import AgentCore
import ArgumentParser
import Foundation
import Logging
import PeerHarness
import SwitchSSH

/// `rackagent-bench switch`: verified port changes (read, snapshot, apply, read back, save) against the Arista
/// emulator behind OpenSSH: one on a fresh connection, then N on one session; and, as the reference, netmiko making the
/// same N changes with the same steps over one connection.
struct SwitchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch", abstract: "Verified port changes over SSH: the agent on one session versus netmiko on one connection.",
        discussion: "netmiko comes from `make bench` (a virtualenv in .bench-venv).")

    @Option(help: "Port changes (each one read, applied, read back and saved).") var actions = 20
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard (2...1000).contains(actions) else { throw ValidationError("--actions 2-1000") }
        let keys = try TemporaryDirectory(prefix: "benchkey")
        defer { keys.remove() }
        let (generated, output) = try await PeerTools.run("/usr/bin/ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keys.file("id_ed25519")])
        guard generated == 0 else { throw BenchFailure(message: "ssh-keygen: \(output)") }
        let publicKey = try String(contentsOfFile: keys.file("id_ed25519.pub"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let privateKey = try String(contentsOfFile: keys.file("id_ed25519"), encoding: .utf8)
        let peer = try await SSHSwitchPeer(dialect: "arista", state: SSHSwitchPeer.initialState(dialect: "arista", interfaces: ["Ethernet1"]), authorizedKey: publicKey)
        defer { peer.stop() }

        let state = try TemporaryDirectory(prefix: "benchstate")
        defer { state.remove() }
        let database = try AgentDatabase(path: state.file("state.sqlite"), migrations: SwitchStore.migrations)
        var settings = SSHConfiguration()
        settings.idleCloseSeconds = 600
        let store = SwitchStore(database: database)
        var logger = Logger(label: "bench")
        logger.logLevel = .warning
        let target = SwitchTarget(deviceId: "bench", host: "127.0.0.1", port: peer.port, user: SSHSwitchPeer.user,
                                  credential: .privateKey(Secret(privateKey), passphrase: nil), vendor: "aristaSsh",
                                  pinnedHostKey: try await peer.hostKeyFingerprint())
        func service() -> SwitchService {
            SwitchService(pool: SwitchSessionPool(settings: settings, store: store, logger: logger), store: store, actionLog: ActionLog(database: database), logger: logger)
        }

        // One action on a fresh connection.
        let single = service()
        var started = ContinuousClock.now
        let first = try await single.changeInterface(target, name: "Ethernet1", change: InterfaceChange(enabled: false), dryRun: false, jobId: "bench-1")
        let oneAction = (ContinuousClock.now - started)
        single.pool.closeAll()
        guard first.changed else { throw BenchFailure(message: "the first action changed nothing") }
        let script = peer.commandLog

        // A burst on one session (alternating, so each is a real change), connect included.
        let burst = service()
        var phase = BenchPhase("agent: \(actions) verified changes on one session", total: actions, unit: "changes", json: json)
        let usage = PhaseUsage()
        started = ContinuousClock.now
        var agentVerified = 0
        for index in 0..<actions {
            let result = try await burst.changeInterface(
                target, name: "Ethernet1", change: InterfaceChange(enabled: index % 2 == 0), dryRun: false, jobId: "bench-\(index)")
            if result.changed { agentVerified += 1 }
            phase.tick()
        }
        let burstTime = (ContinuousClock.now - started).inSeconds
        let agentCPU = usage.end().ownCPU
        phase.end()
        let connections = burst.pool.connectionsOpened
        burst.pool.closeAll()

        // The reference: netmiko (arista_eos) over one connection, the same steps per change: read the port, read the
        // running configuration, apply, read back and compare, save.
        let venv = ProcessInfo.processInfo.environment["RACKAGENT_BENCH_VENV"] ?? "\(PeerTools.repositoryRoot)/.bench-venv"
        let python = "\(venv)/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw BenchFailure(message: "netmiko is missing: make bench") }
        let netmikoScript = try keys.write("netmiko_changes.py", Self.netmikoScript)
        phase = BenchPhase("netmiko: \(actions) verified changes on one connection", total: nil, unit: "runs", json: json)
        let netmiko = try await ProcessRunner().run(
            ProcessCommand(python, [netmikoScript, "127.0.0.1", String(peer.port), SSHSwitchPeer.user, keys.file("id_ed25519"), String(actions)], timeout: .seconds(600)))
        phase.end()
        guard netmiko.succeeded, let line = netmiko.standardOutput.split(separator: "\n").last,
            let figures = try? JSONDecoder().decode(NetmikoFigures.self, from: Data(line.utf8))
        else { throw BenchFailure(message: "netmiko failed: \(netmiko.standardOutput.suffix(300)) \(netmiko.standardError.suffix(800))") }

        var report = BenchReport(
            benchmark: "switch",
            parameters: [
                "changes": String(actions), "dialect": "Arista EOS (the emulator behind OpenSSH)", "netmiko": "4.5.0, device_type arista_eos, one connection",
                "stepsPerChange": "read the port, read the running configuration, apply, read back and compare, save",
            ])
        report.add("agent: one change on a fresh connection", oneAction.inSeconds * 1000, "ms")
        report.add("agent: \(actions) changes on one session, connect included", burstTime * 1000, "ms")
        report.add("agent: changes verified", Double(agentVerified), "of \(actions)")
        report.add("agent: SSH connections opened", Double(connections), "")
        report.add("agent: CPU (this process)", agentCPU, "s")
        report.add("agent: command lines per change", Double(script.count), "")
        report.add("netmiko: connect", figures.connectSeconds * 1000, "ms")
        report.add("netmiko: \(actions) changes on one connection, connect included", figures.totalSeconds * 1000, "ms")
        report.add("netmiko: changes verified", Double(figures.verified), "of \(actions)")
        report.add("netmiko: CPU (its process, after Python started and imported netmiko)", figures.cpuSeconds, "s")
        report.add("ratio agent / netmiko, wall", burstTime / figures.totalSeconds, "x")
        report.add("ratio agent / netmiko, CPU", agentCPU / max(figures.cpuSeconds, 1e-9), "x")
        try report.print(json: json)
    }

    struct NetmikoFigures: Decodable {
        let connectSeconds: Double
        let totalSeconds: Double
        let cpuSeconds: Double
        let verified: Int
    }

    /// netmiko making `changes` verified port changes, each the opposite of the port's state as read: arguments host,
    /// port, user, key file, changes; one JSON line out (its CPU counted from after the imports).
    static let netmikoScript = """
        import json, sys, time
        from netmiko import ConnectHandler

        host, port, user, key, changes = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
        started = time.monotonic()
        cpu_started = time.process_time()
        device = ConnectHandler(device_type="arista_eos", host=host, port=port, username=user, use_keys=True, key_file=key,
                                allow_agent=False, ssh_config_file=None)
        device.enable()
        connected = time.monotonic()
        verified = 0
        for index in range(changes):
            before = json.loads(device.send_command("show interfaces Ethernet1 | json"))["interfaces"]["Ethernet1"]
            enabled = before["interfaceStatus"] == "disabled"
            device.send_command("show running-config")
            device.send_config_set(["interface Ethernet1", "no shutdown" if enabled else "shutdown"])
            after = json.loads(device.send_command("show interfaces Ethernet1 | json"))["interfaces"]["Ethernet1"]
            if (after["interfaceStatus"] != "disabled") == enabled:
                verified += 1
            device.save_config()
        device.disconnect()
        print(json.dumps({"connectSeconds": connected - started, "totalSeconds": time.monotonic() - started,
                          "cpuSeconds": time.process_time() - cpu_started, "verified": verified}))

        """
}
