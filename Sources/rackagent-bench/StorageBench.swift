import AgentCore
import ArgumentParser
import AsyncHTTPClient
import ControllerAPI
import Foundation
import GRDB
import NIOCore
import SNMP

/// `rackagent-bench storage`: the bandwidth store filled with days of 5-minute polls through its own API
/// (`BandwidthStore.record`, as the collector records a poll), then its size per port and day, the statistics answers
/// through the agent's API, and the nightly retention job.
struct StorageBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Fill the bandwidth store with days of 5-minute polls, then measure its size, the statistics answers and the retention job.",
        discussion: """
            Every poll goes through the store's own recording path (baselines, deltas, 5-minute rollups, daily totals, \
            the controller's event), one poll per device every 5 minutes of simulated time. The size is extrapolated to \
            10,000 ports for a year from bytes per port and day.
            """)

    @Option(help: "Devices of 48 ports.") var devices = 2
    @Option(help: "Days of 5-minute polls.") var days = 30
    @Option(help: "Requests per statistics query measured.") var requests = 100
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard (1...100).contains(devices), (1...400).contains(days), (1...10_000).contains(requests) else {
            throw ValidationError("--devices 1-100, --days 1-400, --requests 1-10000")
        }
        let (runtime, stateDirectory) = try await benchRuntime { _ in }
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        let service = runtime.networkDevices
        let ports = 48
        for index in 0..<devices {
            let document: JSONValue = [
                "id": .string("switch-\(index)"), "deviceType": "snmp_switch", "name": .string("switch \(index)"), "host": "127.0.0.1",
                "snmpVersion": "2c", "snmpCommunity": "public", "features": ["bw_collection"],
            ]
            try await service.store.put(try document.decode(as: NetworkDevice.self, at: ""))
        }
        let now = Date()
        let start = now.addingTimeInterval(-Double(days) * 86_400)
        // Server 1 holds four ports (two on each of the first two devices, or four on one).
        let held = (0..<4).map { index in (device: "switch-\(devices > 1 ? index % 2 : 0)", port: index + 1) }
        for port in held {
            try await service.assignments.set(deviceId: port.device, portId: port.port, [.init(type: "server", relId: 1)], at: start)
        }

        // Fill: one poll per device every 300 s; each port moves by a pseudo-random amount up to 1 Gbit/s.
        let polls = days * 288
        let phase = BenchPhase("record \(polls) polls of \(devices) devices", total: polls, unit: "polls", json: json)
        var counters = [UInt64](repeating: 1_000_000, count: devices * ports)
        var generator = SplitMix(seed: 42)
        let fillUsage = PhaseUsage()
        let fillStarted = ContinuousClock.now
        for poll in 0..<polls {
            let time = start.addingTimeInterval(Double(poll) * 300)
            for device in 0..<devices {
                var polled: [PortCounters] = []
                for port in 0..<ports {
                    let slot = device * ports + port
                    counters[slot] &+= generator.next() % 37_500_000_000
                    polled.append(
                        PortCounters(ifIndex: port + 1, inOctets: counters[slot], outOctets: counters[slot] / 3, width: .bits64, speedMbps: 10_000))
                }
                try await service.bandwidth.record(
                    DevicePoll(deviceId: "switch-\(device)", time: time, sysUpTime: UInt32(truncatingIfNeeded: poll * 30_000), width: .bits64, ports: polled))
            }
            phase.tick()
        }
        let fillWall = (ContinuousClock.now - fillStarted).inSeconds
        let fill = fillUsage.end()
        phase.end()
        // The controller takes the events as they come; a store that kept them would measure the outbox, not the data.
        try await runtime.database.writer.write { db in try db.execute(sql: "DELETE FROM outboxEvent") }
        let sizes = try await tableSizes(runtime.database)
        let bandwidthBytes = sizes.filter { Self.isBandwidthTable($0.key) }.values.reduce(0, +)
        let portDays = Double(devices * ports * days)

        var report = BenchReport(
            benchmark: "storage",
            parameters: [
                "devices": String(devices), "portsPerDevice": String(ports), "days": String(days), "pollSeconds": "300",
                "requestsPerQuery": String(requests), "retention": "raw samples \(runtime.configuration.snmp.rawSampleRetentionDays) days, 5-minute rollups \(runtime.configuration.snmp.rollupRetentionDays) days (defaults)",
            ])
        report.add("fill: port samples recorded", Double(polls * devices * ports), "")
        report.add("fill: wall", fillWall, "s")
        report.add("fill: port samples per second", Double(polls * devices * ports) / fillWall, "")
        report.add("fill: CPU", fill.ownCPU, "s")
        for (table, bytes) in sizes.sorted(by: { $0.key < $1.key }) where Self.isBandwidthTable(table) {
            report.add("size: \(table) (with its indexes)", bytes.mebibytes, "MiB")
        }
        report.add("size per port and day", Double(bandwidthBytes) / portDays, "bytes")
        // A year's store holds each table for its retention: raw samples and drops for days, rollups and daily totals
        // for up to a year (400 days), baselines once per port.
        let settings = runtime.configuration.snmp
        let keptDays: [String: Double] = [
            "bandwidthSample": Double(min(settings.rawSampleRetentionDays, 400)), "bandwidthDrop": Double(min(settings.rawSampleRetentionDays, 400)),
            "bandwidthRollup": Double(min(settings.rollupRetentionDays, 400)), "bandwidthDaily": Double(min(settings.rollupRetentionDays, 400)),
        ]
        let yearBytes = sizes.reduce(0.0) { total, table in
            guard let kept = keptDays[table.key] else { return total + (table.key.hasPrefix("port") ? Double(table.value) / Double(devices * ports) * 10_000 : 0) }
            return total + Double(table.value) / portDays * 10_000 * kept
        }
        report.add("extrapolated: 10,000 ports, a year at these retentions", yearBytes / 1e9, "GB")

        let agent = try await EmbeddedAgent.start(runtime: runtime)
        do {
            try await withAgentClient(agent, connections: 1) { client in
                for (label, body) in [
                    ("getStatistics, 1 port, graph over 30 days", ["portIds": [1], "mode": "graph", "predefined": "30days"] as JSONValue),
                    ("getStatistics, 1 port, text by day over 30 days", ["portIds": [1], "mode": "text", "groupBy": "1d", "predefined": "30days"] as JSONValue),
                ] {
                    // The answer is checked, not decoded: the client's own JSON decoding is not the agent's latency.
                    let latencies = try await measure(label) {
                        var request = HTTPClientRequest(url: agent.apiBaseURL + "/v1/network-devices/switch-0/actions/getStatistics")
                        request.method = .POST
                        request.headers.add(name: "Authorization", value: "Bearer \(agent.token)")
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: body.jsonText))
                        let response = try await client.execute(request, timeout: .seconds(60))
                        let answer = String(buffer: try await response.body.collect(upTo: 64 << 20))
                        guard response.status == .ok, answer.contains("\"trafficStatistics\"") else {
                            throw BenchFailure(message: "\(label): \(response.status) \(answer.prefix(300))")
                        }
                    }
                    report.add("\(label): p50", Distribution.percentile(latencies, 0.5) * 1000, "ms")
                    report.add("\(label): p99", Distribution.percentile(latencies, 0.99) * 1000, "ms")
                }
                let traffic = try await measure("server traffic, 4 ports") {
                    var request = HTTPClientRequest(url: agent.apiBaseURL + "/v1/servers/1/traffic")
                    request.headers.add(name: "Authorization", value: "Bearer \(agent.token)")
                    let response = try await client.execute(request, timeout: .seconds(60))
                    let body = try await response.body.collect(upTo: 16 << 20)
                    guard response.status == .ok, String(buffer: body).contains("95th_total_30d") else {
                        throw BenchFailure(message: "server traffic: \(response.status) \(String(buffer: body).prefix(300))")
                    }
                }
                report.add("server trafficStatistics, 4 ports: p50", Distribution.percentile(traffic, 0.5) * 1000, "ms")
                report.add("server trafficStatistics, 4 ports: p99", Distribution.percentile(traffic, 0.99) * 1000, "ms")
            }
        } catch {
            await agent.stop()
            throw error
        }
        await agent.stop()

        // The nightly retention job, as the collector runs it, with the default retention.
        let pruneStarted = ContinuousClock.now
        try await service.bandwidth.prune(
            samplesBefore: now.addingTimeInterval(-Double(settings.rawSampleRetentionDays) * 86_400),
            rollupsBefore: now.addingTimeInterval(-Double(settings.rollupRetentionDays) * 86_400))
        report.add("retention job", (ContinuousClock.now - pruneStarted).inSeconds * 1000, "ms")
        let after = try await tableSizes(runtime.database)
        let afterBytes = after.filter { Self.isBandwidthTable($0.key) }.values.reduce(0, +)
        report.add("size per port and day after retention", Double(afterBytes) / portDays, "bytes")
        try report.print(json: json)
    }

    /// The tables the bandwidth collection writes.
    static func isBandwidthTable(_ name: String) -> Bool {
        name.hasPrefix("bandwidth") || name == "portBaseline" || name == "portCounterTotal"
    }

    /// `requests` sequential calls of `call`; their latencies in seconds.
    private func measure(_ label: String, _ call: () async throws -> Void) async throws -> [Double] {
        let phase = BenchPhase(label, total: requests, unit: "requests", json: json)
        defer { phase.end() }
        var latencies: [Double] = []
        for _ in 0..<requests {
            let started = ContinuousClock.now
            try await call()
            latencies.append((ContinuousClock.now - started).inSeconds)
            phase.tick()
        }
        return latencies
    }

    /// Bytes each table takes with its indexes (SQLite's dbstat), after a checkpoint and a vacuum.
    private func tableSizes(_ database: AgentDatabase) async throws -> [String: Int] {
        try await database.writer.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            try db.execute(sql: "VACUUM")
            var sizes: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT m.tbl_name AS owner, SUM(s.pgsize) AS bytes FROM dbstat s JOIN sqlite_master m ON m.name = s.name GROUP BY m.tbl_name") {
                sizes[row["owner"]] = row["bytes"]
            }
            return sizes
        }
    }
}

/// A small deterministic generator (SplitMix64) for synthetic traffic.
struct SplitMix {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
