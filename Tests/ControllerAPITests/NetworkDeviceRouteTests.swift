import AgentCore
import ControllerAPI
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import NIOCore
import PeerHarness
import SNMP
import Testing

@Suite(.serialized) struct NetworkDeviceRouteTests {
    static func body(_ value: JSONValue) -> ByteBuffer { ByteBuffer(string: value.jsonText) }

    static let simulatedDevices: [String: [String]] = [
        "admin": [
            "1.3.6.1.2.1.1.1.0|4|Simulated access switch", "1.3.6.1.2.1.1.3.0|67|1000", "1.3.6.1.2.1.1.5.0|4|sw-sim",
            "1.3.6.1.2.1.2.2.1.2.1|4|GigabitEthernet1/0/1", "1.3.6.1.2.1.2.2.1.2.2|4|GigabitEthernet1/0/2",
            "1.3.6.1.2.1.2.2.1.3.1|2|6", "1.3.6.1.2.1.2.2.1.3.2|2|6",
            "1.3.6.1.2.1.2.2.1.7.1|2:writecache|value=1", "1.3.6.1.2.1.2.2.1.7.2|2:writecache|value=1",
            "1.3.6.1.2.1.2.2.1.8.1|2|1", "1.3.6.1.2.1.2.2.1.8.2|2|2",
            "1.3.6.1.2.1.31.1.1.1.1.1|4|Gi1/0/1", "1.3.6.1.2.1.31.1.1.1.1.2|4|Gi1/0/2",
            "1.3.6.1.2.1.31.1.1.1.6.1|70:numeric|rate=125000,initial=1000", "1.3.6.1.2.1.31.1.1.1.6.2|70|0",
            "1.3.6.1.2.1.31.1.1.1.10.1|70:numeric|rate=12500,initial=1000", "1.3.6.1.2.1.31.1.1.1.10.2|70|0",
            "1.3.6.1.2.1.31.1.1.1.15.1|66|1000", "1.3.6.1.2.1.31.1.1.1.15.2|66|1000",
            "1.3.6.1.2.1.31.1.1.1.18.1|4|server-61 eth0", "1.3.6.1.2.1.31.1.1.1.18.2|4|",
        ],
    ]

    static func device(port: Int, community: String = "admin", features: [JSONValue] = ["bw_collection"]) -> JSONValue {
        [
            "deviceType": "snmp_switch", "name": "EX3200", "host": .string("127.0.0.1:\(port)"), "snmpCommunity": .string(community),
            "snmpVersion": "2c", "agentId": 1, "features": .array(features), "meta": ["cachePorts": true],
        ]
    }

    @Test func registryValidationAndMasking() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            let created = try await client.execute(uri: "/v1/network-devices/12", method: .put, headers: headers, body: Self.body(Self.device(port: 16_100, community: "s3cret-community")))
            #expect(created.status == .created)
            #expect(created.envelope["result"]?["snmpCommunity"] == .string(Secret.mask))
            #expect(created.envelope["result"]?["id"] == 12)
            #expect(!created.text.contains("s3cret-community"))
            // Sending back what GET showed keeps the stored community.
            var resent = Self.device(port: 16_100, community: Secret.mask)
            if case .object(var members) = resent {
                members["name"] = "renamed"
                resent = .object(members)
            }
            let updated = try await client.execute(uri: "/v1/network-devices/12", method: .put, headers: headers, body: Self.body(resent))
            #expect(updated.status == .ok)
            let stored = try #require(try await agent.runtime.networkDevices.store.get("12"))
            #expect(stored.device.snmpCommunity?.revealed == "s3cret-community")
            #expect(stored.device.name == "renamed")
            let fetched = try await client.execute(uri: "/v1/network-devices/12", method: .get, headers: headers)
            #expect(fetched.envelope["result"]?["name"] == "renamed")
            let list = try await client.execute(uri: "/v1/network-devices", method: .get, headers: headers)
            guard case .array(let devices) = list.envelope["result"] else {
                Issue.record("no list")
                return
            }
            #expect(devices.count == 1)

            let bad: [(JSONValue, String)] = [
                (["deviceType": "snmp_router", "name": "x", "host": "h", "snmpVersion": "2c", "snmpCommunity": "c"], "deviceType"),
                (["deviceType": "snmp_switch", "name": "x", "host": "h", "snmpVersion": "2c", "snmpCommunity": "pub\nlic"], "snmpCommunity"),
                (["deviceType": "snmp_switch", "name": "x", "host": "h", "snmpVersion": "3", "snmpUsername": "u"], "snmpAuthLevel"),
                (["deviceType": "snmp_switch", "name": "x", "host": "10.0.0.1:0", "snmpVersion": "2c", "snmpCommunity": "c"], "host"),
            ]
            for (document, field) in bad {
                let response = try await client.execute(uri: "/v1/network-devices/13", method: .put, headers: headers, body: Self.body(document))
                #expect(response.status == .badRequest, "\(response.text)")
                #expect(response.envelope["error"]?["details"]?["field"] == .string(field), "\(response.text)")
            }
            let badId = try await client.execute(uri: "/v1/network-devices/bad%20id", method: .get, headers: headers)
            #expect(badId.status == .badRequest)

            let deleted = try await client.execute(uri: "/v1/network-devices/12", method: .delete, headers: headers)
            #expect(deleted.status == .ok)
            #expect(try await client.execute(uri: "/v1/network-devices/12", method: .get, headers: headers).status == .notFound)
            #expect(try await client.execute(uri: "/v1/network-devices/12", method: .delete, headers: headers).status == .notFound)
        }
    }

    @Test func testPortsStatisticsAndPortAdminThroughTheAPI() async throws {
        let simulator = try await SNMPSimulator(devices: Self.simulatedDevices)
        defer { simulator.stop() }
        let agent = try await TestAgent { $0.snmp.timeoutSeconds = 1 }
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            _ = try await client.execute(uri: "/v1/network-devices/7", method: .put, headers: headers, body: Self.body(Self.device(port: simulator.port)))
            let tested = try await client.execute(uri: "/v1/network-devices/7/test", method: .post, headers: headers, body: Self.body(["useCache": false]))
            #expect(tested.envelope["result"]?["content"] == ["success": 1, "result": "Simulated access switch"])
            let firstTime = tested.envelope["result"]?["time"]
            let cached = try await client.execute(uri: "/v1/network-devices/7/test", method: .post, headers: headers, body: Self.body(["useCache": true]))
            #expect(cached.envelope["result"]?["time"] == firstTime)
            // useCache is the seed's opt-in: without it the device is asked (its sysUpTime moves between the two reads).
            try await Task.sleep(for: .milliseconds(1100))
            let fresh = try await client.execute(uri: "/v1/network-devices/7/test", method: .post, headers: headers, body: Self.body([:]))
            #expect(fresh.envelope["result"]?["time"] != firstTime, "\(fresh.text)")

            let ports = try await client.execute(uri: "/v1/network-devices/7/ports", method: .get, headers: headers)
            guard case .array(let list) = ports.envelope["result"]?["ports"] else {
                Issue.record("no ports: \(ports.text)")
                return
            }
            #expect(list.first == [
                "id": 1, "name": "Gi1/0/1", "description": "GigabitEthernet1/0/1", "alias": "server-61 eth0", "portOperStatus": "1",
                "portAdminStatus": "1", "linkSpeed": "1000", "ifType": "6", "assignments": [],
            ])

            // Two polls a second apart: the numeric counter moves 125000 octets/s in.
            let collector = BandwidthCollector(service: agent.runtime.networkDevices, settings: agent.runtime.configuration.snmp, logger: Logger(label: "test"))
            await collector.pollAll()
            try await Task.sleep(for: .milliseconds(1500))
            await collector.pollAll()
            let statistics = try await client.execute(
                uri: "/v1/network-devices/7/actions/getStatistics", method: .post, headers: headers,
                body: Self.body(["portIds": ["Gi1/0/1", "2"], "mode": "graph"]))
            guard case .array(let rows) = statistics.envelope["result"]?["ports"] else {
                Issue.record("no statistics: \(statistics.text)")
                return
            }
            #expect(rows.map { $0["portId"] } == [1, 2])
            let lastIn = Double(rows[0]["lastBwrate"]?["in"]?.stringValue ?? "0") ?? 0
            // 125000 octets/s is 1 Mbit/s.
            #expect(lastIn > 0.5 && lastIn < 2, "\(statistics.text)")
            #expect(rows[0]["trafficStatistics"]?["95th_in_30d"] != nil)
            let text = try await client.execute(
                uri: "/v1/network-devices/7/actions/getStatistics", method: .post, headers: headers,
                body: Self.body(["mode": "text", "groupBy": "1d", "from": "2020-01-01 00:00:00", "to": "2099-01-01 00:00:00"]))
            #expect(text.envelope["result"]?["groupBy"] == "1d")
            let badStatistics = try await client.execute(
                uri: "/v1/network-devices/7/actions/getStatistics", method: .post, headers: headers, body: Self.body(["mode": "pie"]))
            #expect(badStatistics.envelope["error"]?["details"]?["field"] == "mode")

            let disabled = try await client.execute(
                uri: "/v1/network-devices/7/actions/setPortDisabled?wait=30", method: .post, headers: headers, body: Self.body(["portId": "Gi1/0/2"]))
            #expect(disabled.envelope["result"]?["state"] == "succeeded", "\(disabled.text)")
            #expect(disabled.envelope["result"]?["result"]?["portAdminStatus"] == "2")
            let unknownPort = try await client.execute(
                uri: "/v1/network-devices/7/actions/setPortEnabled?wait=30", method: .post, headers: headers, body: Self.body(["portId": "Te9/9"]))
            #expect(unknownPort.envelope["result"]?["error"]?["code"] == "invalid_field", "\(unknownPort.text)")
            let injected = try await client.execute(
                uri: "/v1/network-devices/7/actions/setPortEnabled", method: .post, headers: headers, body: Self.body(["portId": "1\nreload"]))
            #expect(injected.status == .badRequest)
            let logs = try await client.execute(uri: "/v1/network-devices/7/actions/getActionLogs", method: .post, headers: headers)
            #expect(logs.text.contains("setPortDisabled"))
            let cleared = try await client.execute(uri: "/v1/network-devices/7/actions/clearCache", method: .post, headers: headers)
            #expect(cleared.status == .ok)
            let unknownAction = try await client.execute(uri: "/v1/network-devices/7/actions/reboot", method: .post, headers: headers)
            #expect(unknownAction.envelope["error"]?["details"]?["field"] == "networkDeviceAction")
        }
        let events = try await agent.runtime.outbox.pendingEvents()
        #expect(events.contains { $0.type == "bandwidth.samples" })
    }

    /// The seed's port assignments (its own example, two servers on one port), set through the API, listed exactly as
    /// the seed lists them, carried on every `bandwidth.samples` port, and summed into the server's traffic.
    @Test func portAssignmentsAndServerTrafficThroughTheAPI() async throws {
        let simulator = try await SNMPSimulator(devices: Self.simulatedDevices)
        defer { simulator.stop() }
        let agent = try await TestAgent { $0.snmp.timeoutSeconds = 1 }
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            _ = try await client.execute(uri: "/v1/network-devices/7", method: .put, headers: headers, body: Self.body(Self.device(port: simulator.port)))
            _ = try await client.execute(uri: "/v1/network-devices/7/ports", method: .get, headers: headers)
            let seedExample: JSONValue = [["type": "server", "relId": 2, "connectionId": 25], ["type": "server", "relId": 61, "connectionId": 26]]
            let set = try await client.execute(uri: "/v1/network-devices/7/ports/1/assignments", method: .put, headers: headers, body: Self.body(seedExample))
            #expect(set.envelope["result"] == ["id": 1, "assignments": seedExample], "\(set.text)")
            // By name too, and wrapped in an object.
            let byName = try await client.execute(uri: "/v1/network-devices/7/ports/Gi1%2F0%2F2/assignments", method: .put, headers: headers,
                                                  body: Self.body(["assignments": [["type": "server", "relId": 61, "connectionId": 27]]]))
            #expect(byName.envelope["result"]?["id"] == 2, "\(byName.text)")

            let device = try await client.execute(uri: "/v1/network-devices/7", method: .get, headers: headers)
            #expect(device.envelope["result"]?["ports"] == [
                ["id": 1, "name": "Gi1/0/1", "assignments": seedExample],
                ["id": 2, "name": "Gi1/0/2", "assignments": [["type": "server", "relId": 61, "connectionId": 27]]],
            ], "\(device.text)")
            #expect(device.envelope["result"]?["extendedDetails"]?["ports"]?.jsonText.contains(#""alias":"server-61 eth0","assignments":[{"#) == true,
                    "\(device.text)")
            let ports = try await client.execute(uri: "/v1/network-devices/7/ports", method: .get, headers: headers)
            #expect(ports.text.contains(#""assignments":[{"connectionId":27,"relId":61,"type":"server"}]"#), "\(ports.text)")

            // Bad lists name the field; nothing is stored from them.
            let badId = try await client.execute(uri: "/v1/network-devices/7/ports/1/assignments", method: .put, headers: headers,
                                                 body: Self.body([["type": "server", "relId": "sixty-one"]]))
            #expect(badId.status == .badRequest && badId.envelope["error"]?["details"]?["field"] == "assignments[0].relId", "\(badId.text)")
            let badType = try await client.execute(uri: "/v1/network-devices/7/ports/1/assignments", method: .put, headers: headers,
                                                   body: Self.body([["type": "server\nreload", "relId": 1]]))
            #expect(badType.status == .badRequest && badType.envelope["error"]?["details"]?["field"] == "assignments[0].type", "\(badType.text)")
            let notAList = try await client.execute(uri: "/v1/network-devices/7/ports/1/assignments", method: .put, headers: headers, body: Self.body(["type": "server"]))
            #expect(notAList.envelope["error"]?["details"]?["field"] == "assignments", "\(notAList.text)")
            let unknownDevice = try await client.execute(uri: "/v1/network-devices/8/ports/1/assignments", method: .put, headers: headers, body: Self.body([]))
            #expect(unknownDevice.status == .notFound)
            let unknownPort = try await client.execute(uri: "/v1/network-devices/7/ports/Te9%2F9/assignments", method: .put, headers: headers, body: Self.body([]))
            #expect(unknownPort.envelope["error"]?["details"]?["field"] == "portId", "\(unknownPort.text)")
            let unknownIndex = try await client.execute(uri: "/v1/network-devices/7/ports/99/assignments", method: .put, headers: headers, body: Self.body([]))
            #expect(unknownIndex.status == .badRequest && unknownIndex.envelope["error"]?["details"]?["field"] == "portId", "\(unknownIndex.text)")

            // Two polls: each port's samples name the servers it counts for.
            let collector = BandwidthCollector(service: agent.runtime.networkDevices, settings: agent.runtime.configuration.snmp, logger: Logger(label: "test"))
            await collector.pollAll()
            try await Task.sleep(for: .milliseconds(1500))
            await collector.pollAll()
            let event = try #require(try await agent.runtime.outbox.pendingEvents().last { $0.type == "bandwidth.samples" })
            #expect(event.data["ports"]?.jsonText.contains(#""portId":1,"serverId":null,"serverIds":[2,61]"#) == true, "\(event.data)")
            #expect(event.data["ports"]?.jsonText.contains(#""portId":2,"serverId":61,"serverIds":[61]"#) == true, "\(event.data)")

            // Server 61 holds both ports: its lastBwrate is their sum (1 Mbit/s in on port 1, nothing on port 2).
            let traffic = try await client.execute(uri: "/v1/servers/61/traffic", method: .get, headers: headers)
            let lastIn = Double(traffic.envelope["result"]?["lastBwrate"]?["in"]?.stringValue ?? "0") ?? 0
            #expect(lastIn > 0.5 && lastIn < 2, "\(traffic.text)")
            #expect(traffic.envelope["result"]?["trafficStatistics"]?["95th_total_30d"] != nil)
            guard case .array(let held)? = traffic.envelope["result"]?["ports"] else { Issue.record("no ports: \(traffic.text)"); return }
            #expect(held.map { $0["portId"] } == [1, 2] && held.allSatisfy { $0["unassignedAt"] == .null }, "\(traffic.text)")
            #expect(try await client.execute(uri: "/v1/servers/abc/traffic", method: .get, headers: headers).status == .badRequest)
            // The CLI reads the same state and answers the same document.
            let state = agent.runtime.configuration.stateDirectory
            let (status, output) = try await RackAgentBinary.run(["traffic", "61", "--json", "--state-dir", state])
            #expect(status == 0 && (try? JSONCoding.decoder.decode(JSONValue.self, from: Data(output.utf8)))?["lastBwrate"] == traffic.envelope["result"]?["lastBwrate"], "\(output)")
            let (humanStatus, human) = try await RackAgentBinary.run(["traffic", "61", "--state-dir", state])
            #expect(humanStatus == 0 && human.contains("95th_total_30d") && human.contains("device 7 port 2: from "), "\(human)")

            // An empty list clears; the history stays and ends now.
            let cleared = try await client.execute(uri: "/v1/network-devices/7/ports/1/assignments", method: .put, headers: headers, body: Self.body([]))
            #expect(cleared.envelope["result"]?["assignments"] == [])
            let after = try await client.execute(uri: "/v1/servers/2/traffic", method: .get, headers: headers)
            #expect(after.envelope["result"]?["ports"]?.jsonText.contains(#""unassignedAt":null"#) == false, "\(after.text)")
            #expect(after.envelope["result"]?["lastBwrate"] == ["in": "0.00", "out": "0.00"], "\(after.text)")
        }
    }

    @Test func deadDeviceIsANormalTestAnswerAndOthersKeepPolling() async throws {
        let simulator = try await SNMPSimulator(devices: Self.simulatedDevices)
        defer { simulator.stop() }
        let agent = try await TestAgent {
            $0.snmp.timeoutSeconds = 0.5
            $0.snmp.retries = 0
        }
        defer { agent.remove() }
        let headers = agent.authorization
        let deadPort = FreePort.udp()
        try await agent.withRouter { client in
            _ = try await client.execute(uri: "/v1/network-devices/live", method: .put, headers: headers, body: Self.body(Self.device(port: simulator.port)))
            _ = try await client.execute(uri: "/v1/network-devices/dead", method: .put, headers: headers, body: Self.body(Self.device(port: deadPort)))
            let response = try await client.execute(uri: "/v1/network-devices/dead/test", method: .post, headers: headers, body: Self.body(["useCache": false]))
            // As in the seed, a dead device is a normal answer: success 0 with the reason, stored as the status.
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.envelope["result"]?["content"]?["success"] == 0, "\(response.text)")
            #expect(response.envelope["result"]?["error"]?["code"] == "snmp_timeout", "\(response.text)")
            #expect(response.envelope["result"]?["content"]?["result"]?.stringValue?.contains("127.0.0.1:\(deadPort)") == true, "\(response.text)")
            #expect(!response.text.contains("admin"))
            let shown = try await client.execute(uri: "/v1/network-devices/dead", method: .get, headers: headers)
            #expect(shown.envelope["result"]?["statusCache"]?["content"]?["success"] == 0, "\(shown.text)")
            // A failure is never served from the cache: asking with useCache asks the device again.
            let again = try await client.execute(uri: "/v1/network-devices/dead/test", method: .post, headers: headers, body: Self.body(["useCache": true]))
            #expect(again.envelope["result"]?["time"] != nil && again.envelope["result"]?["content"]?["success"] == 0)
        }
        let collector = BandwidthCollector(service: agent.runtime.networkDevices, settings: agent.runtime.configuration.snmp, logger: Logger(label: "test"))
        await collector.pollAll()
        try await Task.sleep(for: .milliseconds(1100))
        await collector.pollAll()
        let events = try await agent.runtime.outbox.pendingEvents()
        #expect(events.contains { $0.type == "bandwidth.samples" && $0.data["deviceId"] == "live" })
        #expect(events.filter { $0.type == "device.status" && $0.data["deviceId"] == "dead" }.count == 1)
        #expect(try await agent.runtime.networkDevices.store.get("dead")?.reachable == false)
        #expect(try await agent.runtime.networkDevices.store.get("live")?.reachable == true)
        // The status change and its event are one write: marking "live" unreachable queues the event with it, and the
        // poll that finds it again marks it reachable and queues "reachable" in the poll's own transaction.
        let bandwidth = agent.runtime.networkDevices.bandwidth
        #expect(try await bandwidth.markUnreachable("live", errorCode: "snmp_timeout"))
        #expect(try await !bandwidth.markUnreachable("live", errorCode: "snmp_timeout"), "no second event for the same status")
        let stored = try #require(try await agent.runtime.networkDevices.store.get("live"))
        let outcome = try await agent.runtime.networkDevices.poll(stored)
        #expect(outcome.becameReachable)
        let statuses = try await agent.runtime.outbox.pendingEvents().filter { $0.type == "device.status" && $0.data["deviceId"] == "live" }
        #expect(statuses.map { $0.data["reachable"] } == [false, true], "\(statuses.map(\.data.jsonText))")
        #expect(try await agent.runtime.networkDevices.store.get("live")?.reachable == true)
    }

    @Test func changedV3PassphraseTakesEffect() async throws {
        let daemon = try await SNMPDaemon()
        defer { daemon.stop() }
        let agent = try await TestAgent { $0.snmp.timeoutSeconds = 1 }
        defer { agent.remove() }
        let headers = agent.authorization
        @Sendable func v3(_ passphrase: String) -> JSONValue {
            [
                "deviceType": "snmp_switch", "name": "v3", "host": .string("127.0.0.1:\(daemon.port)"), "snmpVersion": "3",
                "snmpUsername": "usr-sha256-aes256", "snmpAuthLevel": "authPriv", "snmpAuthAlgo": "SHA-256", "snmpAuthPassword": .string(passphrase),
                "snmpCryptoAlgo": "AES-256", "snmpCryptoPassword": .string(SNMPDaemon.privacyPassphrase),
            ]
        }
        try await agent.withRouter { client in
            _ = try await client.execute(uri: "/v1/network-devices/v3", method: .put, headers: headers, body: Self.body(v3(SNMPDaemon.authenticationPassphrase)))
            let good = try await client.execute(uri: "/v1/network-devices/v3/test", method: .post, headers: headers, body: Self.body(["useCache": false]))
            #expect(good.status == .ok, "\(good.text)")
            _ = try await client.execute(uri: "/v1/network-devices/v3", method: .put, headers: headers, body: Self.body(v3("changed-passphrase")))
            let bad = try await client.execute(uri: "/v1/network-devices/v3/test", method: .post, headers: headers, body: Self.body(["useCache": false]))
            #expect(bad.status == .ok && bad.envelope["result"]?["content"]?["success"] == 0, "\(bad.text)")
            #expect(bad.envelope["result"]?["error"]?["code"] == "snmp_auth_failed", "\(bad.text)")
            #expect(!bad.text.contains("changed-passphrase"))
        }
    }
}
