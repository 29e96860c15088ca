import AgentCore
import ControllerAPI
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PeerHarness
import Testing

/// Provider connections through the API (power, connection tests, reinstall jobs, provider calls) against the
/// replay servers, and PDU outlets against snmpsim's APC rPDU data.
@Suite struct ProviderRouteTests {
    static func body(_ value: JSONValue) -> ByteBuffer { ByteBuffer(string: value.jsonText) }

    static func fastAgent() async throws -> TestAgent {
        try await TestAgent {
            $0.providers.pollIntervalSeconds = 0.05
            $0.providers.waitTimeoutSeconds = 10
            $0.providers.ionosRequestsPerMinute = 3000
        }
    }

    @Test func powerAndConnectionChecksForEveryProvider() async throws {
        for provider in ["ionos", "venocix", "cloudsigma"] {
            let peer = try await ProviderReplayPeer(provider: provider)
            defer { peer.stop() }
            let agent = try await Self.fastAgent()
            defer { agent.remove() }
            let headers = agent.authorization
            let connection: JSONValue = ["type": .string(provider), "meta": peer.meta()]
            try await agent.withRouter { client in
                let tested = try await client.execute(uri: "/v1/connections/test", method: .post, headers: headers, body: Self.body(["connection": connection]))
                #expect(tested.envelope["result"] == "online", "\(provider): \(tested.text)")
                let wrong = try await client.execute(uri: "/v1/connections/test", method: .post, headers: headers,
                                                     body: Self.body(["connection": ["type": .string(provider), "meta": peer.meta(wrongCredentials: true)]]))
                #expect(wrong.status == .badGateway && wrong.envelope["error"]?["code"] == "provider_auth_failed", "\(provider): \(wrong.text)")
                #expect(!wrong.text.contains("wrong"))

                let status = try await client.execute(uri: "/v1/power/getPowerStatus", method: .post, headers: headers, body: Self.body(["connection": connection]))
                #expect(status.envelope["result"] == "online", "\(provider): \(status.text)")
                for method in ["setPowerOff", "setPowerOn", "setPowerCycle", "setPowerReset", "setPowerSoft"] {
                    let response = try await client.execute(uri: "/v1/power/\(method)?wait=30", method: .post, headers: headers,
                                                            body: Self.body(["connection": connection, "serverId": 61]))
                    let job = response.envelope["result"]
                    #expect(job?["state"] == "succeeded", "\(provider) \(method): \(response.text)")
                    #expect(job?["result"]?["verified"] == true)
                    #expect(job?["result"]?["powerState"] == (method == "setPowerOff" || method == "setPowerSoft" ? "offline" : "online"))
                }
                let boot = try await client.execute(uri: "/v1/power/setBootType", method: .post, headers: headers,
                                                    body: Self.body(["connection": connection, "params": "pxe"]))
                #expect(boot.status == .unprocessableContent && boot.envelope["error"]?["code"] == "unsupported")
                let states = try await agent.runtime.outbox.pendingEvents().filter { $0.type == "power.state" }
                #expect(states.count == 6, "one for the status read and one per power change")
                #expect(states.last?.data["powerState"] == "offline" && states.last?.data["serverId"] == "61" && states.last?.data["via"] == .string(provider))
                let logs = try await client.execute(uri: "/v1/logs?limit=50", method: .get, headers: headers)
                #expect(!logs.text.contains(ProviderReplayPeer.ionosToken) && !logs.text.contains(ProviderReplayPeer.cloudSigmaPassword))
            }
        }
    }

    @Test func reinstallJobsTemplatesAndProviderCalls() async throws {
        let venocix = try await ProviderReplayPeer(provider: "venocix")
        defer { venocix.stop() }
        let sigma = try await ProviderReplayPeer(provider: "cloudsigma")
        defer { sigma.stop() }
        let agent = try await Self.fastAgent()
        defer { agent.remove() }
        let headers = agent.authorization
        let vm: JSONValue = ["type": "venocix", "meta": venocix.meta()]
        try await agent.withRouter { client in
            func post(_ uri: String, _ body: JSONValue) async throws -> TestResponse {
                try await client.execute(uri: uri, method: .post, headers: headers, body: Self.body(body))
            }
            let job = try await post("/v1/provider-installations?wait=30", ["connection": vm, "template": "Debian10.0", "hostname": "node-4001", "serverId": 61])
            #expect(job.envelope["result"]?["state"] == "succeeded", "\(job.text)")
            #expect(job.envelope["result"]?["result"]?["password"] == "Vx-Job-Pass-7731", "the request that asked gets the password")
            let logs = try await client.execute(uri: "/v1/logs?limit=50", method: .get, headers: headers)
            #expect(logs.text.contains("Reinstalled venocix:4001 with Debian10.0") && !logs.text.contains("Vx-Job-Pass-7731"))
            // Once only: a later read of the job, the job list, the outbox and the database show the mask.
            let jobId = try #require(job.envelope["result"]?["jobId"]?.stringValue)
            let again = try await client.execute(uri: "/v1/jobs/\(jobId)", method: .get, headers: headers)
            #expect(again.envelope["result"]?["result"]?["password"] == .string(Secret.mask), "\(again.text)")
            let list = try await client.execute(uri: "/v1/jobs", method: .get, headers: headers)
            #expect(list.status == .ok && !list.text.contains("Vx-Job-Pass-7731"))
            #expect(try await !agent.runtime.outbox.pendingEvents().map(\.data.jsonText).joined().contains("Vx-Job-Pass-7731"))
            // A job submitted without waiting hands the password to the first read after it ended.
            let queued = try await post("/v1/provider-installations", ["connection": vm, "template": "Debian10.0", "serverId": 62])
            let queuedId = try #require(queued.envelope["result"]?["jobId"]?.stringValue)
            _ = try await agent.runtime.jobs.waitForEnd(jobId: queuedId)
            let firstRead = try await client.execute(uri: "/v1/jobs/\(queuedId)", method: .get, headers: headers)
            #expect(firstRead.envelope["result"]?["result"]?["password"] == "Vx-Job-Pass-7731", "\(firstRead.text)")
            let secondRead = try await client.execute(uri: "/v1/jobs/\(queuedId)", method: .get, headers: headers)
            #expect(secondRead.envelope["result"]?["result"]?["password"] == .string(Secret.mask), "\(secondRead.text)")
            for file in [agent.runtime.configuration.databasePath, agent.runtime.configuration.databasePath + "-wal"]
            where FileManager.default.fileExists(atPath: file) {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                #expect(bytes.range(of: Data("Vx-Job-Pass-7731".utf8)) == nil, "the password reached \(file)")
            }
            let failed = try await post("/v1/provider-installations?wait=30", ["connection": vm, "template": "Oversized"])
            #expect(failed.envelope["result"]?["state"] == "failed" && failed.envelope["result"]?["error"]?["code"] == "provider_job_failed", "\(failed.text)")

            #expect(try await post("/v1/provider-installations", ["connection": vm]).envelope["error"]?["details"]?["field"] == "template")
            #expect(try await post("/v1/provider-installations", ["connection": vm, "template": "x", "sshKey": "not a key"]).envelope["error"]?["details"]?["field"] == "sshKey")
            #expect(try await post("/v1/provider-installations", ["connection": vm, "template": "x", "password": "short"]).envelope["error"]?["details"]?["field"] == "password")
            #expect(try await post("/v1/provider-installations", ["connection": ["type": "venocix", "meta": ["token": "t"]], "template": "x"]).envelope["error"]?["details"]?["field"] == "connection.meta.serverId")

            // ISO boot and root password reset (seed 003) as the API offers them.
            let isos = try await post("/v1/providers/venocix/isos", ["connection": vm])
            #expect(isos.envelope["result"]?.jsonText.contains("debian-11.5.0-amd64-netinst.iso") == true, "\(isos.text)")
            let inserted = try await post("/v1/providers/venocix/insert-iso?wait=30", ["connection": vm, "isoId": "ISOs:iso/debian-11.5.0-amd64-netinst-0.iso"])
            #expect(inserted.envelope["result"]?["result"]?["iso"] == "ISOs:iso/debian-11.5.0-amd64-netinst-0.iso", "\(inserted.text)")
            #expect(inserted.envelope["result"]?["result"]?["verified"] == true, "\(inserted.text)")
            let ejected = try await post("/v1/providers/venocix/eject-iso?wait=30", ["connection": vm])
            #expect(ejected.envelope["result"]?["result"]?["iso"] == .null && ejected.envelope["result"]?["state"] == "succeeded", "\(ejected.text)")
            #expect(try await post("/v1/providers/venocix/insert-iso", ["connection": vm]).envelope["error"]?["details"]?["field"] == "isoId")
            let reset = try await post("/v1/providers/venocix/password-reset", ["connection": vm])
            #expect(reset.envelope["result"] == ["passwordSet": true, "password": "Vx-Reset-Pass-4411"], "\(reset.text)")
            let chosen = try await post("/v1/providers/venocix/password-reset", ["connection": vm, "password": "Chosen-Pw-7"])
            #expect(chosen.envelope["result"] == ["passwordSet": true, "password": .null], "\(chosen.text)")
            #expect(try await post("/v1/providers/venocix/password-reset", ["connection": vm, "password": "abc"]).envelope["error"]?["details"]?["field"] == "password")
            let logsAfter = try await client.execute(uri: "/v1/logs?limit=50", method: .get, headers: headers)
            #expect(logsAfter.text.contains("Reset the root password") && !logsAfter.text.contains("Vx-Reset-Pass-4411") && !logsAfter.text.contains("Chosen-Pw-7"))

            let sigmaConnection: JSONValue = ["type": "cloudsigma", "meta": sigma.meta()]
            let recovery = try await post("/v1/providers/cloudsigma/recovery?wait=30", ["connection": sigmaConnection, "image": "rescue"])
            #expect(recovery.envelope["result"]?["error"]?["code"] == "unsupported", "\(recovery.text)")
            let templates = try await post("/v1/providers/cloudsigma/templates", ["connection": sigmaConnection])
            #expect(templates.envelope["result"]?.jsonText.contains("Debian 11 standard image") == true, "\(templates.text)")
            let console = try await post("/v1/providers/cloudsigma/console", ["connection": sigmaConnection])
            #expect(console.envelope["result"] == ["type": "vnc", "host": "91.203.56.72", "port": 5900, "password": "KD9R3jcF"])
            let status = try await post("/v1/providers/cloudsigma/status", ["connection": sigmaConnection])
            #expect(status.envelope["result"]?["providerState"] == "active" && status.envelope["result"]?["powerState"] == "online")
            let traffic = try await post("/v1/providers/venocix/traffic", ["connection": vm])
            #expect(traffic.envelope["result"]?["inboundBytes"] == 52240)
            let rdns = try await post("/v1/providers/venocix/rdns", ["connection": vm, "ip": "37.114.41.200", "hostname": "node.example.com"])
            #expect(rdns.status == .ok, "\(rdns.text)")
            #expect(try await post("/v1/providers/venocix/rdns", ["connection": vm, "ip": "::1", "hostname": "node.example.com"]).status == .badRequest)
            #expect(try await post("/v1/providers/cloudsigma/rdns", ["connection": sigmaConnection, "ip": "1.2.3.4", "hostname": "a.example.com"]).status == .unprocessableContent)
            let servers = try await post("/v1/providers/venocix/servers", ["connection": ["type": "venocix", "meta": ["token": .string(ProviderReplayPeer.venocixToken), "baseUrl": .string(venocix.baseURL)]]])
            #expect(servers.envelope["result"]?.jsonText == #"[{"id":"4001"}]"#, "\(servers.text)")
            let mismatch = try await post("/v1/providers/ionos/status", ["connection": vm])
            #expect(mismatch.status == .badRequest && mismatch.envelope["error"]?["details"]?["field"] == "connection.type")
            #expect(try await post("/v1/providers/ionos/reboot", ["connection": vm]).envelope["error"]?["details"]?["field"] == "operation")

            try await venocix.queue(status: 502, body: "<html><body>Bad Gateway</body></html>", contentType: "text/html")
            try await venocix.queue(status: 502, body: "<html><body>Bad Gateway</body></html>", contentType: "text/html")
            try await venocix.queue(status: 502, body: "<html><body>Bad Gateway</body></html>", contentType: "text/html")
            try await venocix.queue(status: 502, body: "<html><body>Bad Gateway</body></html>", contentType: "text/html")
            let html = try await post("/v1/providers/venocix/status", ["connection": vm])
            #expect(html.status == .badGateway && html.envelope["error"]?["code"] == "provider_error", "\(html.text)")

            let table = try await client.execute(uri: "/v1/providers", method: .get, headers: headers)
            #expect(table.envelope["result"]?["cloudsigma"]?["reboot"] == "emulated" && table.envelope["result"]?["ionos"]?["console"] == "unsupported")
        }
    }

    @Test func pduOutletsAndPowerThroughThem() async throws {
        let simulator = try await SNMPSimulator(devices: [
            "pdu1": [
                "1.3.6.1.2.1.1.1.0|4|APC Web/SNMP Management Card (MB:v4.1.0 PF:v6.4.6 PN:apc_hw05_aos_646.bin)", "1.3.6.1.2.1.1.5.0|4|pdu1.lab",
                "1.3.6.1.4.1.318.1.1.12.3.3.1.1.2.1|4|server-a", "1.3.6.1.4.1.318.1.1.12.3.3.1.1.2.2|4|server-b",
                "1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.1|2:writecache|value=1", "1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.2|2:writecache|value=2",
            ],
        ])
        defer { simulator.stop() }
        let agent = try await TestAgent {
            $0.snmp.timeoutSeconds = 1
            $0.ipmi.commandTimeoutSeconds = 5
            $0.ipmi.retries = 1
        }
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            let device: JSONValue = ["deviceType": "apc", "name": "pdu1", "host": .string("127.0.0.1:\(simulator.port)"), "snmpCommunity": "pdu1"]
            let put = try await client.execute(uri: "/v1/network-devices/pdu1", method: .put, headers: headers, body: Self.body(device))
            #expect(put.status == .created, "\(put.text)")
            let outlets = try await client.execute(uri: "/v1/network-devices/pdu1/outlets", method: .get, headers: headers)
            #expect(outlets.envelope["result"]?["outlets"] == [
                ["number": 1, "name": "server-a", "state": "on"], ["number": 2, "name": "server-b", "state": "off"],
            ], "\(outlets.text)")
            let on = try await client.execute(uri: "/v1/network-devices/pdu1/outlets/2/on?wait=20", method: .post, headers: headers)
            #expect(on.envelope["result"]?["result"]?["state"] == "on" && on.envelope["result"]?["result"]?["before"] == "off", "\(on.text)")
            let unknown = try await client.execute(uri: "/v1/network-devices/pdu1/outlets/9/off", method: .post, headers: headers)
            #expect(unknown.status == .notFound, "\(unknown.text)")
            let badAction = try await client.execute(uri: "/v1/network-devices/pdu1/outlets/1/explode", method: .post, headers: headers)
            #expect(badAction.status == .badRequest)

            let connection: JSONValue = ["type": "pdu", "meta": ["deviceId": "pdu1", "outlet": "1,2"]]
            let off = try await client.execute(uri: "/v1/power/setPowerOff?wait=20", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(off.envelope["result"]?["result"]?["powerState"] == "offline", "\(off.text)")
            let status = try await client.execute(uri: "/v1/power/getPowerStatus", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(status.envelope["result"] == "offline")
            let soft = try await client.execute(uri: "/v1/power/setPowerSoft", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(soft.status == .unprocessableContent)
            // A BMC that does not answer: the outlets stand in, and the answer says so.
            let deadBMC: JSONValue = ["type": "ipmi", "meta": ["ip": "127.0.0.1", "bmcPort": .integer(Int64(FreePort.udp())), "username": "ADMIN", "password": "ADMIN"]]
            let failover = try await client.execute(uri: "/v1/power/setPowerOn?wait=30", method: .post, headers: headers,
                                                    body: Self.body(["connection": deadBMC, "fallback": connection]))
            #expect(failover.envelope["result"]?["result"]?["via"] == "pdu", "\(failover.text)")
            #expect(failover.envelope["result"]?["result"]?["result"]?["powerState"] == "online")
            // ipmitool gives up on the session set-up by itself (the BMC never got the command) before the agent's timeout.
            #expect(failover.envelope["result"]?["result"]?["primaryError"]?["code"] == "bmc_unreachable", "\(failover.text)")
            let noFailover = try await client.execute(uri: "/v1/power/setPowerOff?wait=30", method: .post, headers: headers,
                                                      body: Self.body(["connection": deadBMC, "fallback": connection, "noFailover": true]))
            #expect(noFailover.envelope["result"]?["state"] == "failed", "\(noFailover.text)")
            let missing = try await client.execute(uri: "/v1/power/setPowerOn", method: .post, headers: headers,
                                                   body: Self.body(["connection": ["type": "pdu", "meta": ["deviceId": "pdu1"]]]))
            #expect(missing.envelope["error"]?["details"]?["field"] == "connection.meta.outlet")
        }
    }

    /// ServerTech PDUs keep state and command in different columns and index rows tower.infeed.outlet: snmpd with a
    /// pass_persist emulator whose writes change the state column (through the wait state).
    @Test(arguments: ["sentry3", "sentry4"]) func serverTechOutletsThroughSnmpd(vendor: String) async throws {
        let daemon = try await SNMPDaemon.withOutlets(vendor)
        defer { daemon.stop() }
        let agent = try await TestAgent { $0.snmp.timeoutSeconds = 2 }
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            let device: JSONValue = ["deviceType": .string(vendor), "name": "cdu", "host": .string("127.0.0.1:\(daemon.port)"),
                                     "snmpCommunity": "public", "snmpWriteCommunity": "private", "snmpVersion": "2c"]
            let put = try await client.execute(uri: "/v1/network-devices/cdu", method: .put, headers: headers, body: Self.body(device))
            #expect(put.status == .created, "\(put.text)")
            let outlets = try await client.execute(uri: "/v1/network-devices/cdu/outlets", method: .get, headers: headers)
            guard case .array(let listed)? = outlets.envelope["result"]?["outlets"] else { Issue.record("no outlets: \(outlets.text)"); return }
            #expect(listed.map { [$0["number"], $0["name"], $0["state"]] } == [
                [1, "server-a", "on"], [2, "server-b", "off"], [3, "server-c", "on"], [4, "server-d", "on"],
            ], "\(outlets.text)")
            // The emulator meters outlet 1 only (1.2 A on both generations).
            #expect(listed.first?["currentAmps"] == 1.2, "\(outlets.text)")
            let off = try await client.execute(uri: "/v1/network-devices/cdu/outlets/3/off?wait=20", method: .post, headers: headers)
            #expect(off.envelope["result"]?["result"]?["state"] == "off" && off.envelope["result"]?["result"]?["before"] == "on", "\(off.text)")
            let on = try await client.execute(uri: "/v1/network-devices/cdu/outlets/2/on?wait=20", method: .post, headers: headers)
            #expect(on.envelope["result"]?["result"]?["state"] == "on", "\(on.text)")
            let after = try await client.execute(uri: "/v1/network-devices/cdu/outlets", method: .get, headers: headers)
            #expect(after.envelope["result"]?["outlets"]?.jsonText.contains(#"{"name":"server-c","number":3,"state":"off"}"#) == true, "\(after.text)")
            let missing = try await client.execute(uri: "/v1/network-devices/cdu/outlets/9/on", method: .post, headers: headers)
            #expect(missing.status == .notFound, "\(missing.text)")
        }
    }

    /// Raritan's first PDU-MIB reads and writes the same column (outletOperationalState), which snmpsim's writecache keeps.
    @Test func raritanOutletsThroughSnmpsim() async throws {
        let simulator = try await SNMPSimulator(devices: [
            "px1": [
                "1.3.6.1.2.1.1.5.0|4|px1.lab", "1.3.6.1.4.1.13742.4.1.2.2.1.2.1|4|db-1", "1.3.6.1.4.1.13742.4.1.2.2.1.2.2|4|db-2",
                "1.3.6.1.4.1.13742.4.1.2.2.1.3.1|2:writecache|value=1", "1.3.6.1.4.1.13742.4.1.2.2.1.3.2|2:writecache|value=0",
            ],
        ])
        defer { simulator.stop() }
        let agent = try await TestAgent { $0.snmp.timeoutSeconds = 1 }
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            let device: JSONValue = ["deviceType": "raritanDominionPduMib1", "name": "px1", "host": .string("127.0.0.1:\(simulator.port)"), "snmpCommunity": "px1"]
            #expect(try await client.execute(uri: "/v1/network-devices/px1", method: .put, headers: headers, body: Self.body(device)).status == .created)
            let outlets = try await client.execute(uri: "/v1/network-devices/px1/outlets", method: .get, headers: headers)
            #expect(outlets.envelope["result"]?["outlets"] == [["number": 1, "name": "db-1", "state": "on"], ["number": 2, "name": "db-2", "state": "off"]],
                    "\(outlets.text)")
            let off = try await client.execute(uri: "/v1/network-devices/px1/outlets/1/off?wait=20", method: .post, headers: headers)
            #expect(off.envelope["result"]?["result"]?["state"] == "off" && off.envelope["result"]?["result"]?["before"] == "on", "\(off.text)")
        }
    }
}
