import AgentCore
import ControllerAPI
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PeerHarness
import Testing

/// The SSH network-device actions through the API against OpenSSH + the Arista emulator: jobs, dry runs, reads,
/// validation that sends nothing, snapshots, transcripts in getActionLogs, host keys.
@Suite(.serialized) struct SwitchRouteTests {
    static func body(_ value: JSONValue) -> ByteBuffer { ByteBuffer(string: value.jsonText) }

    static func device(_ peer: SSHSwitchPeer, vendor: String = "aristaSsh") -> JSONValue {
        [
            "deviceType": "snmp_switch", "name": "leaf-1", "host": "127.0.0.1", "snmpCommunity": "public", "snmpVersion": "2c",
            "enableAdvancedManagement": true, "managementVendor": .string(vendor), "managementPort": .integer(Int64(peer.port)),
            "managementUser": .string(SSHSwitchPeer.user), "managementPassword": .string(SSHSwitchPeer.password), "meta": [:],
        ]
    }

    @Test func actionsThroughTheAPI() async throws {
        let peer = try await SSHSwitchPeer(dialect: "arista", state: SSHSwitchPeer.initialState(dialect: "arista", interfaces: ["Ethernet1", "Ethernet2"]))
        defer { peer.stop() }
        let agent = try await TestAgent()
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            let put = try await client.execute(uri: "/v1/network-devices/7", method: .put, headers: headers, body: Self.body(Self.device(peer)))
            #expect(put.status == .created, "\(put.text)")
            #expect(!put.text.contains(SSHSwitchPeer.password))

            func action(_ name: String, _ body: JSONValue, wait: Bool = true) async throws -> TestResponse {
                try await client.execute(uri: "/v1/network-devices/7/actions/\(name)\(wait ? "?wait=30" : "")", method: .post, headers: headers, body: Self.body(body))
            }

            // Validation first: nothing reaches the switch.
            let injected = try await action("setInterfaceDescription", ["portId": "Ethernet1", "description": "x\nreload"])
            #expect(injected.status == .badRequest)
            #expect(injected.envelope["error"]?["details"]?["field"] == "description")
            for (name, body, field) in [
                ("setPortDisabled", ["portId": "Ethernet1; reload"] as JSONValue, "portId"),
                ("updateInterface", ["portId": "Ethernet1", "accessVlan": 5000], "accessVlan"),
                ("updateInterface", ["portId": "Ethernet1", "accessVlan": 10, "trunkVlans": [10]], "accessVlan"),
                ("createVlan", ["id": 30, "name": "bad name"], "name"),
                ("createVlan", ["id": 30, "name": "web", "l3Ips": ["10.0.0.0/24"]], "l3Ips[0]"),
                ("createVlan", ["id": 30], "name"),
                ("deleteVlanFromInterface", ["portId": "Ethernet1"], "vlanId"),
            ] {
                let refused = try await action(name, body)
                #expect(refused.status == .badRequest, "\(name): \(refused.text)")
                #expect(refused.envelope["error"]?["details"]?["field"]?.stringValue == field, "\(name): \(refused.text)")
            }
            #expect(peer.commandLog.isEmpty, "no command ran: \(peer.commandLog)")

            // A change as a job, read back; the same request again changes nothing.
            let updated = try await action("updateInterface", [
                "portId": "Ethernet1", "portAdminStatus": "enabled", "description": "server 61", "accessVlan": "0", "trunkNativeVlan": "20", "trunkVlans": [20, 30],
            ])
            #expect(updated.status == .ok, "\(updated.text)")
            #expect(updated.envelope["result"]?["state"] == "succeeded", "\(updated.text)")
            #expect(updated.envelope["result"]?["result"]?["changed"] == true)
            #expect(updated.envelope["result"]?["result"]?["after"]?["trunkVlans"] == [20, 30])
            let again = try await action("updateInterface", ["portId": "Ethernet1", "description": "server 61", "trunkNativeVlan": 20, "trunkVlans": [20, 30]])
            #expect(again.envelope["result"]?["result"]?["changed"] == false)
            #expect(again.envelope["result"]?["result"]?["message"] == "already as requested; nothing sent")

            let dry = try await action("setPortDisabled", ["portId": "Ethernet1", "dryRun": true], wait: false)
            #expect(dry.status == .ok)
            #expect(dry.envelope["result"]?["dryRun"] == true)
            #expect(dry.envelope["result"]?["commands"] == ["interface Ethernet1", "shutdown", "exit"])
            let read = try await action("getInterface", ["portId": "Ethernet1"], wait: false)
            #expect(read.envelope["result"]?["enabled"] == true, "the dry run changed nothing")
            #expect(read.envelope["result"]?["description"] == "server 61")

            let disabled = try await action("setPortDisabled", ["portId": "Ethernet1"])
            #expect(disabled.envelope["result"]?["result"]?["changed"] == true)
            let removed = try await action("deleteVlanFromInterface", ["portId": "Ethernet1", "vlanId": 30])
            #expect(removed.envelope["result"]?["result"]?["after"]?["trunkVlans"] == [20])

            let created = try await action("createVlan", ["id": "30", "name": "web", "l3Ips": ["10.10.30.1/24"]])
            #expect(created.envelope["result"]?["state"] == "succeeded", "\(created.text)")
            let renamed = try await action("updateVlan", ["id": 30, "name": "frontend"])
            #expect(renamed.envelope["result"]?["result"]?["after"]?["name"] == "frontend")
            let missing = try await action("updateVlan", ["id": 99, "name": "x"])
            #expect(missing.envelope["result"]?["state"] == "failed")
            #expect(missing.envelope["result"]?["error"]?["code"] == "not_found")
            let vlans = try await action("getVlans", [:], wait: false)
            guard case .array(let list)? = vlans.envelope["result"] else { throw AgentError.internalError("no VLAN list") }
            #expect(list.contains { $0["id"] == 30 && $0["name"] == "frontend" && $0["l3Ips"] == ["10.10.30.1/24"] })

            // Snapshots before each change, transcripts in the action log, features.
            let snapshots = try await client.execute(uri: "/v1/network-devices/7/config-snapshots", method: .get, headers: headers)
            guard case .array(let taken)? = snapshots.envelope["result"], let first = taken.first?["id"]?.jsonText else { throw AgentError.internalError("no snapshots") }
            #expect(taken.count == 5, "one per applied change: \(taken.count)")
            let snapshot = try await client.execute(uri: "/v1/network-devices/7/config-snapshots/\(first)", method: .get, headers: headers)
            #expect(snapshot.envelope["result"]?["content"]?.stringValue?.contains("interface Ethernet1") == true)
            let logs = try await action("getActionLogs", [:], wait: false)
            guard case .array(let rows)? = logs.envelope["result"] else { throw AgentError.internalError("no action log") }
            #expect(rows.contains { $0["description"]?.stringValue?.hasPrefix("SSH interface Ethernet1") == true })
            #expect(!logs.text.contains(SSHSwitchPeer.password))
            let features = try await action("getFeatures", [:], wait: false)
            guard case .array(let actions)? = features.envelope["result"]?["actions"] else { throw AgentError.internalError("no features") }
            #expect(actions.contains("updateInterface") && actions.contains("createVlan"))

            let key = try await client.execute(uri: "/v1/network-devices/7/host-key", method: .get, headers: headers)
            let fingerprint = try await peer.hostKeyFingerprint()
            #expect(key.envelope["result"]?["fingerprint"]?.stringValue == fingerprint)
            let forgotten = try await client.execute(uri: "/v1/network-devices/7/host-key", method: .delete, headers: headers)
            #expect(forgotten.status == .ok)
        }
    }

    @Test func aDeviceWithoutAdvancedManagementGets422() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            let device: JSONValue = ["deviceType": "snmp_switch", "name": "plain", "host": "127.0.0.1", "snmpCommunity": "public", "snmpVersion": "2c"]
            _ = try await client.execute(uri: "/v1/network-devices/8", method: .put, headers: headers, body: Self.body(device))
            let response = try await client.execute(uri: "/v1/network-devices/8/actions/createVlan", method: .post, headers: headers, body: Self.body(["id": 30, "name": "web"]))
            #expect(response.status == .unprocessableContent)
        }
    }
}
