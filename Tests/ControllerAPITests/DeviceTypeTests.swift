import AgentCore
import ControllerAPI
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PeerHarness
import Testing

/// The seed's device types that are not switched PDUs: a transfer switch, KVM and serial console switches, a
/// TELEJET resetter, the PDUs whose vendors publish no MIB; and the SNMP version a PDU registered without one gets.
@Suite struct DeviceTypeTests {
    static func body(_ value: JSONValue) -> ByteBuffer { ByteBuffer(string: value.jsonText) }

    /// CPS-MIB ATS objects, written from the MIB's own objects and enumerations: source B feeds the load although A is
    /// preferred (A is down), redundancy lost.
    static func transferSwitchRecords() async throws -> [String] {
        let mib = try await VendorMIB.resolve("CPS-MIB", [
            "atsStatusSelectedSource:sourceB", "atsConfigPreferredSource:sourceA", "atsStatusRedundancyState:atsRedundancyLost",
            "atsStatusInputName", "atsStatusInputVoltage", "atsStatusInputVolState:underVoltage", "atsStatusInputVolState:normal",
            "atsLoadStatusPhaseLoad", "atsLoadStatusPhasePower",
        ])
        func oid(_ name: String) -> String { mib[name]!.oid }
        func value(_ name: String) -> Int { mib[name]!.value! }
        return [
            "1.3.6.1.2.1.1.1.0|4|CyberPower ATS PDU30SWHVT19ATNET", "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.3808.1.1.5", "1.3.6.1.2.1.1.5.0|4|ats-r12",
            "\(oid("atsStatusSelectedSource:sourceB")).0|2|\(value("atsStatusSelectedSource:sourceB"))",
            "\(oid("atsConfigPreferredSource:sourceA")).0|2|\(value("atsConfigPreferredSource:sourceA"))",
            "\(oid("atsStatusRedundancyState:atsRedundancyLost")).0|2|\(value("atsStatusRedundancyState:atsRedundancyLost"))",
            "\(oid("atsStatusInputName")).1|4|Feed A", "\(oid("atsStatusInputName")).2|4|Feed B",
            "\(oid("atsStatusInputVoltage")).1|2|0", "\(oid("atsStatusInputVoltage")).2|2|2301",
            "\(oid("atsStatusInputVolState:underVoltage")).1|2|\(value("atsStatusInputVolState:underVoltage"))",
            "\(oid("atsStatusInputVolState:normal")).2|2|\(value("atsStatusInputVolState:normal"))",
            "\(oid("atsLoadStatusPhaseLoad")).1|2|32", "\(oid("atsLoadStatusPhasePower")).1|2|700",
        ]
    }

    /// RemoteKVMDevice-MIB portDataTable rows, from the MIB's objects and enumerations.
    static func consolePortRecords() async throws -> [String] {
        let mib = try await VendorMIB.resolve("RemoteKVMDevice-MIB", [
            "portDataNumber", "portDataName", "portDataType", "portDataStatus:connected", "portDataStatus:available", "portDataStatus:inactive",
        ])
        func oid(_ name: String) -> String { mib[name]!.oid }
        let rows: [(number: Int, name: String, type: String, status: String)] = [
            (1, "web-01", "DCIM-USBG2", "portDataStatus:connected"), (2, "db-01", "DCIM-USBG2", "portDataStatus:available"),
            (16, "", "", "portDataStatus:inactive"),
        ]
        return ["1.3.6.1.2.1.1.1.0|4|Dominion KX III 3.6.0.5.2", "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.13742.3.2.9"]
            + rows.enumerated().flatMap { position, row -> [String] in
                let index = position + 1
                return [
                    "\(oid("portDataNumber")).\(index)|2|\(row.number)", "\(oid("portDataName")).\(index)|4|\(row.name)",
                    "\(oid("portDataType")).\(index)|4|\(row.type)", "\(oid(row.status)).\(index)|2|\(mib[row.status]!.value!)",
                ]
            }
    }

    @Test func transferSwitchReportsItsSourcesAndRefusesPower() async throws {
        let simulator = try await SNMPSimulator(devices: ["ats": try await Self.transferSwitchRecords()])
        defer { simulator.stop() }
        let agent = try await TestAgent { $0.snmp.timeoutSeconds = 2 }
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            let device: JSONValue = ["deviceType": "cyberpowerAts", "name": "ats", "host": .string("127.0.0.1:\(simulator.port)"), "snmpCommunity": "ats"]
            #expect(try await client.execute(uri: "/v1/network-devices/ats", method: .put, headers: headers, body: Self.body(device)).status == .created)
            let status = try await client.execute(uri: "/v1/network-devices/ats/ats", method: .get, headers: headers)
            let result = status.envelope["result"]
            #expect(result?["selectedSource"] == "B" && result?["preferredSource"] == "A" && result?["redundancy"] == "redundancyLost", "\(status.text)")
            #expect(result?["sources"] == [
                ["source": "A", "name": "Feed A", "voltage": 0, "voltageState": "underVoltage"],
                ["source": "B", "name": "Feed B", "voltage": 230.1, "voltageState": "normal"],
            ], "\(status.text)")
            #expect(result?["outputCurrentAmps"]?.doubleValue == 3.2 && result?["outputPowerWatts"]?.doubleValue == 700, "\(status.text)")

            let outlets = try await client.execute(uri: "/v1/network-devices/ats/outlets", method: .get, headers: headers)
            #expect(outlets.status == .unprocessableContent && outlets.envelope["result"]?.stringValue?.contains("/ats") == true, "\(outlets.text)")
            let power = try await client.execute(uri: "/v1/power/setPowerOff", method: .post, headers: headers,
                                                 body: Self.body(["connection": ["type": "pdu", "meta": ["deviceId": "ats", "outlet": 1]]]))
            #expect(power.status == .unprocessableContent, "\(power.text)")
            #expect(power.envelope["result"]?.stringValue?.contains("transfer switch has no outlets") == true, "\(power.text)")
            let ports = try await client.execute(uri: "/v1/network-devices/ats/console-ports", method: .get, headers: headers)
            #expect(ports.status == .unprocessableContent, "\(ports.text)")
        }
    }

    @Test(arguments: ["raritanDominionKXII", "raritanDominionKXIII", "raritanDominionSX"])
    func consoleSwitchListsItsPortsAndTargets(deviceType: String) async throws {
        let simulator = try await SNMPSimulator(devices: [
            "kvm": try await Self.consolePortRecords(),
            // Firmware from before 2016 has no portDataTable.
            "oldkvm": ["1.3.6.1.2.1.1.1.0|4|Dominion KX II 2.4.0", "1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.13742.3.2.2"],
        ])
        defer { simulator.stop() }
        let agent = try await TestAgent { $0.snmp.timeoutSeconds = 2 }
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            for (id, community) in [("kvm", "kvm"), ("oldkvm", "oldkvm")] {
                let device: JSONValue = ["deviceType": .string(deviceType), "name": .string(id), "host": .string("127.0.0.1:\(simulator.port)"),
                                         "snmpCommunity": .string(community)]
                let put = try await client.execute(uri: "/v1/network-devices/\(id)", method: .put, headers: headers, body: Self.body(device))
                #expect(put.status == .created, "\(put.text)")
            }
            let tested = try await client.execute(uri: "/v1/network-devices/kvm/test", method: .post, headers: headers, body: Self.body(["useCache": false]))
            #expect(tested.envelope["result"]?["content"]?["result"] == "Dominion KX III 3.6.0.5.2", "\(tested.text)")
            let ports = try await client.execute(uri: "/v1/network-devices/kvm/console-ports", method: .get, headers: headers)
            #expect(ports.envelope["result"]?["ports"] == [
                ["index": 1, "number": 1, "name": "web-01", "type": "DCIM-USBG2", "status": "connected"],
                ["index": 2, "number": 2, "name": "db-01", "type": "DCIM-USBG2", "status": "available"],
                ["index": 3, "number": 16, "name": "", "type": "", "status": "inactive"],
            ], "\(ports.text)")
            let old = try await client.execute(uri: "/v1/network-devices/oldkvm/console-ports", method: .get, headers: headers)
            #expect(old.status == .badGateway && old.envelope["error"]?["code"] == "console_ports_unavailable", "\(old.text)")
            let outlets = try await client.execute(uri: "/v1/network-devices/kvm/outlets", method: .get, headers: headers)
            #expect(outlets.status == .unprocessableContent && outlets.envelope["result"]?.stringValue?.contains("console-ports") == true,
                    "\(outlets.text)")
        }
    }

    /// Types whose vendor publishes no outlet MIB register and test like any SNMP device, and every outlet or power
    /// request says why it cannot be done and what to use instead.
    @Test func typesWithoutAPublishedMIBSayWhy() async throws {
        let daemon = try await SNMPDaemon()
        defer { daemon.stop() }
        let agent = try await TestAgent { $0.snmp.timeoutSeconds = 2 }
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            for deviceType in ["intertechSw", "intertechSm", "intertechSa", "azepdu"] {
                let device: JSONValue = ["deviceType": .string(deviceType), "name": "pdu", "host": .string("127.0.0.1:\(daemon.port)"),
                                         "snmpCommunity": "public", "snmpVersion": "2c"]
                let put = try await client.execute(uri: "/v1/network-devices/\(deviceType)", method: .put, headers: headers, body: Self.body(device))
                #expect(put.status == .created, "\(put.text)")
                let tested = try await client.execute(uri: "/v1/network-devices/\(deviceType)/test", method: .post, headers: headers,
                                                      body: Self.body(["useCache": false]))
                #expect(tested.envelope["result"]?["content"]?["success"] == 1, "\(deviceType): \(tested.text)")
                for (method, uri) in [(HTTPRequest.Method.get, "/v1/network-devices/\(deviceType)/outlets"),
                                      (.post, "/v1/network-devices/\(deviceType)/outlets/1/off")] {
                    let answer = try await client.execute(uri: uri, method: method, headers: headers)
                    #expect(answer.status == .unprocessableContent, "\(deviceType): \(answer.text)")
                    #expect(answer.envelope["result"]?.stringValue?.contains("publishes no SNMP MIB") == true, "\(deviceType): \(answer.text)")
                    #expect(answer.envelope["error"]?["details"]?["deviceType"] == .string(deviceType), "\(answer.text)")
                }
                let power = try await client.execute(uri: "/v1/power/getPowerStatus", method: .post, headers: headers,
                                                     body: Self.body(["connection": ["type": "pdu", "meta": ["deviceId": .string(deviceType), "outlet": 1]]]))
                #expect(power.status == .unprocessableContent && power.envelope["result"]?.stringValue?.contains("web interface") == true,
                        "\(power.text)")
            }
        }
    }

    /// TELEJET through a Digi One SP: the connectivity test connects and presents the device's credentials to its
    /// web server; a wrong password is named as such (and never shown), a closed port as unreachable.
    @Test func telejetConnectivityChecksTheWebLogin() async throws {
        let web = try await BasicAuthWebServer(username: "admin", password: "tj-Secret-42")
        defer { web.stop() }
        let agent = try await TestAgent { $0.snmp.timeoutSeconds = 2 }
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            func register(_ id: String, port: Int, password: String) async throws {
                let device: JSONValue = ["deviceType": "telejetDigiOne", "name": .string(id), "host": "127.0.0.1", "port": .integer(Int64(port)),
                                         "username": "admin", "password": .string(password)]
                let put = try await client.execute(uri: "/v1/network-devices/\(id)", method: .put, headers: headers, body: Self.body(device))
                #expect(put.status == .created, "\(put.text)")
            }
            try await register("tj", port: web.port, password: "tj-Secret-42")
            try await register("tj-wrong", port: web.port, password: "not-the-Password-7")
            try await register("tj-closed", port: FreePort.tcp(), password: "tj-Secret-42")
            let good = try await client.execute(uri: "/v1/network-devices/tj/test", method: .post, headers: headers, body: Self.body(["useCache": false]))
            #expect(good.envelope["result"]?["content"]?["success"] == 1, "\(good.text)")
            #expect(good.envelope["result"]?["content"]?["result"]?.stringValue?.contains("HTTP 200") == true, "\(good.text)")
            let wrong = try await client.execute(uri: "/v1/network-devices/tj-wrong/test", method: .post, headers: headers, body: Self.body(["useCache": false]))
            #expect(wrong.status == .ok && wrong.envelope["result"]?["content"]?["success"] == 0, "\(wrong.text)")
            #expect(wrong.envelope["result"]?["error"]?["code"] == "device_auth_failed", "\(wrong.text)")
            #expect(!wrong.text.contains("not-the-Password-7"), "\(wrong.text)")
            let closed = try await client.execute(uri: "/v1/network-devices/tj-closed/test", method: .post, headers: headers,
                                                  body: Self.body(["useCache": false]))
            #expect(closed.envelope["result"]?["content"]?["success"] == 0 && closed.envelope["result"]?["error"]?["code"] == "device_unreachable",
                    "\(closed.text)")
            let reset = try await client.execute(uri: "/v1/network-devices/tj/outlets/1/cycle", method: .post, headers: headers)
            #expect(reset.status == .unprocessableContent && reset.envelope["result"]?.stringValue?.contains("Digi One SP") == true,
                    "\(reset.text)")
        }
    }

    /// A PDU registered without snmpVersion: probed v2c, then v1; the version that answered is stored, shown and used.
    @Test func snmpVersionOfAPDUIsDetected() async throws {
        // "v1only" answers SNMPv1 and nothing else (snmpd drops v2c requests for it); "public" answers both.
        let daemon = try await SNMPDaemon(extraConfiguration: """
            com2sec v1reader default v1only
            group v1readers v1 v1reader
            view everything included .1
            access v1readers "" v1 noauth exact everything none none

            """)
        defer { daemon.stop() }
        let agent = try await TestAgent {
            $0.snmp.timeoutSeconds = 1
            $0.snmp.retries = 0
        }
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            for (id, community, expected) in [("old", "v1only", "1"), ("new", "public", "2c")] {
                // A registration cannot claim what the agent detects: the "1" sent here is ignored.
                let device: JSONValue = ["deviceType": "sentry3", "name": .string(id), "host": .string("127.0.0.1:\(daemon.port)"),
                                         "snmpCommunity": .string(community), "detectedSnmpVersion": "1", "snmpVersionDetected": "1"]
                let put = try await client.execute(uri: "/v1/network-devices/\(id)", method: .put, headers: headers, body: Self.body(device))
                #expect(put.status == .created, "\(put.text)")
                let tested = try await client.execute(uri: "/v1/network-devices/\(id)/test", method: .post, headers: headers,
                                                      body: Self.body(["useCache": false]))
                #expect(tested.envelope["result"]?["content"]?["success"] == 1, "\(id): \(tested.text)")
                let shown = try await client.execute(uri: "/v1/network-devices/\(id)", method: .get, headers: headers)
                #expect(shown.envelope["result"]?["snmpVersionDetected"] == .string(expected), "\(id): \(shown.text)")
                #expect(shown.envelope["result"]?["snmpVersion"] == nil || shown.envelope["result"]?["snmpVersion"] == .null, "\(shown.text)")
            }
        }
    }
}
