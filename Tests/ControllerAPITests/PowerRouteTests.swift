import AgentCore
import ControllerAPI
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PeerHarness
import Testing

/// A request the API must refuse, and how.
struct BadCase: Sendable {
    let uri: String
    let body: JSONValue
    let status: HTTPResponse.Status
    let code: String
    let field: String?

    init(_ uri: String, _ body: JSONValue, _ status: HTTPResponse.Status, _ code: String, _ field: String?) {
        self.uri = uri
        self.body = body
        self.status = status
        self.code = code
        self.field = field
    }
}

@Suite(.serialized) struct PowerRouteTests {
    static func agent() async throws -> TestAgent {
        try await TestAgent {
            $0.ipmi.minimumGapSeconds = 0.02
            $0.ipmi.verifyDeadlineSeconds = 10
        }
    }

    static func body(_ value: JSONValue) -> ByteBuffer { ByteBuffer(string: value.jsonText) }

    @Test func powerMethodsThroughTheAPI() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let agent = try await Self.agent()
        defer { agent.remove() }
        let headers = agent.authorization
        let connection = simulator.connection()
        try await agent.withRouter { client in
            let status = try await client.execute(uri: "/v1/power/getPowerStatus", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(status.envelope == ["result": "offline", "message": "success"])

            let on = try await client.execute(
                uri: "/v1/power/setPowerOn?wait=30", method: .post, headers: headers, body: Self.body(["connection": connection, "serverId": 61]))
            #expect(on.status == .ok)
            #expect(on.envelope["result"]?["state"] == "succeeded")
            #expect(on.envelope["result"]?["result"]?["result"] == "executed")
            #expect(on.envelope["result"]?["result"]?["powerState"] == "online")
            #expect(on.envelope["result"]?["result"]?["verified"] == true)
            #expect(simulator.powerState == "1")

            let boot = try await client.execute(
                uri: "/v1/power/setBootType?wait=30", method: .post, headers: headers, body: Self.body(["connection": connection, "params": "pxe"]))
            #expect(boot.envelope["result"]?["result"]?["stored"]?["device"] == "pxe")

            let custom = try await client.execute(
                uri: "/v1/power/executeCustomCommand?wait=30", method: .post, headers: headers,
                body: Self.body(["connection": connection, "params": "chassis status"]))
            #expect(custom.envelope["result"]?["result"]?.stringValue?.contains("System Power         : on") == true)

            let queued = try await client.execute(uri: "/v1/power/setPowerOff", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(queued.status == .accepted)
            let jobId = try #require(queued.envelope["result"]?["jobId"]?.stringValue)
            let finished = try await agent.runtime.jobs.waitForEnd(jobId: jobId)
            #expect(finished.state == .succeeded)
            #expect(simulator.powerState == "0")

            // The action log has the seed's description.
            let log = try await client.execute(uri: "/v1/logs", method: .get, headers: headers)
            guard case .array(let rows) = log.envelope["result"] else {
                Issue.record("no log")
                return
            }
            #expect(rows.contains { $0["description"] == "Executed Power Action setPowerOn" && $0["rootType"] == "serverPower" && $0["rootId"] == "61" })
            #expect(!log.text.contains(IPMISimulator.adminPassword))

            let test = try await client.execute(uri: "/v1/connections/test", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(test.envelope["result"] == "online")
            let actions = try await client.execute(uri: "/v1/connections/supported-actions", method: .post, headers: headers, body: Self.body(["connection": connection]))
            guard case .array(let names) = actions.envelope["result"]?["powerActions"] else {
                Issue.record("no actions")
                return
            }
            #expect(names.contains("setBootType"))
        }
    }

    @Test func badRequestsAreRefusedBeforeAnyJob() async throws {
        let agent = try await Self.agent()
        defer { agent.remove() }
        let headers = agent.authorization
        let good: JSONValue = ["type": "ipmi", "meta": ["ip": "127.0.0.1", "username": "admin", "password": "x", "bmcPort": "623"]]
        var cases: [BadCase] = []
        cases.append(BadCase("/v1/power/setPowerOn", ["connection": ["type": "ipmi", "meta": ["ip": "10.0.0.1\nreboot", "username": "a", "password": "b"]]], .badRequest, "invalid_field", "connection.meta.ip"))
        cases.append(BadCase("/v1/power/setPowerOn", ["connection": ["type": "ipmi", "meta": ["ip": "10.0.0.1", "password": "b"]]], .badRequest, "missing_field", "connection.meta.username"))
        cases.append(BadCase("/v1/power/setPowerOn", ["connection": ["type": "telnet", "meta": [:]]], .badRequest, "invalid_field", "connection.type"))
        cases.append(BadCase("/v1/power/setPowerOn", [:], .badRequest, "missing_field", "connection"))
        cases.append(BadCase("/v1/power/reboot", ["connection": good], .badRequest, "invalid_field", "serverPowerMethod"))
        cases.append(BadCase("/v1/power/setBootType", ["connection": good, "params": "floppy"], .badRequest, "invalid_field", "params"))
        cases.append(BadCase("/v1/power/setBmcReset", ["connection": good, "params": "lukewarm"], .badRequest, "invalid_field", "params"))
        cases.append(BadCase("/v1/power/executeCustomCommand", ["connection": good, "params": "raw 0x06 0x01"], .badRequest, "command_not_allowed", "params"))
        cases.append(BadCase("/v1/power/executeCustomCommand", ["connection": good, "params": "chassis status\nuser list"], .badRequest, "invalid_field", "params"))
        cases.append(BadCase("/v1/power/setPowerOn", ["connection": good, "noFailover": "maybe"], .badRequest, "invalid_field", "noFailover"))
        cases.append(BadCase("/v1/bmc/users/channelSetAccess", ["connection": good, "slot": 3, "accessSettings": "ipmi=on reboot=now"], .badRequest, "invalid_field", "accessSettings"))
        cases.append(BadCase("/v1/bmc/users/createUserWithPasswordAndPrivilege", ["connection": good, "username": "x"], .badRequest, "missing_field", "password"))
        cases.append(BadCase("/v1/bmc/users/dropUser", ["connection": good], .badRequest, "invalid_field", "op"))
        cases.append(BadCase("/v1/bmc/sensors", ["connection": ["type": "ionos", "meta": [:]]], .unprocessableContent, "unsupported", nil))
        let badCases = cases
        try await agent.withRouter { client in
            for badCase in badCases {
                let (uri, body, status, code, field) = (badCase.uri, badCase.body, badCase.status, badCase.code, badCase.field)
                let response = try await client.execute(uri: uri, method: .post, headers: headers, body: Self.body(body))
                #expect(response.status == status, "\(uri) \(response.text)")
                #expect(response.envelope["error"]?["code"] == .string(code), "\(uri) \(response.text)")
                if let field { #expect(response.envelope["error"]?["details"]?["field"] == .string(field), "\(uri) \(response.text)") }
            }
        }
        #expect(try await agent.runtime.jobs.jobs(state: nil, limit: 10).isEmpty)
    }

    @Test func unreachableBMCIs504NamingIt() async throws {
        let agent = try await TestAgent { $0.ipmi.commandTimeoutSeconds = 3 }
        defer { agent.remove() }
        let port = FreePort.udp()
        try await agent.withRouter { client in
            let response = try await client.execute(
                uri: "/v1/power/getPowerStatus", method: .post, headers: agent.authorization,
                body: Self.body(["connection": ["type": "ipmi", "meta": ["ip": "127.0.0.1", "username": "a", "password": "secretpw", "bmcPort": .string(String(port))]]]))
            #expect(response.status == .gatewayTimeout)
            #expect(response.envelope["error"]?["code"] == "bmc_unreachable")
            #expect(response.text.contains("127.0.0.1:\(port)"))
            #expect(!response.text.contains("secretpw"))
        }
    }

    @Test func bmcUsersThroughTheAPI() async throws {
        let simulator = try await IPMISimulator()
        defer { simulator.stop() }
        let agent = try await Self.agent()
        defer { agent.remove() }
        let headers = agent.authorization
        let connection = simulator.connection()
        try await agent.withRouter { client in
            let created = try await client.execute(
                uri: "/v1/bmc/users/createUserWithPasswordAndPrivilege?wait=30", method: .post, headers: headers,
                body: Self.body([
                    "connection": connection, "username": "tos_61_8", "password": "aspernatur1", "privilege": 3,
                    "channelAccessSettings": "ipmi=on callin=off link=off privilege=3", "dontFailIfUserExists": false,
                    "dontFailIfPasswordChangeFailed": false, "dontChangePasswordIfUserExists": true,
                ]))
            #expect(created.envelope["result"]?["state"] == "succeeded", "\(created.text)")
            #expect(created.envelope["result"]?["result"]?["slot"] == 3)
            let list = try await client.execute(uri: "/v1/bmc/users/listUsers", method: .post, headers: headers, body: Self.body(["connection": connection]))
            guard case .array(let users) = list.envelope["result"] else {
                Issue.record("no users")
                return
            }
            let user = try #require(users.first { $0["name"] == "tos_61_8" })
            #expect(user == ["id": 3, "name": "tos_61_8", "callin": user["callin"]!, "linkAuth": user["linkAuth"]!, "ipmiMsg": true, "privilegeName": "OPERATOR", "privilegeId": 3])

            // updateUser with the seed's own example (on slot 3: slot 1 is the BMC's reserved user), read back from the BMC.
            let seedUpdate = try await client.execute(
                uri: "/v1/bmc/users/updateUser?wait=30", method: .post, headers: headers,
                body: Self.body(["connection": connection, "slot": 3, "username": "libero", "password": "voluptatem", "privilege": 3,
                                 "channelAccessSettings": "ipmi=off callin=off link=off privilege=3"]))
            #expect(seedUpdate.envelope["result"]?["state"] == "succeeded", "\(seedUpdate.text)")
            let renamed = try await client.execute(uri: "/v1/bmc/users/listUsers", method: .post, headers: headers, body: Self.body(["connection": connection]))
            guard case .array(let afterUpdate) = renamed.envelope["result"] else { Issue.record("no users: \(renamed.text)"); return }
            let updated = try #require(afterUpdate.first { $0["id"] == 3 }, "\(renamed.text)")
            #expect(updated["name"] == "libero" && updated["privilegeId"] == 3, "\(updated.jsonText)")
            // ipmi_sim accepts `channel setaccess` and ignores its ipmi/link/callin bits: the answer says so (read back)
            // instead of claiming them.
            #expect(seedUpdate.envelope["result"]?["result"]?["accessVerified"] == false, "\(seedUpdate.text)")
            #expect(seedUpdate.envelope["result"]?["result"]?["accessNotApplied"] == ["ipmi=off", "callin=off", "link=off"], "\(seedUpdate.text)")
            #expect(updated["ipmiMsg"] == true, "the BMC still shows IPMI messaging on: \(updated.jsonText)")
            #expect(!afterUpdate.contains { $0["name"] == "tos_61_8" })
            // IPMI messaging back on with ADMINISTRATOR and a new password: the BMC takes a login with it, not with the old one.
            let reopened = try await client.execute(
                uri: "/v1/bmc/users/updateUser?wait=30", method: .post, headers: headers,
                body: Self.body(["connection": connection, "slot": 3, "password": "n3w-Secret-9", "privilege": 4,
                                 "channelAccessSettings": "ipmi=on callin=on link=off privilege=4"]))
            #expect(reopened.envelope["result"]?["state"] == "succeeded", "\(reopened.text)")
            #expect(await simulator.canLogIn(user: "libero", password: "n3w-Secret-9"))
            #expect(await !simulator.canLogIn(user: "libero", password: "voluptatem"))
            let badSlot = try await client.execute(
                uri: "/v1/bmc/users/updateUser", method: .post, headers: headers,
                body: Self.body(["connection": connection, "slot": 99, "privilege": 3]))
            #expect(badSlot.envelope["error"]?["details"]?["field"] == "slot", "\(badSlot.text)")
            let renameBack = try await client.execute(
                uri: "/v1/bmc/users/updateUser?wait=30", method: .post, headers: headers,
                body: Self.body(["connection": connection, "slot": 3, "username": "tos_61_8", "privilege": 3]))
            #expect(renameBack.envelope["result"]?["state"] == "succeeded", "\(renameBack.text)")
            // No access change asked for, none read back, none claimed.
            #expect(renameBack.envelope["result"]?["result"]?["accessVerified"] == nil, "\(renameBack.text)")
            let disabled = try await client.execute(
                uri: "/v1/bmc/users/disableUser?wait=30", method: .post, headers: headers,
                body: Self.body(["connection": connection, "username": "tos_61_8", "withoutSlotCheck": false]))
            #expect(disabled.envelope["result"]?["state"] == "succeeded")
            let privilege = try await client.execute(
                uri: "/v1/bmc/users/setUserPrivilege?wait=30", method: .post, headers: headers,
                body: Self.body(["connection": connection, "slot": 3, "privilege": "4", "withoutSlotCheck": true]))
            #expect(privilege.envelope["result"]?["result"]?["privilegeId"] == 4)
            let deleted = try await client.execute(
                uri: "/v1/bmc/users/deleteUser?wait=30", method: .post, headers: headers, body: Self.body(["connection": connection, "slot": 3]))
            #expect(deleted.envelope["result"]?["state"] == "succeeded")
            let fru = try await client.execute(uri: "/v1/bmc/fru", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(fru.envelope["result"] == [])
            let lan = try await client.execute(uri: "/v1/bmc/lan", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(lan.status == .ok)
            let sel = try await client.execute(uri: "/v1/bmc/sel", method: .post, headers: headers, body: Self.body(["connection": connection, "action": "list"]))
            #expect(sel.envelope["result"] == [])
        }
    }
}
