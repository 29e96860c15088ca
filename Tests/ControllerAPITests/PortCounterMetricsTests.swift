import AgentCore
import ControllerAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import SNMP
import Testing

/// `/metrics` carries every polled port's running totals, so that a time-series store can keep the long-term series.
@Suite struct PortCounterMetricsTests {
    /// 1,000 switches of 48 ports polled twice through the store's own poll API (the first poll is each port's
    /// baseline), with the cases a time-series store must not be misled by: a 32-bit counter that wrapped, a sample the
    /// agent dropped, a port that left, a device no longer polled, and assignments that end or are not servers.
    @Test func metricsCarryEveryPolledPortAsTheAgentCountedItWith48000Ports() async throws {
        AgentMetrics.bootstrap()
        // An hour's poll interval: a slow machine taking minutes to set this up must not age the polls out of the export.
        let agent = try await TestAgent { $0.snmp.pollIntervalSeconds = 3600 }
        defer { agent.remove() }
        let devices = agent.runtime.networkDevices
        let bandwidth = devices.bandwidth
        let now = Date()
        for name in (0..<1000).map({ "switch-\($0)" }) + ["switch-silent"] {
            let document: JSONValue = [
                "id": .string(name), "deviceType": "snmp_switch", "name": .string(name), "host": "127.0.0.1", "snmpVersion": "2c", "snmpCommunity": "public",
                "features": ["bw_collection"],
            ]
            try await devices.store.put(try document.decode(as: NetworkDevice.self, at: ""))
        }
        func counters(device: Int, port: Int, poll: Int) -> PortCounters {
            let moved = UInt64(device * 1000 + port)
            if device == 6 {
                // A 32-bit switch whose counters wrap between the polls: 100 octets before the wrap, `moved` after.
                return PortCounters(
                    ifIndex: port, inOctets: poll == 1 ? UInt64(UInt32.max) - 99 : moved, outOctets: poll == 1 ? UInt64(UInt32.max) - 99 : moved * 3,
                    width: .bits32, speedMbps: 10_000)
            }
            // switch-5 port 1: the device says its counters were discontinued, so the agent drops that sample.
            let discontinuity: UInt64 = device == 5 && port == 1 && poll == 2 ? 777 : 1
            return PortCounters(
                ifIndex: port, inOctets: 1_000_000 + (poll == 2 ? moved : 0), outOctets: 5_000_000 + (poll == 2 ? moved * 3 : 0), width: .bits64,
                speedMbps: 10_000, discontinuityTime: discontinuity)
        }
        // Every switch's first poll (its ports' baselines, totals 0); a second poll, a minute later, for the switches
        // whose totals are checked (the rest of the suite shares the cores: 2,000 polls made this test a minute long).
        for (poll, polled) in [(1, Array(0..<1000)), (2, [0, 3, 5, 6, 999])] {
            let time = now.addingTimeInterval(Double(poll - 3) * 60)
            for device in polled {
                // switch-0's port 49 answers the first poll only: it left the device.
                let ports = (1...(device == 0 && poll == 1 ? 49 : 48)).map { counters(device: device, port: $0, poll: poll) }
                try await bandwidth.record(
                    DevicePoll(deviceId: "switch-\(device)", time: time, sysUpTime: UInt32(poll * 6000), width: device == 6 ? .bits32 : .bits64, ports: ports))
            }
        }
        // A switch last polled four hours ago, four intervals (unreachable since): its ports leave the series.
        try await bandwidth.record(
            DevicePoll(deviceId: "switch-silent", time: now.addingTimeInterval(-4 * 3600), sysUpTime: 100, width: .bits64, ports: [counters(device: 2, port: 1, poll: 1)]))
        // switch-3: port 7 holds one server over two cables; port 8 two servers; port 9 a server that left; port 10 a PDU.
        let assignments = bandwidth.assignments
        try await assignments.set(deviceId: "switch-3", portId: 7, [.init(type: "server", relId: 61, connectionId: 1), .init(type: "server", relId: 61, connectionId: 2)])
        try await assignments.set(deviceId: "switch-3", portId: 8, [.init(type: "server", relId: 61), .init(type: "server", relId: 62)])
        try await assignments.set(deviceId: "switch-3", portId: 9, [.init(type: "server", relId: 63)])
        try await assignments.set(deviceId: "switch-3", portId: 9, [])
        try await assignments.set(deviceId: "switch-3", portId: 10, [.init(type: "pdu", relId: 64)])

        try await agent.withRouter { client in
            // The scrape's own cost, the fastest of up to three. This is a debug build sharing two cores with the rest
            // of the suite: alone it scrapes in about 0.34 s, under the full suite's load the best of several took 1.1 s.
            // So the bound here is 3 s, against a scrape gone quadratic or blocking; the 1 s promise is the release
            // build's, measured by `rackagent-bench snmp` (91 ms to read and render 48,000 ports).
            var elapsed = Duration.seconds(60)
            var scraped: TestResponse?
            for _ in 0..<3 where elapsed >= .seconds(1) {
                let started = ContinuousClock.now
                scraped = try await client.execute(uri: "/metrics", method: .get, headers: agent.authorization)
                elapsed = min(elapsed, ContinuousClock.now - started)
            }
            let response = try #require(scraped)
            #expect(response.status == .ok)
            let lines = response.text.split(separator: "\n").map(String.init)
            #expect(lines.filter { $0.hasPrefix("rackagent_port_in_octets_total{") }.count == 48_000)
            #expect(lines.filter { $0.hasPrefix("rackagent_port_out_octets_total{") }.count == 48_000)
            // The agent's own metrics are still there, each line whole.
            #expect(lines.contains { $0.hasPrefix("# TYPE rackagent_outbox_pending gauge") })
            #expect(lines.allSatisfy { $0.hasPrefix("#") || $0.split(separator: " ").count >= 2 })
            // Each total is the sum of the accepted deltas.
            #expect(lines.contains(#"rackagent_port_in_octets_total{device="switch-3",port="7",server="61"} 3007"#))
            #expect(lines.contains(#"rackagent_port_out_octets_total{device="switch-3",port="7",server="61"} 9021"#))
            #expect(lines.contains(#"rackagent_port_in_octets_total{device="switch-3",port="8"} 3008"#))
            #expect(lines.contains(#"rackagent_port_in_octets_total{device="switch-3",port="9"} 3009"#))
            #expect(lines.contains(#"rackagent_port_in_octets_total{device="switch-3",port="10"} 3010"#))
            #expect(lines.contains(#"rackagent_port_in_octets_total{device="switch-999",port="48"} 999048"#))
            #expect(lines.contains(#"rackagent_port_in_octets_total{device="switch-500",port="48"} 0"#))
            // The 32-bit wrap counted as the octets that moved, not as a reset; the dropped sample not at all.
            #expect(lines.contains(#"rackagent_port_in_octets_total{device="switch-6",port="2"} \#(6002 + 100)"#))
            #expect(lines.contains(#"rackagent_port_in_octets_total{device="switch-5",port="1"} 0"#))
            #expect(lines.contains(#"rackagent_port_in_octets_total{device="switch-5",port="2"} 5002"#))
            // The port that left and the device no longer polled are not exported.
            #expect(!lines.contains { $0.contains(#"device="switch-0",port="49""#) })
            #expect(!lines.contains { $0.contains(#"device="switch-silent""#) })
            #expect(lines.filter { $0 == "# TYPE rackagent_port_in_octets_total counter" }.count == 1)
            #expect(elapsed < .seconds(3), "scraping 48,000 ports took \(elapsed) at best of three")
        }
    }
}
