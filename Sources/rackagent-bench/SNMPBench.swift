import AgentCore
import ArgumentParser
import AsyncHTTPClient
import ControllerAPI
import GRDB
import Foundation
import PeerHarness
import SNMP

/// `rackagent-bench snmp`: one bandwidth poll round of N distinct SNMP devices (snmpsim endpoints, one loopback address
/// each, 48 ports whose counters move between polls) by the agent with its default settings, against Prometheus's
/// snmp_exporter scraping the same devices for the same columns at the same concurrency, and net-snmp's snmpbulkwalk.
struct SNMPBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snmp",
        abstract: "One poll round of N snmpsim devices: the agent versus snmp_exporter and snmpbulkwalk, the same columns at the same concurrency.",
        discussion: """
            Every device is its own UDP endpoint (127.1.x.y:161) served by snmpsim processes; the counters move with \
            time (snmpsim's numeric variation). The agent reads sysUpTime and the four ifXTable columns it polls \
            (ifHCInOctets, ifHCOutOctets, ifHighSpeed, ifCounterDiscontinuityTime); snmp_exporter gets a module with \
            exactly these (Debian ships no snmp.yml, so no stock if_mib module), scraped with as many at once as the \
            agent's maxConcurrentDevices; snmpbulkwalk walks each column with xargs at that parallelism. CPU seconds \
            are those of the process doing the polling: this process for the agent, the exporter's process, the \
            snmpbulkwalk processes. Needs root (port 161), prometheus-snmp-exporter and the test peers' snmpsim.
            """)

    @Option(parsing: .upToNextOption, help: "Device counts to measure.") var devices: [Int] = [100, 500, 1000]
    @Option(help: "Ports per device.") var ports = 48
    @Option(help: "snmpsim processes serving the devices (the simulator, not the poller, is the slow side).") var simulators = 2
    @Option(help: "Largest device count snmpbulkwalk is measured at (it runs 5 processes per device).") var walkLimit = 1000
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard !devices.isEmpty, devices.allSatisfy({ (1...5000).contains($0) }), (1...512).contains(ports), (1...8).contains(simulators) else {
            throw ValidationError("--devices 1-5000 (one or more), --ports 1-512, --simulators 1-8")
        }
        guard let exporterProgram = locateProgram("prometheus-snmp-exporter") else {
            throw BenchFailure(message: "prometheus-snmp-exporter is missing: apt-get install prometheus-snmp-exporter")
        }
        let largest = devices.max()!
        let addresses = (0..<largest).map { "127.1.\($0 / 250).\($0 % 250 + 1)" }
        let farm = try await SimulatedDeviceFarm(addresses: addresses, ports: ports, processes: simulators)
        defer { farm.stop() }
        let (runtime, stateDirectory) = try await benchRuntime { _ in }
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        let settings = runtime.configuration.snmp
        let exporter = try await SNMPExporterPeer(program: exporterProgram, settings: settings)
        defer { exporter.stop() }

        var report = BenchReport(
            benchmark: "snmp",
            parameters: [
                "devices": devices.map(String.init).joined(separator: "/"), "portsPerDevice": String(ports),
                "concurrency": "\(settings.maxConcurrentDevices) devices at once (the agent's default maxConcurrentDevices), the same for every side",
                "agent": "defaults: timeout \(settings.timeoutSeconds) s, retries \(settings.retries), max-repetitions \(settings.maxRepetitions), poll interval \(Int(settings.pollIntervalSeconds)) s",
                "snmp_exporter": "0.21 (Debian), module with the agent's columns, max_repetitions \(settings.maxRepetitions), timeout \(settings.timeoutSeconds) s, retries \(settings.retries)",
                "simulator": "\(simulators) snmpsim processes, numeric variation (counters move between polls)",
            ])
        let service = runtime.networkDevices
        let collector = BandwidthCollector(service: service, settings: settings, logger: runtime.logger)
        var stored = 0
        for size in devices.sorted() {
            for index in stored..<size {
                let document: JSONValue = [
                    "id": .string("bench\(index)"), "deviceType": "snmp_switch", "name": .string("bench \(index)"),
                    "host": .string(addresses[index]), "snmpVersion": "2c", "snmpCommunity": "public", "features": ["bw_collection"],
                ]
                try await service.store.put(try document.decode(as: NetworkDevice.self, at: ""))
            }
            stored = max(stored, size)
            let fleet = Array(addresses.prefix(size))

            // The agent, reading only (the same work as the references), then a whole collector round (read, compute
            // deltas, store rollups, queue the controller's events). The first collector round only takes baselines.
            let read = try await measureAgentRead(service, size: size, concurrency: settings.maxConcurrentDevices)
            var phase = BenchPhase("agent collector round, \(size) devices", total: 2, unit: "rounds", json: json)
            await collector.pollAll()
            phase.tick()
            let roundStartedAt = Date()
            let roundUsage = PhaseUsage()
            let roundStarted = ContinuousClock.now
            await collector.pollAll()
            let roundWall = (ContinuousClock.now - roundStarted).inSeconds
            let round = roundUsage.end()
            phase.tick()
            phase.end()
            // Each port's newest accepted sample is kept beside its totals (per-poll samples are not kept by default).
            let samples = try await runtime.database.writer.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM portCounterTotal WHERE lastEndedAt >= ?", arguments: [roundStartedAt.timeIntervalSince1970]) ?? 0
            }

            phase = BenchPhase("snmp_exporter, \(size) devices", total: size, unit: "devices", json: json)
            let scrape = try await exporter.scrapeAll(fleet, concurrency: settings.maxConcurrentDevices, phase: phase)
            phase.end()

            report.add("\(size) devices: agent read round, wall", read.wall, "s")
            report.add("\(size) devices: agent read round, CPU", read.cpu, "s")
            report.add("\(size) devices: agent ports read", Double(read.ports), "")
            report.add("\(size) devices: agent collector round (read + store), wall", roundWall, "s")
            report.add("\(size) devices: agent collector round, CPU", round.ownCPU, "s")
            report.add("\(size) devices: agent samples stored in the round", Double(samples), "")
            report.add("\(size) devices: agent peak RSS", max(read.peak, round.ownPeak).mebibytes, "MiB")
            report.add("\(size) devices: snmp_exporter scrape round, wall", scrape.wall, "s")
            report.add("\(size) devices: snmp_exporter CPU", scrape.cpu, "s")
            report.add("\(size) devices: snmp_exporter counter series scraped", Double(scrape.series), "")
            report.add("\(size) devices: snmp_exporter failed scrapes", Double(scrape.failures), "")
            report.add("\(size) devices: snmp_exporter peak RSS", scrape.peak.mebibytes, "MiB")
            report.add("\(size) devices: ratio agent read / snmp_exporter, wall", read.wall / scrape.wall, "x")
            report.add("\(size) devices: ratio agent read / snmp_exporter, CPU", read.cpu / max(scrape.cpu, 1e-9), "x")
            report.add("\(size) devices: ratio agent collector round / snmp_exporter, CPU", round.ownCPU / max(scrape.cpu, 1e-9), "x")
            if size <= walkLimit {
                let walk = try await measureBulkWalk(fleet, settings: settings)
                report.add("\(size) devices: snmpbulkwalk (xargs -P \(settings.maxConcurrentDevices)), wall", walk.wall, "s")
                report.add("\(size) devices: snmpbulkwalk CPU", walk.cpu, "s")
                report.add("\(size) devices: snmpbulkwalk values", Double(walk.values), "")
                report.add("\(size) devices: snmpbulkwalk walks that timed out", Double(walk.failed), "")
                report.add("\(size) devices: ratio agent read / snmpbulkwalk, wall", read.wall / walk.wall, "x")
                report.add("\(size) devices: ratio agent read / snmpbulkwalk, CPU", read.cpu / max(walk.cpu, 1e-9), "x")
            }
        }
        // What a Prometheus scrape of /metrics costs the agent for every polled port (read and render; HTTP aside).
        let exportStarted = ContinuousClock.now
        let exposition = try await service.bandwidth.portCounterExposition(polledSince: Date().addingTimeInterval(-3 * settings.pollIntervalSeconds))
        report.add("/metrics port counters: read and render", (ContinuousClock.now - exportStarted).inSeconds * 1000, "ms")
        report.add("/metrics port counters: ports exported", Double(exposition.split(separator: "\n").filter { $0.hasPrefix(PortCounterMetrics.inName) }.count), "")
        report.add("/metrics port counters: size", Double(exposition.utf8.count) / 1_048_576, "MiB")
        await runtime.snmp.shutdown()
        try report.print(json: json)
    }

    struct Measured {
        var wall: Double
        var cpu: Double
        var peak: Int
        var ports: Int
    }

    /// Every device's counters read once, at most `concurrency` at once (the collector's own bound).
    private func measureAgentRead(_ service: NetworkDeviceService, size: Int, concurrency: Int) async throws -> Measured {
        let stored = Array(try await service.store.all().filter { Int($0.device.id.dropFirst("bench".count)).map { $0 < size } ?? false })
        let phase = BenchPhase("agent read, \(size) devices", total: stored.count, unit: "devices", json: json)
        defer { phase.end() }
        let usage = PhaseUsage()
        let started = ContinuousClock.now
        let portsRead = try await withThrowingTaskGroup(of: Int.self) { group in
            var running = 0
            var total = 0
            for device in stored {
                if running >= concurrency {
                    total += try await group.next() ?? 0
                    running -= 1
                }
                group.addTask {
                    defer { phase.tick() }
                    return try await service.readCounters(device).ports.count
                }
                running += 1
            }
            for try await count in group { total += count }
            return total
        }
        let wall = (ContinuousClock.now - started).inSeconds
        let spent = usage.end()
        return Measured(wall: wall, cpu: spent.ownCPU, peak: spent.ownPeak, ports: portsRead)
    }

    /// One snmpbulkwalk per device and column (sysUpTime and the agent's four columns), `xargs -P` at the agent's
    /// concurrency.
    private func measureBulkWalk(_ fleet: [String], settings: SNMPConfiguration) async throws -> (wall: Double, cpu: Double, values: Int, failed: Int) {
        let columns = ["1.3.6.1.2.1.1.3"] + CounterTable.columns(.bits64).map(\.description)
        let listPath = FileManager.default.temporaryDirectory.appendingPathComponent("rackagent-bench-\(UUID().uuidString.prefix(8)).args").path
        defer { unlink(listPath) }
        try fleet.flatMap { address in columns.map { "\(address) \($0)" } }.joined(separator: "\n").appending("\n")
            .write(toFile: listPath, atomically: false, encoding: .utf8)
        let walk = [
            "snmpbulkwalk", "-v2c", "-c", "public", "-Cr\(settings.maxRepetitions)", "-On", "-Oq", "-t", String(settings.timeoutSeconds), "-r",
            String(settings.retries),
        ]
        let phase = BenchPhase("snmpbulkwalk, \(fleet.count) devices", total: nil, unit: "runs", json: json)
        defer { phase.end() }
        let usage = PhaseUsage()
        let started = ContinuousClock.now
        let result = try await ProcessRunner().run(
            ProcessCommand(
                "xargs", ["-a", listPath, "-P", String(settings.maxConcurrentDevices), "-L", "1"] + walk, environment: ["MIBS": ""],
                timeout: .seconds(3600), outputLimit: 256 << 20))
        let wall = (ContinuousClock.now - started).inSeconds
        let spent = usage.end()
        // xargs exits 123 when a walk failed; those are counted, anything else is the benchmark's failure.
        guard result.exitCode == 0 || result.exitCode == 123 else {
            throw BenchFailure(message: "xargs snmpbulkwalk failed: \(result.standardError.suffix(500))")
        }
        let failed = result.standardError.split(separator: "\n").filter { $0.hasPrefix("Timeout") }.count
        return (wall, spent.childrenCPU, result.standardOutput.split(separator: "\n").count, failed)
    }
}

/// snmpsim answering as many devices, one loopback address (port 161) each, the same 48-port switch behind every one
/// with counters that move with time.
final class SimulatedDeviceFarm: Sendable {
    private let directory: TemporaryDirectory
    private let responders: [PeerProcess]

    init(addresses: [String], ports: Int, processes: Int) async throws {
        let program = try PeerTools.venvProgram("snmpsim-command-responder")
        directory = try TemporaryDirectory(prefix: "rackagent-bench-snmpsim")
        try directory.write("data/public.snmprec", Self.records(ports: ports))
        // Device i is served by process i mod `processes`, so that every size uses every process.
        let shares = (0..<min(processes, addresses.count)).map { process in stride(from: process, to: addresses.count, by: processes).map { addresses[$0] } }
        var started: [PeerProcess] = []
        for (index, share) in shares.enumerated() {
            // Each process indexes the data file in a cache of its own: two building one index race and one dies.
            try FileManager.default.createDirectory(atPath: directory.file("cache-\(index)"), withIntermediateDirectories: true)
            started.append(
                try await PeerProcess(
                    name: "snmpsim", executable: program,
                    arguments: [
                        "--data-dir=\(directory.file("data"))", "--cache-dir=\(directory.file("cache-\(index)"))", "--process-user=root", "--process-group=root",
                        "--logging-method=null",
                    ] + share.map { "--agent-udpv4-endpoint=\($0):161" },
                    logPath: directory.file("snmpsim-\(index).log")))
        }
        responders = started
        // Every process answers its last endpoint before the benchmark starts.
        for (share, responder) in zip(shares, responders) {
            try await waitUntilAnswering(share.last!, process: responder)
        }
    }

    /// sysUpTime and the interface tables of one switch, sorted by OID as snmpsim wants them: octet counters grow at a
    /// per-port rate (snmpsim's numeric variation counts from its start), speeds are 10 Gbit/s.
    static func records(ports: Int) -> String {
        var lines = ["1.3.6.1.2.1.1.1.0|4|rackagent bench switch", "1.3.6.1.2.1.1.3.0|67:numeric|rate=100,initial=100000"]
        let range = 1...ports
        lines += range.map { "1.3.6.1.2.1.2.2.1.2.\($0)|4|Ethernet\($0)" }
        lines += range.map { "1.3.6.1.2.1.31.1.1.1.1.\($0)|4|Ethernet\($0)" }
        lines += range.map { "1.3.6.1.2.1.31.1.1.1.6.\($0)|70:numeric|rate=\(125_000 * $0),initial=\(1_000_000_000 * $0)" }
        lines += range.map { "1.3.6.1.2.1.31.1.1.1.10.\($0)|70:numeric|rate=\(250_000 * $0),initial=\(2_000_000_000 * $0)" }
        lines += range.map { "1.3.6.1.2.1.31.1.1.1.15.\($0)|66|10000" }
        lines += range.map { "1.3.6.1.2.1.31.1.1.1.19.\($0)|67|0" }
        return lines.joined(separator: "\n") + "\n"
    }

    private func waitUntilAnswering(_ address: String, process: PeerProcess) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let result = try await ProcessRunner().run(
                ProcessCommand("snmpget", ["-v2c", "-c", "public", "-t", "0.5", "-r", "0", address, "1.3.6.1.2.1.1.3.0"], environment: ["MIBS": ""]))
            if result.succeeded { return }
            guard process.isRunning else { throw BenchFailure(message: "snmpsim exited: \(process.log.suffix(1000))") }
            try await Task.sleep(for: .milliseconds(300))
        }
        throw BenchFailure(message: "snmpsim did not answer on \(address)")
    }

    func stop() {
        responders.forEach { $0.stop() }
        directory.remove()
    }
}

/// Prometheus's snmp_exporter with a module for exactly the columns the agent polls, on 127.0.0.1.
final class SNMPExporterPeer: Sendable {
    private let directory: TemporaryDirectory
    private let process: PeerProcess
    private let port: Int

    init(program: String, settings: SNMPConfiguration) async throws {
        directory = try TemporaryDirectory(prefix: "rackagent-bench-snmp-exporter")
        port = FreePort.tcp()
        let counters = CounterTable.columns(.bits64).map(\.description)
        let metrics = zip(["ifHCInOctets", "ifHCOutOctets", "ifHighSpeed", "ifCounterDiscontinuityTime"], counters).map { name, oid in
            """
              - name: \(name)
                oid: \(oid)
                type: \(name.hasSuffix("Octets") ? "counter" : "gauge")
                indexes:
                - labelname: ifIndex
                  type: gauge
            """
        }
        try directory.write(
            "snmp.yml",
            """
            rackagent_counters:
              get:
              - 1.3.6.1.2.1.1.3.0
              walk:
            \(counters.map { "  - \($0)" }.joined(separator: "\n"))
              metrics:
              - name: sysUpTime
                oid: 1.3.6.1.2.1.1.3
                type: gauge
            \(metrics.joined(separator: "\n"))
              version: 2
              max_repetitions: \(settings.maxRepetitions)
              retries: \(settings.retries)
              timeout: \(Int(settings.timeoutSeconds * 1000))ms
              auth:
                community: public

            """)
        process = try await PeerProcess(
            name: "snmp_exporter", executable: program,
            arguments: ["--config.file=\(directory.file("snmp.yml"))", "--web.listen-address=127.0.0.1:\(port)", "--log.level=error"],
            logPath: directory.file("exporter.log"))
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            if let response = try? await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/metrics"), timeout: .seconds(2)),
                response.status == .ok
            {
                break
            }
            guard process.isRunning, ContinuousClock.now < deadline else {
                let log = process.log.suffix(1000)
                stop()
                throw BenchFailure(message: "snmp_exporter did not start: \(log)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// One scrape per device, `concurrency` at once, as Prometheus would fan out; the counter series returned.
    func scrapeAll(_ fleet: [String], concurrency: Int, phase: BenchPhase) async throws -> (wall: Double, cpu: Double, peak: Int, series: Int, failures: Int) {
        let usage = PhaseUsage(daemons: [process.pid])
        let started = ContinuousClock.now
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let port = port
        let (series, failures) = await withTaskGroup(of: Int?.self) { group in
            var running = 0
            var series = 0
            var failures = 0
            func take(_ result: Int??) {
                if let counted = result ?? nil { series += counted } else { failures += 1 }
            }
            for address in fleet {
                if running >= concurrency {
                    take(await group.next())
                    running -= 1
                }
                group.addTask {
                    defer { phase.tick() }
                    let url = "http://127.0.0.1:\(port)/snmp?module=rackagent_counters&target=\(address)"
                    guard let response = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(60)), response.status == .ok,
                        let body = try? await response.body.collect(upTo: 16 << 20)
                    else { return nil }
                    let text = String(buffer: body)
                    let counted = text.split(separator: "\n").filter { $0.hasPrefix("ifHCInOctets{") || $0.hasPrefix("ifHCOutOctets{") }.count
                    return counted > 0 ? counted : nil
                }
                running += 1
            }
            for await result in group { take(result) }
            return (series, failures)
        }
        let wall = (ContinuousClock.now - started).inSeconds
        try? await client.shutdown()
        let spent = usage.end()
        return (wall, spent.daemonCPU, spent.daemonPeak, series, failures)
    }

    func stop() {
        process.stop()
        directory.remove()
    }
}
