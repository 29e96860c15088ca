import AgentCore
import Foundation
@testable import IPMI
import Testing

@Suite struct IPMIPolicyTests {
    @Test func tokenizesWithoutAShell() throws {
        #expect(try CustomCommandPolicy.tokenize("chassis status") == ["chassis", "status"])
        #expect(try CustomCommandPolicy.tokenize("  sdr   type 'Power Supply'  ") == ["sdr", "type", "Power Supply"])
        #expect(try CustomCommandPolicy.tokenize(#"user set name 5 """#) == ["user", "set", "name", "5", ""])
        #expect(try CustomCommandPolicy.tokenize("chassis status; reboot") == ["chassis", "status;", "reboot"])
        #expect(throws: AgentError.self) { try CustomCommandPolicy.tokenize("chassis status\nuser list") }
        #expect(throws: AgentError.self) { try CustomCommandPolicy.tokenize("sdr type 'unterminated") }
    }

    @Test func allowList() throws {
        let policy = CustomCommandPolicy(allowRaw: false)
        for allowed in ["chassis status", "sdr list", "sel elist", "fru print", "lan print 1", "mc info", "user list 1", "channel info", "sol info 1", "power status", "sensor list"] {
            #expect(throws: Never.self, "\(allowed)") { _ = try policy.check(allowed) }
        }
        for refused in ["raw 0x06 0x01", "shell", "exec /etc/passwd", "sdr dump /tmp/x", "fru write 0 /tmp/x", "sol activate", "chassis -H 10.0.0.1 status", "sel save /tmp/x", "", "bogus"] {
            #expect(throws: (any Error).self, "\(refused)") { _ = try policy.check(refused) }
        }
        #expect(try CustomCommandPolicy(allowRaw: true).check("raw 0x06 0x01") == ["raw", "0x06", "0x01"])
    }

    @Test func channelAccessSettingsTokenByToken() throws {
        #expect(try ChannelAccessSettings(parsing: "ipmi=off callin=off link=off privilege=3", field: "f").tokens == ["ipmi=off", "callin=off", "link=off", "privilege=3"])
        for bad in ["ipmi=maybe", "privilege=7", "reboot=now", "ipmi", "ipmi=on ipmi=off", "", "ipmi=on\nlink=on", "privilege=3;reboot"] {
            #expect(throws: AgentError.self, "\(bad)") { _ = try ChannelAccessSettings(parsing: bad, field: "f") }
        }
    }

    @Test func passwordSizes() throws {
        #expect(try BMCUserManager.passwordSize(Secret("sixteen-bytes-16"), field: "p") == "16")
        #expect(try BMCUserManager.passwordSize(Secret("seventeen-bytes17"), field: "p") == "20")
        #expect(try BMCUserManager.passwordSize(Secret("twenty-bytes-long-20"), field: "p") == "20")
        #expect(throws: AgentError.self) { _ = try BMCUserManager.passwordSize(Secret("twenty-one-bytes-long"), field: "p") }
        #expect(throws: AgentError.self) { _ = try BMCUserManager.passwordSize(Secret(""), field: "p") }
    }

    @Test func errorClassification() {
        let bmc = "10.0.0.5:623"
        #expect(IPMIErrorClassifier.classify("> RAKP 2 HMAC is invalid\nError: Unable to establish IPMI v2 / RMCP+ session", bmc: bmc)
            == .authenticationFailed(bmc: bmc, detail: "> RAKP 2 HMAC is invalid"))
        #expect(IPMIErrorClassifier.classify("RAKP 2 message indicates an error : unauthorized name\nError: Unable to establish IPMI v2 / RMCP+ session", bmc: bmc).agentError.code == "auth_failed")
        #expect(IPMIErrorClassifier.classify("Get Auth Capabilities error\nError issuing Get Channel Authentication Capabilities request\nError: Unable to establish IPMI v2 / RMCP+ session", bmc: bmc).agentError.code == "bmc_unreachable")
        #expect(IPMIErrorClassifier.classify("Invalid chassis command: bogus", bmc: bmc).agentError.code == "unsupported_command")
        #expect(IPMIErrorClassifier.classify("Given Privilege Limit '9' is invalid.", bmc: bmc).agentError.code == "invalid_parameter")
        #expect(IPMIErrorClassifier.classify("Set Chassis Power Control to Cycle failed: Node busy", bmc: bmc).agentError.code == "bmc_busy")
        #expect(IPMIErrorClassifier.classify("something odd", bmc: bmc).agentError.code == "bmc_error")
        // A session that was up: the command went out and its answer never came, so it may have been carried out.
        let lost = IPMIErrorClassifier.classify("No response from remote controller\nUnable to set Chassis Power Control to Cycle", bmc: bmc)
        #expect(lost.agentError.code == "bmc_no_answer" && lost.deviceEffect == .unknown)
        #expect(IPMIErrorClassifier.classify("Invalid session ID in request\nUnable to set Chassis Power Control to Up/On", bmc: bmc).deviceEffect == .unknown)
        // The same phrase during the session set-up: nothing was sent.
        let setUp = IPMIErrorClassifier.classify("No response from remote controller\nError: Unable to establish LAN session", bmc: bmc)
        #expect(setUp.agentError.code == "bmc_unreachable" && setUp.deviceEffect == .untouched)
        #expect(IPMIError.unreachable(bmc: bmc, detail: "x").agentError.status == .gatewayTimeout)
        #expect(IPMIError.authenticationFailed(bmc: bmc, detail: "x").agentError.status == .badGateway)
    }

    @Test func commandLineKeepsThePasswordOut() throws {
        let connection = IPMIConnection(host: "10.0.0.5", username: "admin", password: Secret("hunter2"), timeoutSeconds: 8, retries: 1)
        let line = IPMICommandLine(connection: connection, defaults: IPMIConfiguration())
        let arguments = line.arguments(["chassis", "power", "status"])
        #expect(!arguments.joined(separator: " ").contains("hunter2"))
        #expect(arguments.contains("-E"))
        #expect(line.environment["IPMI_PASSWORD"] == "hunter2")
        #expect(arguments.suffix(3) == ["chassis", "power", "status"])
        #expect(line.perAttemptSeconds == 1)
    }

    /// A BMC that never answers must make ipmitool give up by itself (reported unreachable: it never got the
    /// command, so a fallback may act) before the agent's timeout kills it (reported timed out: it might have).
    @Test func ipmitoolGivesUpBeforeTheAgentKillsIt() {
        for timeout in [4.0, 10, 20, 60] {
            for retries in 0...5 {
                let connection = IPMIConnection(host: "10.0.0.5", username: "admin", password: Secret("x"), timeoutSeconds: timeout, retries: retries)
                let line = IPMICommandLine(connection: connection, defaults: IPMIConfiguration())
                let attempts = line.ipmitoolRetries
                #expect(attempts >= 1, "ipmitool reads -R 0 as its own default")
                let givesUpAfter = Double(line.perAttemptSeconds * attempts * (attempts + 1))
                #expect(givesUpAfter < timeout || line.perAttemptSeconds == 1, "timeout \(timeout) retries \(retries): gives up after \(givesUpAfter) s")
                let arguments = line.arguments(["chassis", "power", "status"])
                #expect(arguments[arguments.firstIndex(of: "-R")! + 1] == String(attempts))
            }
        }
    }

    /// A serial console rides out a stalled BMC (at least `-N 3 -R 2`) and a connection's larger settings are kept.
    @Test func serialConsolesUseAtLeastTwoAttemptsOfThreeSeconds() {
        let defaults = IPMIConfiguration()
        for (timeout, retries, expected) in [(nil, nil, ("3", "2")), (8.0, 0, ("3", "2")), (60.0, 4, ("3", "4")), (120.0, 4, ("4", "4"))] as [(Double?, Int?, (String, String))] {
            let connection = IPMIConnection(host: "10.0.0.5", username: "admin", password: Secret("x"), timeoutSeconds: timeout, retries: retries)
            let line = IPMICommandLine.serialConsole(connection: connection, defaults: defaults)
            let arguments = line.arguments(["sol", "activate"])
            #expect(arguments[arguments.firstIndex(of: "-N")! + 1] == expected.0, "timeout \(String(describing: timeout))")
            #expect(arguments[arguments.firstIndex(of: "-R")! + 1] == expected.1, "retries \(String(describing: retries))")
            #expect(line.giveUpSeconds == Int(expected.0)! * Int(expected.1)! * (Int(expected.1)! + 1))
        }
    }

    @Test func connectionDecodingNamesTheField() throws {
        func decode(_ json: String) throws -> IPMIConnection {
            try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)).decode(as: IPMIConnection.self, at: "connection.meta")
        }
        let connection = try decode(#"{"ip": "10.10.10.101", "username": "ADMIN", "password": "ADMIN", "javaVersion": "auto", "bmcPort": "623"}"#)
        #expect(connection.port == 623)
        #expect(connection.interface == .lanplus)
        #expect(connection.cipherSuite == 3)
        for (json, field) in [
            (#"{"ip": "10.0.0.1;reboot", "username": "a", "password": "b"}"#, "connection.meta.ip"),
            (#"{"ip": "10.0.0.1", "password": "b"}"#, "connection.meta.username"),
            (#"{"ip": "10.0.0.1", "username": "a", "password": "b", "bmcPort": "99999"}"#, "connection.meta.bmcPort"),
            (#"{"ip": "10.0.0.1", "username": "a", "password": "b", "interface": "serial"}"#, "connection.meta.interface"),
            (#"{"ip": "10.0.0.1", "username": "a", "password": "012345678901234567890"}"#, "connection.meta.password"),
        ] {
            do {
                _ = try decode(json)
                Issue.record("accepted \(json)")
            } catch let error as AgentError {
                #expect(error.details["field"] == .string(field), "\(json): \(error)")
                #expect(error.status == .badRequest)
            }
        }
    }
}
