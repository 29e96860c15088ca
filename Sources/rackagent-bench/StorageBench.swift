import AgentCore
import ArgumentParser
import AsyncHTTPClient
import ControllerAPI
import Foundation
import GRDB
import NIOCore
import PeerHarness
import SNMP

/// `rackagent-bench storage`: the bandwidth store filled with days of 5-minute polls through its own API
/// (`BandwidthStore.record`, as the collector records a poll), consolidated by its own retention job, then its size per
/// port and day in each form the history takes, the statistics answers through the agent's API, and the nightly job.
struct StorageBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "storage",
        abstract: "Fill the bandwidth store with days of 5-minute polls, consolidate it, then measure its size, the statistics answers and the nightly job.",
        discussion: """
            Every poll goes through the store's own recording path (baselines, deltas, 5-minute rollups, daily totals, \
            the controller's event), one poll per device every 5 minutes of simulated time. The retention job then packs \
            the closed days (5-minute buckets for the newest fiveMinuteRetentionDays, hourly ones before). Each form's \
            bytes per port and day are measured and extrapolated to 10,000 ports with the default retention (a year and \
            more of history). One more day of polls then measures the nightly run.
            """)

    @Option(help: "Devices of 48 ports.") var devices = 2
    @Option(help: "Days of 5-minute polls (more than snmp.fiveMinuteRetentionDays, so that some days become hourly).") var days = 40
    @Option(help: "Requests per statistics query measured.") var requests = 100
    @Flag(help: "Print JSON.") var json = false

    func run() async throws {
        guard (1...100).contains(devices), (2...400).contains(days), (1...10_000).contains(requests) else {
            throw ValidationError("--devices 1-100, --days 2-400, --requests 1-10000")
        }
        let (runtime, stateDirectory) = try await benchRuntime { _ in }
        defer { try? FileManager.default.removeItem(atPath: stateDirectory) }
        let service = runtime.networkDevices
        let settings = runtime.configuration.snmp
        let retention = BandwidthRetention(settings)
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
        var traffic = SyntheticTraffic(devices: devices, ports: ports)
        let polls = days * 288
        let phase = BenchPhase("record \(polls) polls of \(devices) devices", total: polls, unit: "polls", json: json)
        let fillUsage = PhaseUsage()
        let fillStarted = ContinuousClock.now
        for poll in 0..<polls {
            try await traffic.poll(service.bandwidth, at: start.addingTimeInterval(Double(poll) * 300), sequence: poll)
            phase.tick()
        }
        let fillWall = (ContinuousClock.now - fillStarted).inSeconds
        let fill = fillUsage.end()
        phase.end()
        // The controller takes the events as they come; a store that kept them would measure the outbox, not the data.
        try await runtime.database.writer.write { db in try db.execute(sql: "DELETE FROM outboxEvent") }
        let rowSizes = try await tableSizes(runtime.database)
        let portDays = Double(devices * ports * days)

        var report = BenchReport(
            benchmark: "storage",
            parameters: [
                "devices": String(devices), "portsPerDevice": String(ports), "days": String(days), "pollSeconds": "300",
                "requestsPerQuery": String(requests),
                "retention (defaults)": """
                    raw samples \(retention.rawSampleDays) days, 5-minute buckets \(retention.fiveMinuteDays) days, hourly \(retention.hourlyDays) days, \
                    daily volumes \(retention.dailyDays) days
                    """,
            ])
        report.add("fill: port samples recorded", Double(polls * devices * ports), "")
        report.add("fill: wall", fillWall, "s")
        report.add("fill: port samples per second", Double(polls * devices * ports) / fillWall, "")
        report.add("fill: CPU", fill.ownCPU, "s")
        report.add("before consolidation: 5-minute rows per port and day", Double(rowSizes["bandwidthRollup"] ?? 0) / portDays, "bytes")

        // Each packed form is measured in a store holding only that form (SQLite pages hold whole rows, so a form's
        // cost includes the page space its rows leave): first every closed day packed in 5-minute buckets (a store
        // upgraded with its rows packs them all at once; later runs pack one day).
        let keepAllFine = BandwidthRetention(
            rawSampleDays: retention.rawSampleDays, fiveMinuteDays: days + 1, hourlyDays: max(retention.hourlyDays, days + 1), dailyDays: retention.dailyDays)
        let packStarted = ContinuousClock.now
        let packed = try await service.bandwidth.applyRetention(keepAllFine, now: now)
        report.add("packing all closed days: port-days", Double(packed.packedPortDays), "")
        report.add("packing all closed days: wall", (ContinuousClock.now - packStarted).inSeconds, "s")
        let fineSizes = try await tableSizes(runtime.database)
        let fiveMinuteDay = try await bytesPerPackedDay(runtime.database, fineSizes)
        // Then the default retention: the days past fiveMinuteDays become hourly.
        let coarsenStarted = ContinuousClock.now
        let coarsened = try await service.bandwidth.applyRetention(retention, now: now)
        report.add("default retention: port-days made hourly", Double(coarsened.coarsenedPortDays), "")
        report.add("default retention: wall", (ContinuousClock.now - coarsenStarted).inSeconds, "s")
        let sizes = try await tableSizes(runtime.database)
        for (table, bytes) in sizes.sorted(by: { $0.key < $1.key }) where Self.isBandwidthTable(table) {
            report.add("size: \(table) (with its indexes)", bytes.mebibytes, "MiB")
        }
        let dailyDay = Double(sizes["bandwidthDay"] ?? 0) / portDays
        let openDay = Double(rowSizes["bandwidthRollup"] ?? 0) / portDays
        let sampleDay = Double((rowSizes["bandwidthSample"] ?? 0) + (rowSizes["bandwidthDrop"] ?? 0)) / portDays
        let perPort = Double((sizes["portBaseline"] ?? 0) + (sizes["portCounterTotal"] ?? 0)) / Double(devices * ports)

        let agent = try await EmbeddedAgent.start(runtime: runtime)
        do {
            try await withAgentClient(agent, connections: 1) { client in
                for (label, body) in [
                    ("getStatistics, 1 port, graph over 30 days", ["portIds": [1], "mode": "graph", "predefined": "30days"] as JSONValue),
                    ("getStatistics, 1 port, text by day over 30 days", ["portIds": [1], "mode": "text", "groupBy": "1d", "predefined": "30days"] as JSONValue),
                    ("getStatistics, 1 port, graph over all \(days) days (5-minute and hourly)", ["portIds": [1], "mode": "graph", "predefined": .string("\(days)days")] as JSONValue),
                ] {
                    // The answer is checked by its envelope's first bytes (sorted keys: `{"message":"success",`), not decoded
                    // or searched: the client shares the process, and its own work is not the agent's latency.
                    let latencies = try await measure(label) {
                        var request = HTTPClientRequest(url: agent.apiBaseURL + "/v1/network-devices/switch-0/actions/getStatistics")
                        request.method = .POST
                        request.headers.add(name: "Authorization", value: "Bearer \(agent.token)")
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: body.jsonText))
                        let response = try await client.execute(request, timeout: .seconds(60))
                        let answer = try await response.body.collect(upTo: 64 << 20)
                        guard response.status == .ok, answer.readableBytesView.starts(with: Self.success) else {
                            throw BenchFailure(message: "\(label): \(response.status) \(String(buffer: answer).prefix(300))")
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
                    guard response.status == .ok, body.readableBytesView.starts(with: Self.success) else {
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

        // The nightly run: one more day of polls, then the job as the collector runs it the next day (packs the day,
        // makes the oldest 5-minute day hourly).
        for poll in polls..<(polls + 288) {
            try await traffic.poll(service.bandwidth, at: start.addingTimeInterval(Double(poll) * 300), sequence: poll)
        }
        let nightlyUsage = PhaseUsage()
        let nightlyStarted = ContinuousClock.now
        let nightly = try await service.bandwidth.applyRetention(retention, now: now.addingTimeInterval(86_400))
        let nightlyWall = (ContinuousClock.now - nightlyStarted).inSeconds
        report.add("nightly job: port-days packed", Double(nightly.packedPortDays), "")
        report.add("nightly job: port-days made hourly", Double(nightly.coarsenedPortDays), "")
        report.add("nightly job: wall", nightlyWall * 1000, "ms")
        report.add("nightly job: CPU", nightlyUsage.end().ownCPU * 1000, "ms")
        report.add("nightly job: extrapolated to 10,000 ports", nightlyWall / Double(devices * ports) * 10_000, "s")

        // Last, every day hourly (as if fiveMinuteDays had passed for all of them), for the hourly form's own size.
        let allHourly = BandwidthRetention(rawSampleDays: retention.rawSampleDays, fiveMinuteDays: 31, hourlyDays: 1000, dailyDays: 1000)
        _ = try await service.bandwidth.applyRetention(allHourly, now: now.addingTimeInterval(Double(days + 32) * 86_400))
        let hourlyDay = try await bytesPerPackedDay(runtime.database, try await tableSizes(runtime.database))

        report.add("per port and day: the open day's 5-minute rows", openDay, "bytes")
        report.add("per port and day: a packed 5-minute day", fiveMinuteDay, "bytes")
        report.add("per port and day: a packed hourly day", hourlyDay, "bytes")
        report.add("per port and day: the daily volumes", dailyDay, "bytes")
        report.add("per port and day: per-poll samples", sampleDay, "bytes")
        // A year's store at the default retention: today's rows, the packed 5-minute and hourly days, a daily row for
        // every day kept, the per-poll samples of the last days, and each port's baseline and totals.
        let perPortYear =
            openDay + Double(retention.fiveMinuteDays) * fiveMinuteDay + Double(retention.hourlyDays - retention.fiveMinuteDays) * hourlyDay
            + Double(retention.dailyDays) * dailyDay + Double(retention.rawSampleDays + 1) * sampleDay + perPort
        report.add("extrapolated: 10,000 ports, \(retention.dailyDays) days of history", perPortYear * 10_000 / 1e9, "GB")
        report.add("extrapolated: 10,000 ports, 5-minute rows kept instead", (openDay + dailyDay) * Double(retention.dailyDays) * 10_000 / 1e9, "GB")
        try report.print(json: json)
    }

    /// How a successful answer starts.
    static let success = Array(#"{"message":"success","result":{"#.utf8)

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

    /// Bytes per packed port-day, in a store whose packed days all have one form: the table with its indexes over its rows.
    private func bytesPerPackedDay(_ database: AgentDatabase, _ sizes: [String: Int]) async throws -> Double {
        let rows = try await database.writer.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bandwidthSeries") ?? 0 }
        return rows == 0 ? 0 : Double(sizes["bandwidthSeries"] ?? 0) / Double(rows)
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

/// Every port of every device moving by a pseudo-random amount up to 1 Gbit/s per 5 minutes (out a third of in),
/// recorded as the collector records a poll.
struct SyntheticTraffic {
    let devices: Int
    let ports: Int
    private var counters: [UInt64]
    private var generator = SplitMix(seed: 42)

    init(devices: Int, ports: Int) {
        self.devices = devices
        self.ports = ports
        counters = [UInt64](repeating: 1_000_000, count: devices * ports)
    }

    mutating func poll(_ store: BandwidthStore, at time: Date, sequence: Int) async throws {
        for device in 0..<devices {
            var polled: [PortCounters] = []
            for port in 0..<ports {
                let slot = device * ports + port
                counters[slot] &+= generator.next() % 37_500_000_000
                polled.append(PortCounters(ifIndex: port + 1, inOctets: counters[slot], outOctets: counters[slot] / 3, width: .bits64, speedMbps: 10_000))
            }
            try await store.record(
                DevicePoll(deviceId: "switch-\(device)", time: time, sysUpTime: UInt32(truncatingIfNeeded: sequence * 30_000), width: .bits64, ports: polled))
        }
    }
}
