import AgentCore
import Foundation
import SNMP
import Testing

@Suite struct StatisticsTests {
    @Test func trafficStatisticsShapeAndUnits() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        // 100 buckets: bucket k carries k * 375000 octets in (= k * 10 kbit/s ... k Mbit/s over 300 s / 100).
        let rollups = (1...100).map { k in
            BandwidthStore.Rollup(ifIndex: 1, bucket: 1_800_000_000 - Int64(k) * 300, inOctets: UInt64(k) * 375_000, outOctets: 37_500_000)
        }
        let summary = BandwidthStatistics.trafficStatistics(rollups, now: now)
        // In: k * 375000 * 8 / 300 / 1e6 = k * 0.01 Mbit/s; 95th of 1...100 is 95 → 0.95.
        #expect(summary["95th_in_30d"] == "0.95")
        // Out: constant 37.5 MB per bucket = 1 Mbit/s.
        #expect(summary["95th_out_30d"] == "1.00")
        // Total: k*0.01 + 1 → 95th is 1.95.
        #expect(summary["95th_total_30d"] == "1.95")
        // 1 day = 288 buckets, all 100 fall inside: in = 375000 * 5050 = 1.89375e9, out = 3.75e9 → 5.64 GB.
        #expect(summary["1d"] == "5.64")
        #expect(summary["30d"] == "5.64")
    }

    @Test func graphAndTextRows() {
        let rollups = [
            BandwidthStore.Rollup(ifIndex: 1, bucket: 1_800_000_000, inOctets: 3_750_000, outOctets: 0),
            BandwidthStore.Rollup(ifIndex: 1, bucket: 1_800_000_300, inOctets: 7_500_000, outOctets: 375_000),
        ]
        let points = BandwidthStatistics.graph(rollups, grouping: .fiveMinutes)
        #expect(points.count == 2)
        #expect(points[0]["in"] == .double(100_000))
        #expect(points[1]["out"] == .double(10_000))
        #expect(points[0]["time"] == .string(BandwidthStatistics.timestamp(1_800_000_000)))
        let days = BandwidthStatistics.text(rollups, grouping: .day)
        #expect(days.count == 1)
        #expect(days[0]["total"] == .integer(11_625_000))
        #expect(days[0]["period"]?.stringValue?.count == 10)
        #expect(BandwidthStatistics.text(rollups, grouping: .month)[0]["period"]?.stringValue?.count == 7)
        #expect(BandwidthStatistics.parseTimestamp("2024-08-02 09:12:27") != nil)
        #expect(BandwidthStatistics.parseTimestamp("2024-08-02") != nil)
        #expect(BandwidthStatistics.parseTimestamp("yesterday") == nil)
    }

    @Test func lastRateInMegabits() {
        let sample = PollOutcome.Sample(portId: 1, inOctets: 7_500_000, outOctets: 750_000, startedAt: Date(timeIntervalSince1970: 0), endedAt: Date(timeIntervalSince1970: 60))
        #expect(BandwidthStatistics.lastRate(sample) == ["in": "1.00", "out": "0.10"])
    }
}

/// A server's traffic over the ports assigned to it, in a real database: the 95th percentile over the sum of its
/// ports per 5 minutes, and a port re-assigned mid-way counting for each server only while it held the port.
@Suite struct ServerTrafficTests {
    static let base: Int64 = 1_800_000_000 - 1_800_000_000 % 300
    static let oneMegabit: UInt64 = 37_500_000  // octets in 300 s at 1 Mbit/s

    /// Twenty 5-minute polls aligned on the buckets, port p carrying `rates[p](k)` Mbit/s in during bucket k, 0.5 out.
    static func polls(_ fixture: SNMPFixture, deviceId: String, rates: [Int: (Int) -> UInt64]) async throws {
        var totals: [Int: (UInt64, UInt64)] = Dictionary(uniqueKeysWithValues: rates.keys.map { ($0, (0, 0)) })
        for k in 0...20 {
            if k > 0 {
                for (port, rate) in rates {
                    totals[port]!.0 += rate(k - 1) * oneMegabit
                    totals[port]!.1 += oneMegabit / 2
                }
            }
            let ports = totals.map { PortCounters(ifIndex: $0.key, inOctets: $0.value.0, outOctets: $0.value.1, width: .bits64, speedMbps: 1000, discontinuityTime: nil) }
            try await fixture.service.bandwidth.record(
                DevicePoll(deviceId: deviceId, time: Date(timeIntervalSince1970: TimeInterval(base + Int64(k) * 300)), sysUpTime: UInt32(100 + k * 30_000),
                           width: .bits64, ports: ports))
        }
    }

    @Test func ninetyFifthIsTakenOverTheSumOfTheServersPorts() async throws {
        let fixture = try SNMPFixture()
        defer { Task { await fixture.close() } }
        try await fixture.register(["id": "sw1", "deviceType": "snmp_switch", "name": "sw1", "host": "127.0.0.1", "snmpVersion": "2c", "snmpCommunity": "x"])
        try await fixture.register(["id": "sw2", "deviceType": "snmp_switch", "name": "sw2", "host": "127.0.0.1", "snmpVersion": "2c", "snmpCommunity": "x"])
        let before = Date(timeIntervalSince1970: TimeInterval(Self.base - 3600))
        // The seed's example: server 61 on sw1 port 2 (connection 26) and, bonded, on sw2 port 5.
        try await fixture.service.assignments.set(deviceId: "sw1", portId: 2, [PortAssignment(type: "server", relId: 61, connectionId: 26)], at: before)
        try await fixture.service.assignments.set(deviceId: "sw2", portId: 5, [PortAssignment(type: "server", relId: 61, connectionId: 27)], at: before)
        // sw1/2 peaks at 10 Mbit/s in buckets 0 and 1, sw2/5 in buckets 2 and 3; 1 Mbit/s otherwise.
        try await Self.polls(fixture, deviceId: "sw1", rates: [2: { $0 < 2 ? 10 : 1 }])
        try await Self.polls(fixture, deviceId: "sw2", rates: [5: { $0 == 2 || $0 == 3 ? 10 : 1 }])
        let now = Date(timeIntervalSince1970: TimeInterval(Self.base + 20 * 300 + 10))
        let traffic = try await fixture.service.serverTraffic(61, now: now)
        // Per port, 20 rates with the top one dropped: each port's 95th is 10, so the sum of per-port 95ths would be 20.
        // Summed per bucket: 11, 11, 11, 11, then 2 sixteen times; dropping the top one leaves 11.
        #expect(traffic.trafficStatistics["95th_in_30d"] == "11.00", "\(traffic.trafficStatistics)")
        // Out is 0.5 + 0.5 in every bucket.
        #expect(traffic.trafficStatistics["95th_out_30d"] == "1.00")
        #expect(traffic.trafficStatistics["95th_total_30d"] == "12.00")
        // In: (2 * 10 + 18) + (2 * 10 + 18) Mbit/s-buckets = 76 * 37.5 MB; out 40 * 18.75 MB → 3.60 GB.
        #expect(traffic.trafficStatistics["1d"] == "3.60")
        // The last poll's rates: 1 + 1 in, 0.5 + 0.5 out.
        #expect(traffic.lastBwrate == ["in": "2.00", "out": "1.00"])
        #expect(traffic.periods.count == 2)
        // The samples' events name the server once, even for a port it holds through two connections.
        try await fixture.register(["id": "sw3", "deviceType": "snmp_switch", "name": "sw3", "host": "127.0.0.1", "snmpVersion": "2c", "snmpCommunity": "x"])
        try await fixture.service.assignments.set(deviceId: "sw3", portId: 4, [
            PortAssignment(type: "server", relId: 61, connectionId: 26), PortAssignment(type: "server", relId: 61, connectionId: 28),
        ], at: before)
        try await Self.polls(fixture, deviceId: "sw3", rates: [4: { _ in 1 }])
        let event = try #require(try await fixture.outbox.pendingEvents().last { $0.type == "bandwidth.samples" && $0.data["deviceId"] == "sw3" })
        #expect(event.data["ports"]?.jsonText.contains(#""serverId":61,"serverIds":[61]"#) == true, "\(event.data)")
        // A server with no ports has the seed's zero summary, not an error.
        let none = try await fixture.service.serverTraffic(99, now: now)
        #expect(none.trafficStatistics["30d"] == "0.00" && none.lastBwrate == ["in": "0.00", "out": "0.00"])
    }

    @Test func reassignedPortCountsForEachServerOnlyWhileAssigned() async throws {
        let fixture = try SNMPFixture()
        defer { Task { await fixture.close() } }
        try await fixture.register(["id": "sw1", "deviceType": "snmp_switch", "name": "sw1", "host": "127.0.0.1", "snmpVersion": "2c", "snmpCommunity": "x"])
        let before = Date(timeIntervalSince1970: TimeInterval(Self.base - 3600))
        try await fixture.service.assignments.set(deviceId: "sw1", portId: 3, [PortAssignment(type: "server", relId: 1, connectionId: 10)], at: before)
        // Mid-way through bucket 10 the port moves to server 2: bucket 10 belongs to whoever holds the port at its end.
        let handOver = Date(timeIntervalSince1970: TimeInterval(Self.base + 10 * 300 + 120))
        try await fixture.service.assignments.set(deviceId: "sw1", portId: 3, [PortAssignment(type: "server", relId: 2, connectionId: 11)], at: handOver)
        // Bucket k carries k + 1 Mbit/s in.
        try await Self.polls(fixture, deviceId: "sw1", rates: [3: { UInt64($0 + 1) }])
        let now = Date(timeIntervalSince1970: TimeInterval(Self.base + 20 * 300 + 10))
        let first = try await fixture.service.serverTraffic(1, now: now)
        let second = try await fixture.service.serverTraffic(2, now: now)
        // Server 1: buckets 0...9, in 1...10 Mbit/s (55 units of 37.5 MB) + out 10 * 18.75 MB = 2.25 GB; 95th of 1...10 drops none → 10.
        #expect(first.trafficStatistics["30d"] == "2.25", "\(first.trafficStatistics)")
        #expect(first.trafficStatistics["95th_in_30d"] == "10.00")
        #expect(first.lastBwrate == ["in": "0.00", "out": "0.00"])
        // Server 2: buckets 10...19, in 11...20 (155 units) + out 10 * 18.75 MB = 6.00 GB; 95th of 11...20 → 20.
        #expect(second.trafficStatistics["30d"] == "6.00", "\(second.trafficStatistics)")
        #expect(second.trafficStatistics["95th_in_30d"] == "20.00")
        #expect(second.lastBwrate == ["in": "20.00", "out": "0.50"])
        // An hour without polls: the last sample no longer stands for the server's rate now.
        let later = try await fixture.service.serverTraffic(2, now: now.addingTimeInterval(3600))
        #expect(later.lastBwrate == ["in": "0.00", "out": "0.00"])
        // Together exactly the port's own volume: nothing lost, nothing counted twice.
        let port = try await fixture.service.bandwidth.rollups(deviceId: "sw1", ports: [3], from: before, to: now)
        let portBytes = port.reduce(0.0) { $0 + Double($1.inOctets + $1.outOctets) }
        #expect(String(format: "%.2f", portBytes / 1e9) == "8.25")
        // The history: server 1's period ended at the hand-over, server 2's is open.
        let periods = try await fixture.service.assignments.periods(serverId: 1)
        #expect(periods.count == 1 && periods[0].unassignedAt == handOver)
        // Setting the same list again keeps the history as it is.
        try await fixture.service.assignments.set(deviceId: "sw1", portId: 3, [PortAssignment(type: "server", relId: 2, connectionId: 11)], at: now)
        #expect(try await fixture.service.assignments.periods(serverId: 2).map(\.assignedAt) == [handOver])
    }
}

/// The seed's own statistics bodies: `from`/`to` as "2025-08-25T15:29:15" and `predefined` ranges.
@Suite struct StatisticsRequestTests {
    static func decode(_ body: JSONValue) throws -> StatisticsRequest { try body.decode(as: StatisticsRequest.self, at: "") }

    @Test func seedTimestampsAndPredefinedRanges() throws {
        // The seed's example body (its from and to are equal, which is no range: `to` must be after `from`).
        let seed = try Self.decode(["from": "2025-08-25T15:29:15", "to": "2025-08-25T15:29:15", "predefined": "24h", "user_id": 7, "groupBy": "1mo", "summary": true])
        #expect(seed.predefinedSeconds == 86_400 && seed.from == nil)
        #expect(seed.to == BandwidthStatistics.parseTimestamp("2025-08-25 15:29:15"))
        #expect(seed.groupBy == .month)
        #expect(try Self.decode(["predefined": "14days"]).predefinedSeconds == 14 * 86_400)
        #expect(try Self.decode(["predefined": "1h"]).predefinedSeconds == 3600)
        let both = try Self.decode(["from": "2025-08-25T15:29:15", "to": "2025-08-26 15:29:15"])
        #expect(both.to!.timeIntervalSince(both.from!) == 86_400)
        #expect(BandwidthStatistics.parseTimestamp("2025-08-25T15:15:47.000000Z") == BandwidthStatistics.parseTimestamp("2025-08-25 15:15:47"))
        #expect(throws: AgentError.self) { try Self.decode(["predefined": "fortnight"]) }
        #expect(throws: AgentError.self) { try Self.decode(["from": "2025-08-25T15:29:15", "to": "2025-08-25T15:29:15"]) }
        do {
            _ = try Self.decode(["from": "25/08/2025"])
            Issue.record("a day-first date was accepted")
        } catch {
            #expect(AgentError.from(error).details["field"] == "from")
        }
    }
}

/// The port counters `/metrics` exports, in Prometheus's text format.
@Suite struct PortCounterMetricsRenderingTests {
    @Test func labelsAreEscapedAndAServerIsNamedOnlyWhenThereIsOne() {
        let text = PortCounterMetrics.render([
            PortCounterTotals(deviceId: "core\"1\\a\nb", ifIndex: 3, inOctets: 10, outOctets: UInt64.max, serverId: nil),
            PortCounterTotals(deviceId: "tor-2", ifIndex: 48, inOctets: 0, outOctets: 7, serverId: 61),
        ])
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains(#"rackagent_port_in_octets_total{device="core\"1\\a\nb",port="3"} 10"#))
        #expect(lines.contains(#"rackagent_port_out_octets_total{device="core\"1\\a\nb",port="3"} 18446744073709551615"#))
        #expect(lines.contains(#"rackagent_port_in_octets_total{device="tor-2",port="48",server="61"} 0"#))
        #expect(lines.contains("# TYPE rackagent_port_out_octets_total counter"))
        #expect(lines.count == 2 * (2 + 2))
    }
}
