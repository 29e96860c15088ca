import AgentCore
import ArgumentParser
import Foundation
import Logging
import PeerHarness
import SwitchSSH

/// `rackagent bench switch`: setPortDisabled round trips (connect, read, apply, verify) against OpenSSH + the
/// Arista emulator: one action on a fresh connection, then N actions reusing the session; and, as the reference,
/// the OpenSSH client sending the same command lines over one connection and over N connections.
struct SwitchBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switch", abstract: "Port changes over SSH: one action, N actions on a reused session, versus the OpenSSH client.")

    @Option(help: "Actions in the burst.") var actions = 20
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
        let oneAction = ContinuousClock.now - started
        single.pool.closeAll()
        guard first.changed else { throw BenchFailure(message: "the first action changed nothing") }
        let script = peer.commandLog

        // A burst on one session (alternating, so each is a real change).
        let burst = service()
        var phase = BenchPhase("agent burst on one session", total: actions, unit: "actions", json: json)
        started = ContinuousClock.now
        for index in 0..<actions {
            _ = try await burst.changeInterface(target, name: "Ethernet1", change: InterfaceChange(enabled: index % 2 == 0), dryRun: false, jobId: "bench-\(index)")
            phase.tick()
        }
        let burstTime = ContinuousClock.now - started
        phase.end()
        let connections = burst.pool.connectionsOpened
        burst.pool.closeAll()

        // The reference: the OpenSSH client sending the same lines, one connection, then one connection per action.
        let input = try keys.write("commands", script.joined(separator: "\n") + "\nexit\n")
        let arguments = ["-T", "-i", keys.file("id_ed25519"), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                         "-p", String(peer.port), "\(SSHSwitchPeer.user)@127.0.0.1"]
        func openSSH() async throws -> Duration {
            let begin = ContinuousClock.now
            let (status, text) = try await PeerTools.run("/bin/sh", ["-c", "/usr/bin/ssh " + arguments.joined(separator: " ") + " < \(input)"], timeout: .seconds(60))
            guard status == 0 else { throw BenchFailure(message: "ssh: \(text.suffix(300))") }
            return ContinuousClock.now - begin
        }
        let referenceOne = try await openSSH()
        var referenceBurst = Duration.zero
        phase = BenchPhase("openssh client, a connection per action", total: actions, unit: "actions", json: json)
        for _ in 0..<actions {
            referenceBurst += try await openSSH()
            phase.tick()
        }
        phase.end()

        func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }
        var report = BenchReport(benchmark: "switch", parameters: ["actions": String(actions), "dialect": "aristaSsh (emulator over OpenSSH)"])
        report.add("agent: one setPortDisabled (connect, read, apply, verify)", seconds(oneAction) * 1000, "ms")
        report.add("agent: \(actions) actions on one reused session", seconds(burstTime) * 1000, "ms")
        report.add("ratio burst / one action", seconds(burstTime) / seconds(oneAction), "x (target < 3)")
        report.add("SSH connections opened for the burst", Double(connections), "")
        report.add("commands per action", Double(script.count), "")
        report.add("openssh client: the same lines, one connection", seconds(referenceOne) * 1000, "ms")
        report.add("openssh client: \(actions) connections", seconds(referenceBurst) * 1000, "ms")
        report.add("ratio agent burst / openssh burst", seconds(burstTime) / seconds(referenceBurst), "x")
        try report.print(json: json)
    }
}
