import AgentCore
import ControllerAPI
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PeerHarness
import Testing

/// Failover from a BMC to PDU outlets happens only when the BMC provably did not act. These tests make the BMC
/// misbehave: it accepts every power command and changes nothing (pyghmi fake BMC), or ignores a reset.
@Suite(.serialized) struct FailoverTests {
    static func body(_ value: JSONValue) -> ByteBuffer { ByteBuffer(string: value.jsonText) }

    static let outletState = "1.3.6.1.4.1.318.1.1.12.3.3.1.1.4"

    static func pdu() async throws -> SNMPSimulator {
        try await SNMPSimulator(devices: [
            "pdu1": [
                "1.3.6.1.2.1.1.1.0|4|APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.4.6 PN:apc_hw05_aos_646.bin)", "1.3.6.1.2.1.1.5.0|4|pdu1.lab",
                "1.3.6.1.4.1.318.1.1.12.3.3.1.1.2.1|4|server-a-psu1", "1.3.6.1.4.1.318.1.1.12.3.3.1.1.2.2|4|server-a-psu2",
                "\(outletState).1|2:writecache|value=1", "\(outletState).2|2:writecache|value=1",
            ],
        ])
    }

    @Test func aBMCThatAcceptedIsNeverBackedUpByTheOutlets() async throws {
        let bmc = try await FakeBMC(mode: .ignorePower, initialPower: true)
        defer { bmc.stop() }
        let simulator = try await Self.pdu()
        defer { simulator.stop() }
        let agent = try await TestAgent {
            $0.ipmi.minimumGapSeconds = 0.02
            $0.ipmi.verifyDeadlineSeconds = 2
            $0.snmp.timeoutSeconds = 1
        }
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            let device: JSONValue = ["deviceType": "apc", "name": "pdu1", "host": .string("127.0.0.1:\(simulator.port)"), "snmpCommunity": "pdu1"]
            let put = try await client.execute(uri: "/v1/network-devices/pdu1", method: .put, headers: headers, body: Self.body(device))
            #expect(put.status == .created, "\(put.text)")
            let fallback: JSONValue = ["type": "pdu", "meta": ["deviceId": "pdu1", "outlet": [1, 2]]]

            // The BMC takes "power off" and the server stays on: the BMC's verify error stands, the outlets stay on.
            let off = try await client.execute(
                uri: "/v1/power/setPowerOff?wait=30", method: .post, headers: headers,
                body: Self.body(["connection": bmc.connection, "fallback": fallback, "serverId": 61]))
            #expect(off.envelope["result"]?["state"] == "failed", "\(off.text)")
            #expect(off.envelope["result"]?["error"]?["code"] == "verify_failed", "\(off.text)")
            #expect(off.envelope["result"]?["error"]?["details"]?["actual"] == "online", "\(off.text)")
            #expect(bmc.commands.contains("power off"))
            #expect(bmc.powerState == "1")

            // A reset the BMC accepted without any trace: unverified, and no outlet is cycled to "make sure".
            let reset = try await client.execute(
                uri: "/v1/power/setPowerReset?wait=30", method: .post, headers: headers,
                body: Self.body(["connection": bmc.connection, "fallback": fallback]))
            #expect(reset.envelope["result"]?["state"] == "succeeded", "\(reset.text)")
            #expect(reset.envelope["result"]?["result"]?["verified"] == false, "\(reset.text)")
            #expect(reset.envelope["result"]?["result"]?["via"] == nil, "\(reset.text)")
            #expect(reset.envelope["result"]?["result"]?["reason"]?.stringValue?.contains("no evidence of a restart") == true, "\(reset.text)")

            let outlets = try await client.execute(uri: "/v1/network-devices/pdu1/outlets", method: .get, headers: headers)
            #expect(outlets.envelope["result"]?["outlets"] == [
                ["number": 1, "name": "server-a-psu1", "state": "on"], ["number": 2, "name": "server-a-psu2", "state": "on"],
            ], "\(outlets.text)")
        }
        // Straight from the PDU: nothing was written to either outlet.
        for outlet in [1, 2] {
            await #expect(try simulator.get(community: "pdu1", oid: "\(Self.outletState).\(outlet)") == "1")
        }
    }

    /// A BMC that carries out "power off" but whose answer is lost: the agent cannot know it acted, so the outlets
    /// are not switched on top of it (which would cut a server the BMC may be shutting down), and the error says the
    /// effect is unknown.
    @Test func aLostAnswerIsNeverBackedUpByTheOutlets() async throws {
        let bmc = try await FakeBMC(mode: .silentPower, initialPower: true)
        defer { bmc.stop() }
        let simulator = try await Self.pdu()
        defer { simulator.stop() }
        let agent = try await TestAgent {
            $0.ipmi.minimumGapSeconds = 0.02
            $0.ipmi.commandTimeoutSeconds = 4
            $0.snmp.timeoutSeconds = 1
        }
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            let device: JSONValue = ["deviceType": "apc", "name": "pdu1", "host": .string("127.0.0.1:\(simulator.port)"), "snmpCommunity": "pdu1"]
            _ = try await client.execute(uri: "/v1/network-devices/pdu1", method: .put, headers: headers, body: Self.body(device))
            let off = try await client.execute(
                uri: "/v1/power/setPowerOff?wait=60", method: .post, headers: headers,
                body: Self.body(["connection": bmc.connection, "fallback": ["type": "pdu", "meta": ["deviceId": "pdu1", "outlet": "1,2"]]]))
            #expect(off.envelope["result"]?["state"] == "failed", "\(off.text)")
            #expect(off.envelope["result"]?["error"]?["details"]?["deviceEffect"] == "unknown", "\(off.text)")
            #expect(off.envelope["result"]?["result"]?["via"] == nil, "\(off.text)")
            #expect(bmc.commands.filter { $0 == "power off" }.count == 1, "\(bmc.commands)")
            #expect(bmc.powerState == "0", "the BMC did act")
        }
        for outlet in [1, 2] {
            await #expect(try simulator.get(community: "pdu1", oid: "\(Self.outletState).\(outlet)") == "1")
        }
    }

    /// A status read changes nothing: when the BMC's answer to it is lost, the outlets answer instead.
    @Test func aStatusReadWhoseAnswerIsLostFallsBackToTheOutlets() async throws {
        let bmc = try await FakeBMC(mode: .silentChassis, initialPower: true)
        defer { bmc.stop() }
        let simulator = try await Self.pdu()
        defer { simulator.stop() }
        let agent = try await TestAgent {
            $0.ipmi.minimumGapSeconds = 0.02
            $0.ipmi.commandTimeoutSeconds = 4
            $0.snmp.timeoutSeconds = 1
        }
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            let device: JSONValue = ["deviceType": "apc", "name": "pdu1", "host": .string("127.0.0.1:\(simulator.port)"), "snmpCommunity": "pdu1"]
            _ = try await client.execute(uri: "/v1/network-devices/pdu1", method: .put, headers: headers, body: Self.body(device))
            let status = try await client.execute(
                uri: "/v1/power/getPowerStatus", method: .post, headers: headers,
                body: Self.body(["connection": bmc.connection, "fallback": ["type": "pdu", "meta": ["deviceId": "pdu1", "outlet": "1,2"]]]))
            #expect(status.status == .ok, "\(status.text)")
            // The seed's shape, as without a failover: the bare state; who answered is in the headers.
            #expect(status.envelope["result"] == "online" || status.envelope["result"] == "offline", "\(status.text)")
            #expect(status.headers[HTTPField.Name("X-RackAgent-Via")!] == "pdu", "\(status.headers)")
            #expect(status.headers[HTTPField.Name("X-RackAgent-Primary-Error")!]?.isEmpty == false, "\(status.headers)")
        }
    }

    /// Wrong BMC credentials: the BMC refused the login, so it provably did nothing and the outlets stand in.
    @Test func aRefusedLoginFailsOverToTheOutlets() async throws {
        let bmc = try await FakeBMC(mode: .normal, initialPower: true)
        defer { bmc.stop() }
        let simulator = try await Self.pdu()
        defer { simulator.stop() }
        let agent = try await TestAgent {
            $0.ipmi.minimumGapSeconds = 0.02
            $0.snmp.timeoutSeconds = 1
        }
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            let device: JSONValue = ["deviceType": "apc", "name": "pdu1", "host": .string("127.0.0.1:\(simulator.port)"), "snmpCommunity": "pdu1"]
            _ = try await client.execute(uri: "/v1/network-devices/pdu1", method: .put, headers: headers, body: Self.body(device))
            let wrongPassword: JSONValue = [
                "type": "ipmi", "meta": ["ip": "127.0.0.1", "username": "admin", "password": "wrong-password", "bmcPort": .string(String(bmc.port))],
            ]
            let off = try await client.execute(
                uri: "/v1/power/setPowerOff?wait=30", method: .post, headers: headers,
                body: Self.body(["connection": wrongPassword, "fallback": ["type": "pdu", "meta": ["deviceId": "pdu1", "outlet": "1,2"]]]))
            #expect(off.envelope["result"]?["state"] == "succeeded", "\(off.text)")
            #expect(off.envelope["result"]?["result"]?["via"] == "pdu", "\(off.text)")
            #expect(off.envelope["result"]?["result"]?["primaryError"]?["deviceEffect"] == "untouched", "\(off.text)")
            #expect(off.envelope["result"]?["result"]?["result"]?["powerState"] == "offline", "\(off.text)")
            #expect(!bmc.commands.contains("power off"))
        }
        for outlet in [1, 2] {
            await #expect(try simulator.get(community: "pdu1", oid: "\(Self.outletState).\(outlet)") == "2")
        }
    }
}
