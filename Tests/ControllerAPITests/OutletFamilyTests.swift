import AgentCore
import ControllerAPI
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PeerHarness
import Testing

/// One outlet family behind snmpd, as a deviceType of the seed registers it, and the readings the emulator's raw
/// values mean in the agent's units (from each MIB's UNITS and DESCRIPTION).
struct OutletFamilyCase: Sendable, CustomTestStringConvertible {
    var deviceType: String
    /// The emulator's family (Emulators/outlet_agent.py).
    var emulator: String
    /// The start of the family name the agent reports.
    var familyName: String
    var outletMeters: [String: Double]
    var load: [String: Double]

    var testDescription: String { "\(deviceType) (\(emulator))" }

    static let all: [OutletFamilyCase] = [
        .init(deviceType: "apc", emulator: "apc-rpdu2", familyName: "APC PowerNet-MIB rPDU2",
              outletMeters: ["currentAmps": 1.2, "powerWatts": 230, "energyKWh": 15.5], load: ["currentAmps": 4.8, "powerWatts": 1100, "energyKWh": 321.5]),
        .init(deviceType: "apc", emulator: "apc-rpdu", familyName: "APC PowerNet-MIB rPDU", outletMeters: ["currentAmps": 1.2],
              load: ["currentAmps": 4.8, "powerWatts": 1100]),
        .init(deviceType: "apc", emulator: "apc-spdu", familyName: "APC PowerNet-MIB sPDU", outletMeters: [:], load: ["currentAmps": 4.8]),
        .init(deviceType: "apcCpdu", emulator: "apc-cpdu", familyName: "APC CPDU-MIB",
              outletMeters: ["currentAmps": 1.2, "powerWatts": 230, "energyKWh": 15.5], load: ["powerWatts": 1100, "energyKWh": 321.5]),
        .init(deviceType: "dellrPdu", emulator: "dell", familyName: "Dell DellrPDU-MIB",
              outletMeters: ["currentAmps": 1, "powerWatts": 230, "energyKWh": 15], load: ["currentAmps": 4.8, "powerWatts": 1100, "energyKWh": 321.5]),
        .init(deviceType: "cyberpowerEpdu2", emulator: "cyberpower-epdu2", familyName: "CyberPower CPS-MIB ePDU2",
              outletMeters: ["currentAmps": 1.2, "powerWatts": 230, "energyKWh": 15.5], load: ["currentAmps": 4.8, "powerWatts": 1100, "energyKWh": 321.5]),
        .init(deviceType: "enlogicv1", emulator: "enlogic", familyName: "Enlogic",
              outletMeters: ["currentAmps": 1.2, "powerWatts": 230, "energyKWh": 15.5], load: ["currentAmps": 4.8, "powerWatts": 1100, "energyKWh": 321.5]),
        .init(deviceType: "geistV5", emulator: "geist-v5", familyName: "Vertiv/Geist VERTIV-V5-MIB",
              outletMeters: ["currentAmps": 1.2, "powerWatts": 230, "energyKWh": 15.5], load: ["currentAmps": 4.8, "powerWatts": 1100, "energyKWh": 321.5]),
        .init(deviceType: "ipoman", emulator: "ipoman", familyName: "Ingrasys IPOMANII-MIB", outletMeters: ["currentAmps": 1.2, "energyKWh": 15.5],
              load: ["currentAmps": 4.8]),
        .init(deviceType: "raritanDominionPduMib1", emulator: "raritan-pdu1", familyName: "Raritan PDU-MIB (PX1)",
              outletMeters: ["currentAmps": 1.2, "powerWatts": 230, "energyKWh": 15.5], load: ["currentAmps": 4.8, "powerWatts": 1100, "energyKWh": 321.5]),
        .init(deviceType: "raritanDominionPduMib1", emulator: "raritan-pdu2", familyName: "Raritan PDU2-MIB",
              outletMeters: ["currentAmps": 1.2, "powerWatts": 230, "energyKWh": 15.5], load: ["currentAmps": 4.8, "powerWatts": 1100, "energyKWh": 321.5]),
        .init(deviceType: "sentry3", emulator: "sentry3", familyName: "ServerTech Sentry3-MIB", outletMeters: ["currentAmps": 1.2], load: [:]),
        .init(deviceType: "sentry4", emulator: "sentry4", familyName: "ServerTech Sentry4-MIB", outletMeters: ["currentAmps": 1.2, "powerWatts": 230],
              load: [:]),
        .init(deviceType: "racktivityEnergySwitch", emulator: "racktivity", familyName: "Racktivity",
              outletMeters: ["currentAmps": 1.2, "powerWatts": 230, "energyKWh": 15.5], load: [:]),
        .init(deviceType: "racktivityPowerManager", emulator: "racktivity", familyName: "Racktivity",
              outletMeters: ["currentAmps": 1.2, "powerWatts": 230, "energyKWh": 15.5], load: [:]),
    ]
}

/// Every outlet-capable deviceType of the seed against a PDU that behaves (switches, with a transition state for
/// one read), one whose relay never moves, and a read-only community: list, off, on, cycle with read-back, the PDU
/// as a power connection and as the fallback of a BMC that does not answer.
@Suite(.serialized) struct OutletFamilyTests {
    static func body(_ value: JSONValue) -> ByteBuffer { ByteBuffer(string: value.jsonText) }

    static func agent() async throws -> TestAgent {
        try await TestAgent {
            $0.snmp.timeoutSeconds = 2
            $0.snmp.outletCycleDelaySeconds = 0.3
            $0.snmp.outletVerifySeconds = 2
            $0.ipmi.commandTimeoutSeconds = 4
            $0.ipmi.retries = 0
        }
    }

    static func device(_ family: OutletFamilyCase, port: Int, writeCommunity: String = "private") -> JSONValue {
        ["deviceType": .string(family.deviceType), "name": "pdu", "host": .string("127.0.0.1:\(port)"), "snmpCommunity": "public",
         "snmpWriteCommunity": .string(writeCommunity), "snmpVersion": "2c"]
    }

    static func states(_ listing: JSONValue) -> [String] {
        guard case .array(let outlets)? = listing["result"]?["outlets"] else { return [] }
        return outlets.map { $0["state"]?.stringValue ?? "?" }
    }

    @Test(arguments: OutletFamilyCase.all) func switchesAndMetersWithReadBack(family: OutletFamilyCase) async throws {
        let daemon = try await SNMPDaemon.withOutlets(family.emulator)
        defer { daemon.stop() }
        let agent = try await Self.agent()
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            let put = try await client.execute(uri: "/v1/network-devices/pdu", method: .put, headers: headers,
                                               body: Self.body(Self.device(family, port: daemon.port)))
            #expect(put.status == .created, "\(put.text)")
            let listing = try await client.execute(uri: "/v1/network-devices/pdu/outlets", method: .get, headers: headers)
            let result = listing.envelope["result"]
            #expect(result?["family"]?.stringValue?.hasPrefix(family.familyName) == true, "\(listing.text)")
            guard case .array(let outlets)? = result?["outlets"] else {
                Issue.record("no outlets: \(listing.text)")
                return
            }
            // Filler rows (number 0) are not outlets; names and states as the PDU holds them.
            #expect(outlets.map { $0["number"]?.intValue ?? 0 } == [1, 2, 3, 4], "\(listing.text)")
            #expect(outlets.map { $0["name"]?.stringValue ?? "" } == ["server-a", "server-b", "server-c", "server-d"], "\(listing.text)")
            #expect(Self.states(listing.envelope) == ["on", "off", "on", "on"], "\(listing.text)")
            for quantity in ["currentAmps", "powerWatts", "energyKWh"] {
                #expect(outlets[0][quantity]?.doubleValue == family.outletMeters[quantity], "outlet 1 \(quantity): \(listing.text)")
                #expect(outlets[1][quantity] == nil, "outlet 2 has no \(quantity) reading: \(listing.text)")
                #expect(result?["load"]?[quantity]?.doubleValue == family.load[quantity], "load \(quantity): \(listing.text)")
            }

            let off = try await client.execute(uri: "/v1/network-devices/pdu/outlets/3/off?wait=20", method: .post, headers: headers)
            #expect(off.envelope["result"]?["result"]?["before"] == "on" && off.envelope["result"]?["result"]?["state"] == "off", "\(off.text)")
            #expect(off.envelope["result"]?["result"]?["verified"] == true, "\(off.text)")
            let on = try await client.execute(uri: "/v1/network-devices/pdu/outlets/2/on?wait=20", method: .post, headers: headers)
            #expect(on.envelope["result"]?["result"]?["before"] == "off" && on.envelope["result"]?["result"]?["state"] == "on", "\(on.text)")
            let cycle = try await client.execute(uri: "/v1/network-devices/pdu/outlets/4/cycle?wait=20", method: .post, headers: headers)
            #expect(cycle.envelope["result"]?["result"]?["steps"] == ["off verified", "on verified"], "\(cycle.text)")
            let after = try await client.execute(uri: "/v1/network-devices/pdu/outlets", method: .get, headers: headers)
            #expect(Self.states(after.envelope) == ["on", "on", "off", "on"], "\(after.text)")

            // The PDU as a power connection, and as the fallback of a BMC that never answers.
            let connection: JSONValue = ["type": "pdu", "meta": ["deviceId": "pdu", "outlet": "2,3"]]
            let powerOff = try await client.execute(uri: "/v1/power/setPowerOff?wait=20", method: .post, headers: headers,
                                                    body: Self.body(["connection": connection]))
            #expect(powerOff.envelope["result"]?["result"]?["powerState"] == "offline", "\(powerOff.text)")
            let status = try await client.execute(uri: "/v1/power/getPowerStatus", method: .post, headers: headers, body: Self.body(["connection": connection]))
            #expect(status.envelope["result"] == "offline", "\(status.text)")
            let deadBMC: JSONValue = ["type": "ipmi", "meta": ["ip": "127.0.0.1", "bmcPort": .integer(Int64(FreePort.udp())), "username": "ADMIN",
                                                               "password": "ADMIN"]]
            let failover = try await client.execute(uri: "/v1/power/setPowerOn?wait=30", method: .post, headers: headers,
                                                    body: Self.body(["connection": deadBMC, "fallback": connection]))
            #expect(failover.envelope["result"]?["result"]?["via"] == "pdu", "\(failover.text)")
            #expect(failover.envelope["result"]?["result"]?["result"]?["powerState"] == "online", "\(failover.text)")
            let final = try await client.execute(uri: "/v1/network-devices/pdu/outlets", method: .get, headers: headers)
            #expect(Self.states(final.envelope) == ["on", "on", "on", "on"], "\(final.text)")
        }
    }
}

/// The failure half of the outlet families, its own serialized suite so that it runs beside the switching half
/// rather than after it (each suite alone keeps the burst of snmpd processes small on two cores).
@Suite(.serialized) struct OutletFamilyFailureTests {
    /// A community that may only read: snmpd refuses the SET, the job fails with pdu_rejected and the outlet is as it was.
    /// A relay that never moves: the SET is accepted, the state never changes, and the job fails with verify_timeout
    /// saying what the PDU still reads.
    @Test(arguments: OutletFamilyCase.all) func refusedAndStuckSwitchesFail(family: OutletFamilyCase) async throws {
        let daemon = try await SNMPDaemon.withOutlets(family.emulator)
        defer { daemon.stop() }
        let stuck = try await SNMPDaemon.withOutlets(family.emulator, mode: .stuck)
        defer { stuck.stop() }
        let agent = try await OutletFamilyTests.agent()
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            let readOnly = try await client.execute(uri: "/v1/network-devices/pdu", method: .put, headers: headers,
                                                    body: OutletFamilyTests.body(OutletFamilyTests.device(family, port: daemon.port, writeCommunity: "public")))
            #expect(readOnly.status == .created, "\(readOnly.text)")
            let refused = try await client.execute(uri: "/v1/network-devices/pdu/outlets/1/off?wait=20", method: .post, headers: headers)
            #expect(refused.envelope["result"]?["state"] == "failed", "\(refused.text)")
            #expect(refused.envelope["result"]?["error"]?["code"] == "pdu_rejected", "\(refused.text)")
            #expect(refused.envelope["result"]?["error"]?["details"]?["deviceEffect"] == "untouched", "\(refused.text)")
            let unchanged = try await client.execute(uri: "/v1/network-devices/pdu/outlets", method: .get, headers: headers)
            #expect(OutletFamilyTests.states(unchanged.envelope) == ["on", "off", "on", "on"], "\(unchanged.text)")

            let put = try await client.execute(uri: "/v1/network-devices/pdu", method: .put, headers: headers,
                                               body: OutletFamilyTests.body(OutletFamilyTests.device(family, port: stuck.port)))
            #expect(put.status == .ok || put.status == .created, "\(put.text)")
            let ignored = try await client.execute(uri: "/v1/network-devices/pdu/outlets/2/on?wait=20", method: .post, headers: headers)
            #expect(ignored.envelope["result"]?["state"] == "failed", "\(ignored.text)")
            #expect(ignored.envelope["result"]?["error"]?["code"] == "verify_timeout", "\(ignored.text)")
            #expect(ignored.envelope["result"]?["error"]?["details"]?["actual"] == "off", "\(ignored.text)")
            #expect(ignored.envelope["result"]?["error"]?["details"]?["deviceEffect"] == "accepted", "\(ignored.text)")
        }
    }
}
