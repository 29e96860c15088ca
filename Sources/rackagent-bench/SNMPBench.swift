import AgentCore
import ArgumentParser
import ControllerAPI
import Foundation
import PeerHarness
import SNMP

/// `rackagent bench snmp`: the bandwidth poll of N devices (one real snmpd with many interfaces in a network
/// namespace, addressed as N devices) by the agent, against net-snmp's `snmpbulkwalk` for the same columns,
/// sequentially and with `xargs -P 16`.
struct SNMPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snmp",
        abstract: "Poll the IF-MIB counter columns of N devices: the agent versus snmpbulkwalk (sequential and xargs -P 16).",
        discussion: "Needs root: it creates a network namespace with veth interfaces and runs snmpd inside it.")

    @Option(help: "Devices to poll (all answered by one snmpd).") var devices = 1000
    @Option(help: "Interfaces in the namespace (veth pairs, so even).") var interfaces = 48
    @Option(name: .customLong("sequential-sample"), help: "Devices walked one after another for the sequential figure (scaled to all).")
    var sequentialSample = 100
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard (1...10_000).contains(devices), (2...512).contains(interfaces) else { throw ValidationError("--devices 1-10000, --interfaces 2-512") }
        let namespace = try await NetworkNamespace(prefix: "rab", subnet: 77)
        defer { namespace.remove() }
        for index in 0..<(interfaces / 2) { try await namespace.addInterfacePair("b\(index)a", "b\(index)b") }
        let daemon = try await SNMPDaemon(host: namespace.peerAddress, namespace: namespace.name)
        defer { daemon.stop() }

        let (runtime, stateDirectory) = try await benchRuntime { configuration in
            configuration.snmp.timeoutSeconds = 5
            configuration.snmp.retries = 1
        }
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        let service = runtime.networkDevices
        for index in 0..<devices {
            let document: JSONValue = [
                "id": .string("bench\(index)"), "deviceType": "snmp_switch", "name": .string("bench \(index)"),
                "host": .string("\(daemon.host):\(daemon.port)"), "snmpVersion": "2c", "snmpCommunity": "public", "features": ["bw_collection"],
            ]
            try await service.store.put(try document.decode(as: NetworkDevice.self, at: ""))
        }
        let stored = try await service.store.all()
        let collector = BandwidthCollector(service: service, settings: runtime.configuration.snmp, logger: runtime.logger)

        // Agent, reading only: every device's counters, at most maxConcurrentDevices at once.
        var phase = BenchPhase("agent read", total: devices, unit: "devices", json: json)
        let readStarted = ContinuousClock.now
        let portsRead = try await withThrowingTaskGroup(of: Int.self) { group in
            var running = 0
            var total = 0
            for device in stored {
                if running >= runtime.configuration.snmp.maxConcurrentDevices {
                    total += try await group.next() ?? 0
                    running -= 1
                }
                group.addTask { [phase] in
                    defer { phase.tick() }
                    return try await service.readCounters(device).ports.count
                }
                running += 1
            }
            for try await count in group { total += count }
            return total
        }
        let agentRead = (ContinuousClock.now - readStarted).inSeconds
        phase.end()

        // Agent, the real collector round: read, decide, record (samples, rollups, events) — twice, so the
        // second round stores deltas.
        phase = BenchPhase("agent collector rounds", total: 2, unit: "rounds", json: json)
        await collector.pollAll()
        phase.tick()
        let roundStarted = ContinuousClock.now
        await collector.pollAll()
        let agentRound = (ContinuousClock.now - roundStarted).inSeconds
        phase.tick()
        phase.end()

        // Reference: one snmpbulkwalk per column and device (sysUpTime and the four counter columns).
        let columns = ["1.3.6.1.2.1.1.3"] + CounterTable.columns(.bits64).map(\.description)
        let listPath = FileManager.default.temporaryDirectory.appendingPathComponent("rackagent-bench-\(UUID().uuidString).args").path
        defer { unlink(listPath) }
        let lines = (0..<devices).flatMap { _ in columns.map { "\(daemon.host):\(daemon.port) \($0)" } }
        try lines.joined(separator: "\n").appending("\n").write(toFile: listPath, atomically: true, encoding: .utf8)
        let walk = ["snmpbulkwalk", "-v2c", "-c", "public", "-Cr32", "-On", "-Oq", "-t", "5", "-r", "1"]
        let runner = ProcessRunner()
        phase = BenchPhase("snmpbulkwalk with xargs -P 16", total: nil, unit: "runs", json: json)
        let xargsStarted = ContinuousClock.now
        let xargs = try await runner.run(
            ProcessCommand("xargs", ["-a", listPath, "-P", "16", "-L", "1"] + walk, environment: ["MIBS": ""], timeout: .seconds(3600), outputLimit: 64 << 20))
        let xargsWall = (ContinuousClock.now - xargsStarted).inSeconds
        phase.tick()
        phase.end()
        let walkedLines = xargs.standardOutput.split(separator: "\n").count

        let sample = min(sequentialSample, devices)
        phase = BenchPhase("snmpbulkwalk sequential", total: sample, unit: "devices", json: json)
        let sequentialStarted = ContinuousClock.now
        for _ in 0..<sample {
            for column in columns {
                _ = try await runner.run(ProcessCommand(walk[0], Array(walk.dropFirst()) + ["\(daemon.host):\(daemon.port)", column], environment: ["MIBS": ""], timeout: .seconds(60)))
            }
            phase.tick()
        }
        phase.end()
        let sequential = (ContinuousClock.now - sequentialStarted).inSeconds * Double(devices) / Double(sample)
        await runtime.snmp.shutdown()

        var report = BenchReport(
            benchmark: "snmp", parameters: ["devices": String(devices), "interfacesPerDevice": String(portsRead / max(devices, 1)), "xargsParallelism": "16"])
        report.add("agent read, all devices", agentRead, "s")
        report.add("agent collector round (read + record)", agentRound, "s")
        report.add("ports read by the agent", Double(portsRead), "")
        report.add("snmpbulkwalk with xargs -P 16", xargsWall, "s")
        report.add("snmpbulkwalk sequential (scaled from \(sample) devices)", sequential, "s")
        report.add("ratio agent read / xargs -P 16", agentRead / xargsWall, "x")
        report.add("ratio agent round / xargs -P 16", agentRound / xargsWall, "x")
        report.add("values walked by snmpbulkwalk", Double(walkedLines), "")
        report.add("xargs exit status", Double(xargs.exitCode ?? -1), "")
        try report.print(json: json)
    }
}
