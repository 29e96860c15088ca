import AgentCore
import Foundation
import Logging
import PeerHarness
import SNMP
import Testing

/// A database with the SNMP schema, an outbox and the device service on a real SNMP client.
struct SNMPFixture {
    let directory: TemporaryDirectory
    let database: AgentDatabase
    let outbox: Outbox
    let service: NetworkDeviceService
    let client: SNMPClient

    init(settings: SNMPConfiguration = SNMPConfiguration()) throws {
        directory = try TemporaryDirectory(prefix: "snmp-fixture")
        database = try AgentDatabase(path: directory.file("agent.sqlite"), migrations: SNMPSchema.migrations)
        outbox = Outbox(database: database, maximumEvents: 100_000, logger: Logger(label: "test"))
        client = SNMPClient(threads: 8)
        service = NetworkDeviceService(
            client: client, store: NetworkDeviceStore(database: database), bandwidth: BandwidthStore(database: database, outbox: outbox, keepsPerPollSamples: settings.rawSampleRetentionDays > 0),
            settings: settings, logger: Logger(label: "test"))
    }

    @discardableResult
    func register(_ document: JSONValue) async throws -> NetworkDevice {
        try await service.store.put(try document.decode(as: NetworkDevice.self, at: "")).0
    }

    func close() async {
        await client.shutdown()
        directory.remove()
    }
}

func v2cTarget(_ host: String, _ port: Int, community: String = "public") -> SNMPTarget {
    SNMPTarget(host: host, port: port, version: .v2c, community: Secret(community), timeoutSeconds: 1, retries: 1)
}

@Suite(.serialized) struct SNMPDaemonTests {
    @Test func v2cGetWalkAndPorts() async throws {
        let daemon = try await SNMPDaemon()
        defer { daemon.stop() }
        let client = SNMPClient(threads: 2)
        let target = v2cTarget(daemon.host, daemon.port)
        let system = try await client.get(target, [InterfaceMIB.sysDescr, InterfaceMIB.sysName, InterfaceMIB.sysUpTime])
        #expect(system.count == 3)
        #expect(system[0].value.text?.isEmpty == false)
        guard case .timeTicks = system[2].value else {
            Issue.record("sysUpTime is \(system[2].value)")
            return
        }
        let interfaces = try await client.walk(target, InterfaceMIB.ifDescr)
        #expect(!interfaces.isEmpty)
        #expect(interfaces.allSatisfy { InterfaceMIB.ifDescr.isAncestor(of: $0.oid) })
        // The whole system group by GETBULK, compared with net-snmp's own snmpbulkwalk.
        let walked = try await client.walk(target, OID([1, 3, 6, 1, 2, 1, 1]))
        let (status, reference) = try await PeerTools.run(
            locateProgram("snmpbulkwalk")!, ["-v2c", "-c", "public", "-On", "\(daemon.host):\(daemon.port)", "1.3.6.1.2.1.1"], environment: ["MIBS": ""])
        #expect(status == 0)
        #expect(walked.count == reference.split(separator: "\n").filter { $0.hasPrefix(".1.3.6.1.2.1.1.") }.count)
        let ports = try await client.withSession(target) { InterfacePort.ports(from: try $0.walkColumns(InterfaceMIB.portColumns)) }
        #expect(ports.contains { $0.name == "lo" && $0.ifType == "24" })
        // SNMPv1 walks with GETNEXT.
        var v1 = target
        v1.version = .v1
        // snmpd serves the host's own interfaces, which other suites' namespaces add and remove: compare a v1 walk
        // with a v2c walk taken right after it, a few times until two agree.
        var agreed = false
        for _ in 0..<5 where !agreed {
            let v1Walk = try await client.walk(v1, InterfaceMIB.ifDescr)
            let v2Walk = try await client.walk(target, InterfaceMIB.ifDescr)
            agreed = !v1Walk.isEmpty && v1Walk.map(\.oid) == v2Walk.map(\.oid)
        }
        #expect(agreed, "SNMPv1 GETNEXT and v2c GETBULK walks of ifDescr agree")
        await client.shutdown()
    }

    @Test func everyV3AuthenticationAndPrivacyAlgorithm() async throws {
        let daemon = try await SNMPDaemon()
        defer { daemon.stop() }
        let client = SNMPClient(threads: 2)
        for user in SNMPDaemon.users {
            let security = SNMPTarget.UserSecurity(
                user: user.name, level: .authPriv, authentication: SNMPTarget.AuthenticationAlgorithm(lenient: user.authentication)!,
                authenticationPassphrase: Secret(SNMPDaemon.authenticationPassphrase), privacy: SNMPTarget.PrivacyAlgorithm(lenient: user.privacy)!,
                privacyPassphrase: Secret(SNMPDaemon.privacyPassphrase))
            let target = SNMPTarget(host: daemon.host, port: daemon.port, version: .v3, security: security, timeoutSeconds: 1, retries: 1)
            let answer = try await client.get(target, [InterfaceMIB.sysName])
            #expect(answer.first?.value.text?.isEmpty == false, "\(user.name)")
        }
        let authOnly = SNMPTarget(
            host: daemon.host, port: daemon.port, version: .v3,
            security: .init(user: "usr-auth-only", level: .authNoPriv, authentication: .sha, authenticationPassphrase: Secret(SNMPDaemon.authenticationPassphrase)),
            timeoutSeconds: 1, retries: 0)
        #expect(try await client.get(authOnly, [InterfaceMIB.sysName]).count == 1)

        var wrong = authOnly
        wrong.security?.authenticationPassphrase = Secret("wrongpass123")
        do {
            _ = try await client.get(wrong, [InterfaceMIB.sysName])
            Issue.record("a wrong passphrase was accepted")
        } catch let error as SNMPError {
            #expect(error.agentError.code == "snmp_auth_failed", "\(error)")
            #expect(!error.agentError.message.contains("wrongpass123"))
        }
        await client.shutdown()
    }

    @Test func deadDeviceTimesOutNamingTheHost() async throws {
        let client = SNMPClient(threads: 1)
        let port = FreePort.udp()
        let started = ContinuousClock.now
        do {
            _ = try await client.get(SNMPTarget(host: "127.0.0.1", port: port, version: .v2c, community: Secret("public"), timeoutSeconds: 0.5, retries: 1), [InterfaceMIB.sysName])
            Issue.record("dead port answered")
        } catch let error as SNMPError {
            #expect(error == .timeout(host: "127.0.0.1:\(port)"))
            #expect(error.agentError.status == .gatewayTimeout)
            #expect(error.agentError.code == "snmp_timeout")
        }
        #expect(ContinuousClock.now - started < .seconds(3))
        await client.shutdown()
    }

    /// snmpd in a namespace of its own with 48 extra interfaces (real IF-MIB rows), reached over a veth link;
    /// traffic over the link moves real counters, and two polls see it.
    @Test func realCountersMoveWithTraffic() async throws {
        let namespace = try await NetworkNamespace(subnet: 41)
        defer { namespace.remove() }
        for index in 0..<24 { try await namespace.addInterfacePair("d\(index)a", "d\(index)b") }
        let daemon = try await SNMPDaemon(host: namespace.peerAddress, namespace: namespace.name)
        defer { daemon.stop() }
        let fixture = try SNMPFixture()
        defer { Task { await fixture.close() } }
        let device = try await fixture.register([
            "id": "ns", "deviceType": "snmp_switch", "name": "namespace", "host": .string("\(daemon.host):\(daemon.port)"),
            "snmpVersion": "2c", "snmpCommunity": "public", "features": ["bw_collection"],
        ])
        let ports = try await fixture.service.ports(device.id)
        #expect(ports.filter { $0.name.hasPrefix("d") }.count == 48)
        let veth = try #require(ports.first { $0.name == namespace.peerInterface })

        let first = try await fixture.service.poll(try #require(try await fixture.service.store.get(device.id)))
        #expect(first.baselines.contains(veth.id))
        // 20 pings of 1000 bytes each way cross the veth.
        let (status, output) = try await PeerTools.run("/bin/ping", ["-c", "20", "-i", "0.01", "-s", "1000", "-q", namespace.peerAddress])
        #expect(status == 0, "\(output)")
        // snmpd refreshes its interface table every 3 s.
        try await Task.sleep(for: .milliseconds(4000))
        let second = try await fixture.service.poll(try #require(try await fixture.service.store.get(device.id)))
        let sample = try #require(second.samples.first { $0.portId == veth.id })
        // Each echo request is 1000 + 8 ICMP + 20 IP + 14 Ethernet = 1042 octets in, the same back out.
        #expect(sample.inOctets >= 20 * 1042)
        #expect(sample.outOctets >= 20 * 1042)
        #expect(sample.inOctets < 20 * 1042 + 20_000)
        let events = try await fixture.outbox.pendingEvents()
        #expect(events.contains { $0.type == "bandwidth.samples" && $0.data["deviceId"] == "ns" })
        let rollups = try await fixture.service.bandwidth.rollups(deviceId: "ns", ports: [veth.id], from: Date().addingTimeInterval(-600), to: Date().addingTimeInterval(600))
        #expect(rollups.map(\.inOctets).reduce(0, +) == sample.inOctets)
    }

    /// `meta.flip_in_out` with real, one-way traffic: UDP datagrams into a namespace where nothing listens (the only
    /// answers are a few rate-limited ICMP errors). The plain registration counts them as the port's in; the flipped
    /// one (the server's point of view) as out, in its samples, its rollups and its `bandwidth.samples` event.
    @Test func flipInOutSwapsRealOneWayTraffic() async throws {
        let namespace = try await NetworkNamespace(subnet: 42)
        defer { namespace.remove() }
        let daemon = try await SNMPDaemon(host: namespace.peerAddress, namespace: namespace.name)
        defer { daemon.stop() }
        let fixture = try SNMPFixture()
        defer { Task { await fixture.close() } }
        for (id, flip) in [("plain", false), ("flipped", true)] {
            try await fixture.register([
                "id": .string(id), "deviceType": "snmp_switch", "name": .string(id), "host": .string("\(daemon.host):\(daemon.port)"),
                "snmpVersion": "2c", "snmpCommunity": "public", "features": ["bw_collection"], "meta": ["flip_in_out": .string(flip ? "true" : "false")],
            ])
        }
        let veth = try #require(try await fixture.service.ports("plain").first { $0.name == namespace.peerInterface })
        for id in ["plain", "flipped"] { _ = try await fixture.service.poll(try #require(try await fixture.service.store.get(id))) }
        // 200 datagrams of 1000 bytes: 1000 + 8 UDP + 20 IP + 14 Ethernet = 1042 octets each into the namespace.
        let sender = """
            import socket
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for _ in range(200): s.sendto(b"x" * 1000, ("\(namespace.peerAddress)", 9))
            """
        let (status, output) = try await PeerTools.run("/usr/bin/python3", ["-c", sender])
        #expect(status == 0, "\(output)")
        try await Task.sleep(for: .milliseconds(4000))
        var samples: [String: PollOutcome.Sample] = [:]
        for id in ["plain", "flipped"] {
            let outcome = try await fixture.service.poll(try #require(try await fixture.service.store.get(id)))
            samples[id] = outcome.samples.first { $0.portId == veth.id }
        }
        let plain = try #require(samples["plain"])
        let flipped = try #require(samples["flipped"])
        #expect(plain.inOctets >= 200 * 1042 && plain.outOctets < 40_000, "\(plain)")
        #expect(flipped.outOctets >= 200 * 1042 && flipped.inOctets < 40_000, "\(flipped)")
        let window = (Date().addingTimeInterval(-600), Date().addingTimeInterval(600))
        let rollups = try await fixture.service.bandwidth.rollups(deviceId: "flipped", ports: [veth.id], from: window.0, to: window.1)
        #expect(rollups.map(\.outOctets).reduce(0, +) == flipped.outOctets && rollups.map(\.inOctets).reduce(0, +) == flipped.inOctets)
        let event = try #require(try await fixture.outbox.pendingEvents().last { $0.type == "bandwidth.samples" && $0.data["deviceId"] == "flipped" })
        guard case .array(let ports)? = event.data["ports"], let port = ports.first(where: { $0["portId"] == .integer(Int64(veth.id)) }) else {
            Issue.record("no port \(veth.id) in \(event.data)")
            return
        }
        #expect(port["outOctets"] == .integer(Int64(flipped.outOctets)) && port["inOctets"] == .integer(Int64(flipped.inOctets)))
    }
}
