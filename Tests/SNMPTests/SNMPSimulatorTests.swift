import AgentCore
import Foundation
import PeerHarness
import SNMP
import Testing

/// snmprec lines for a simulated switch: sysUpTime, then per port (ifIndex, ifName, in, out, speed Mbit/s).
func switchRecords(uptime: UInt32, ports: [(Int, String, UInt64, UInt64, UInt64)], highCapacity: Bool = true, writableAdmin: Bool = false) -> [String] {
    var lines = ["1.3.6.1.2.1.1.1.0|4|RackAgent simulated switch", "1.3.6.1.2.1.1.3.0|67|\(uptime)", "1.3.6.1.2.1.1.5.0|4|sim"]
    for (index, name, received, sent, speed) in ports {
        lines += [
            "1.3.6.1.2.1.2.2.1.2.\(index)|4|\(name) description", "1.3.6.1.2.1.2.2.1.3.\(index)|2|6",
            "1.3.6.1.2.1.2.2.1.5.\(index)|66|\(min(speed * 1_000_000, UInt64(UInt32.max)))",
            "1.3.6.1.2.1.2.2.1.7.\(index)|2\(writableAdmin ? ":writecache|value=1" : "|1")", "1.3.6.1.2.1.2.2.1.8.\(index)|2|1",
        ]
        if highCapacity {
            lines += [
                "1.3.6.1.2.1.31.1.1.1.1.\(index)|4|\(name)", "1.3.6.1.2.1.31.1.1.1.6.\(index)|70|\(received)",
                "1.3.6.1.2.1.31.1.1.1.10.\(index)|70|\(sent)", "1.3.6.1.2.1.31.1.1.1.15.\(index)|66|\(speed)",
                "1.3.6.1.2.1.31.1.1.1.18.\(index)|4|alias \(index)", "1.3.6.1.2.1.31.1.1.1.19.\(index)|67|0",
            ]
        } else {
            lines += ["1.3.6.1.2.1.2.2.1.10.\(index)|65|\(received)", "1.3.6.1.2.1.2.2.1.16.\(index)|65|\(sent)"]
        }
    }
    return lines
}

@Suite(.serialized) struct SNMPSimulatorTests {
    static let devices: [String: [String]] = [
        "wrap-a": switchRecords(uptime: 100_000, ports: [(1, "xe-0/0/1", UInt64.max - 999, 5_000, 10_000), (2, "xe-0/0/2", 1_000, 1_000, 10_000)]),
        "wrap-b": switchRecords(uptime: 106_000, ports: [(1, "xe-0/0/1", 4_000, 25_000, 10_000), (2, "xe-0/0/2", 2_000, 3_000, 10_000)]),
        "vanish": switchRecords(uptime: 112_000, ports: [(1, "xe-0/0/1", 5_000, 26_000, 10_000)]),
        "back": switchRecords(uptime: 118_000, ports: [(1, "xe-0/0/1", 6_000, 27_000, 10_000), (2, "xe-0/0/2", 9_000, 9_000, 10_000)]),
        "reboot": switchRecords(uptime: 300, ports: [(1, "xe-0/0/1", 10, 10, 10_000), (2, "xe-0/0/2", 10, 10, 10_000)]),
        "only32-a": switchRecords(uptime: 50_000, ports: [(1, "eth0", 4_294_967_000, 100, 1_000)], highCapacity: false),
        "only32-b": switchRecords(uptime: 56_000, ports: [(1, "eth0", 704, 1_100, 1_000)], highCapacity: false),
        "spike-a": switchRecords(uptime: 10_000, ports: [(1, "ge-1", 0, 0, 10)]),
        "spike-b": switchRecords(uptime: 16_000, ports: [(1, "ge-1", 10_000_000_000, 0, 10)]),
        "odd": [
            "1.3.6.1.2.1.1.3.0|67|1000", "1.3.6.1.2.1.2.2.1.2.1|4|Port 1/1 (uplink)", "1.3.6.1.2.1.2.2.1.2.2|4|ge-0/0/0.0",
            "1.3.6.1.2.1.2.2.1.2.3|4|TenGigabitEthernet1/1/3", "1.3.6.1.2.1.31.1.1.1.1.1|4|Port 1/1 (uplink)",
            "1.3.6.1.2.1.31.1.1.1.1.2|4x|67652d302f302f302e30e29c93", "1.3.6.1.2.1.31.1.1.1.1.3|4|", "1.3.6.1.2.1.2.2.1.7.1|2|1",
            "1.3.6.1.2.1.31.1.1.1.18.1|4|to core; do not touch",
        ],
        "admin": switchRecords(uptime: 1_000, ports: [(1, "ge-0/0/1", 0, 0, 1_000), (2, "ge-0/0/2", 0, 0, 1_000)], writableAdmin: true),
    ]

    static func device(_ community: String, id: String = "sim", features: [JSONValue] = ["bw_collection"], port: Int) -> JSONValue {
        [
            "id": .string(id), "deviceType": "snmp_switch", "name": "simulated", "host": .string("127.0.0.1:\(port)"), "snmpVersion": "2c",
            "snmpCommunity": .string(community), "features": .array(features),
        ]
    }

    @Test func wrapsVanishingPortsAndRestarts() async throws {
        let simulator = try await SNMPSimulator(devices: Self.devices)
        defer { simulator.stop() }
        let fixture = try SNMPFixture()
        defer { Task { await fixture.close() } }
        func poll(_ community: String) async throws -> PollOutcome {
            try await fixture.register(Self.device(community, port: simulator.port))
            try await Task.sleep(for: .milliseconds(50))
            return try await fixture.service.poll(try #require(try await fixture.service.store.get("sim")))
        }
        let first = try await poll("wrap-a")
        #expect(first.baselines.sorted() == [1, 2])
        // 64-bit wrap: 2^64 - 1000 → 4000 is exactly 5000 octets.
        let wrapped = try await poll("wrap-b")
        let wrappedTriples: [[Int]] = wrapped.samples.map { [$0.portId, Int($0.inOctets), Int($0.outOctets)] }
        #expect(wrappedTriples == [[1, 5_000, 20_000], [2, 1_000, 2_000]])
        // Port 2 vanishes: not counted, marked.
        let vanished = try await poll("vanish")
        #expect(vanished.samples.map(\.portId) == [1])
        #expect(vanished.drops == [PollOutcome.Drop(portId: 2, reason: "port missing from this poll")])
        // It comes back: its first difference is dropped, not counted as a spike.
        let back = try await poll("back")
        let backPairs: [[Int]] = back.samples.map { [$0.portId, Int($0.inOctets)] }
        #expect(backPairs == [[1, 1_000]])
        #expect(back.drops == [PollOutcome.Drop(portId: 2, reason: "port disappeared and came back")])
        // The device restarts (sysUpTime 118000 → 300): both ports dropped with the reason.
        let rebooted = try await poll("reboot")
        #expect(rebooted.samples.isEmpty)
        #expect(Set(rebooted.drops.map(\.reason)) == ["device restarted (sysUpTime went backwards)"])
        let recorded = try await fixture.service.bandwidth.drops(deviceId: "sim", limit: 10)
        #expect(recorded.count == 4)
        // Everything counted is in the rollups, exactly.
        let rollups = try await fixture.service.bandwidth.rollups(deviceId: "sim", ports: [], from: Date().addingTimeInterval(-600), to: Date().addingTimeInterval(600))
        let portOneIn: UInt64 = rollups.filter { $0.ifIndex == 1 }.map(\.inOctets).reduce(0, +)
        let portTwoOut: UInt64 = rollups.filter { $0.ifIndex == 2 }.map(\.outOctets).reduce(0, +)
        #expect(portOneIn == 7_000)
        #expect(portTwoOut == 2_000)
        let events = try await fixture.outbox.pendingEvents().filter { $0.type == "bandwidth.samples" }
        #expect(events.count == 4)
    }

    @Test func thirtyTwoBitOnlyDeviceIsFlagged() async throws {
        let simulator = try await SNMPSimulator(devices: Self.devices)
        defer { simulator.stop() }
        let fixture = try SNMPFixture()
        defer { Task { await fixture.close() } }
        try await fixture.register(Self.device("only32-a", port: simulator.port))
        _ = try await fixture.service.poll(try #require(try await fixture.service.store.get("sim")))
        let stored = try #require(try await fixture.service.store.get("sim"))
        #expect(stored.counterWidth == .bits32)
        try await fixture.register(Self.device("only32-b", port: simulator.port))
        try await Task.sleep(for: .milliseconds(50))
        let outcome = try await fixture.service.poll(try #require(try await fixture.service.store.get("sim")))
        // 32-bit wrap: 4294967000 → 704 is 1000 octets.
        let pairs: [[Int]] = outcome.samples.map { [Int($0.inOctets), Int($0.outOctets)] }
        #expect(pairs == [[1_000, 1_000]])
    }

    @Test func spikeAboveLinkSpeedIsDropped() async throws {
        let simulator = try await SNMPSimulator(devices: Self.devices)
        defer { simulator.stop() }
        let fixture = try SNMPFixture()
        defer { Task { await fixture.close() } }
        try await fixture.register(Self.device("spike-a", port: simulator.port))
        _ = try await fixture.service.poll(try #require(try await fixture.service.store.get("sim")))
        try await fixture.register(Self.device("spike-b", port: simulator.port))
        let outcome = try await fixture.service.poll(try #require(try await fixture.service.store.get("sim")))
        #expect(outcome.samples.isEmpty)
        #expect(outcome.drops.first?.reason == "rate above 1.1x ifHighSpeed (10 Mbit/s)")
    }

    @Test func oddInterfaceNames() async throws {
        let simulator = try await SNMPSimulator(devices: Self.devices)
        defer { simulator.stop() }
        let fixture = try SNMPFixture()
        defer { Task { await fixture.close() } }
        try await fixture.register(Self.device("odd", port: simulator.port))
        let ports = try await fixture.service.ports("sim")
        #expect(ports.map(\.name) == ["Port 1/1 (uplink)", "ge-0/0/0.0✓", "TenGigabitEthernet1/1/3"])
        #expect(ports[0].alias == "to core; do not touch")
        #expect(try InterfacePort.resolve("Port 1/1 (uplink)", in: ports).id == 1)
        #expect(try InterfacePort.resolve("3", in: ports).name == "TenGigabitEthernet1/1/3")
    }

    @Test func portAdminStatusIsSetAndReadBack() async throws {
        let simulator = try await SNMPSimulator(devices: Self.devices)
        defer { simulator.stop() }
        let fixture = try SNMPFixture()
        defer { Task { await fixture.close() } }
        try await fixture.register(Self.device("admin", features: [], port: simulator.port))
        let disabled = try await fixture.service.setPortAdminStatus("sim", portId: "ge-0/0/2", enabled: false)
        #expect(disabled["changed"] == true)
        #expect(disabled["portAdminStatus"] == "2")
        let readBack = try await fixture.client.get(v2cTarget("127.0.0.1", simulator.port, community: "admin"), [InterfaceMIB.ifAdminStatus.appending(2)])
        #expect(readBack.first?.value == .integer(2))
        let again = try await fixture.service.setPortAdminStatus("sim", portId: "2", enabled: false)
        #expect(again["changed"] == false)
        let enabled = try await fixture.service.setPortAdminStatus("sim", portId: "2", enabled: true)
        #expect(enabled["portAdminStatus"] == "1")
        await #expect(throws: AgentError.self) { _ = try await fixture.service.setPortAdminStatus("sim", portId: "ge-9/9/9", enabled: false) }
        // A device whose ifAdminStatus is not writable: either the SET is refused or the read-back shows
        // nothing changed; either way the action fails typed instead of claiming success.
        try await fixture.register(Self.device("odd", features: [], port: simulator.port))
        do {
            _ = try await fixture.service.setPortAdminStatus("sim", portId: "1", enabled: false)
            Issue.record("a read-only ifAdminStatus was reported changed")
        } catch {
            #expect(["snmp_error", "verify_failed"].contains(AgentError.from(error).code), "\(error)")
        }
    }
}
