import AgentCore
import ControllerAPI
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PeerHarness
import Testing

/// A real PDU capture (Tests/Fixtures/snmprec) as snmpsim serves it, with the companion lines a test adds where the
/// capture lacks a column, and what the agent must list from it.
struct PDUCapture: Sendable, CustomTestStringConvertible {
    var capture: String
    var deviceType: String
    var familyName: String
    /// Rows the capture holds, as its name column lists them.
    var count: Int
    /// The first names, as the capture has them.
    var firstNames: [String]
    /// Outlet number → quantity → reading, from the capture's own meter columns.
    var meters: [Int: [String: Double]] = [:]
    var load: [String: Double] = [:]
    /// Where the capture has no state (or no outlets at all), the companion lines that add them, generated from the
    /// capture's own rows. "Made up" readings are never added: meters and load are the capture's.
    var companion: @Sendable ([String]) -> [String] = { _ in [] }
    /// The state and command column, when it is one column the test makes writable (writecache), so a switch can be
    /// read back from the simulator.
    var writableStateColumn: String?
    var states: [String: Int] = [:]

    var testDescription: String { capture }

    static func lines(_ capture: String) throws -> [String] {
        let path = PeerTools.repositoryRoot + "/Tests/Fixtures/snmprec/\(capture).snmprec"
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init).filter { !$0.isEmpty }
    }

    /// The instances (OID suffixes after `column`) of the capture's rows in a column.
    static func instances(_ lines: [String], column: String) -> [String] {
        lines.compactMap { line in
            guard let oid = line.split(separator: "|").first, oid.hasPrefix(column + ".") else { return nil }
            return String(oid.dropFirst(column.count + 1))
        }
    }

    /// One INTEGER per row of `rowsColumn`, in `column`.
    static func column(_ lines: [String], rows rowsColumn: String, column: String, value: @escaping (Int, String) -> String) -> [String] {
        instances(lines, column: rowsColumn).enumerated().map { position, instance in "\(column).\(instance)|\(value(position, instance))" }
    }

    static let all: [PDUCapture] = [
        PDUCapture(
            capture: "apc_ap7900b", deviceType: "apc", familyName: "APC PowerNet-MIB sPDU", count: 8,
            firstNames: ["NAS PSU", "opnSense PSU", "Switch PSU (L)", "Switch 2 PSU 1"],
            load: ["currentAmps": 2.8, "powerWatts": 312], writableStateColumn: "1.3.6.1.4.1.318.1.1.4.4.2.1.3", states: ["on": 8]),
        PDUCapture(
            capture: "apc_ap8959eu3", deviceType: "apc", familyName: "APC PowerNet-MIB sPDU", count: 24, firstNames: ["Outlet 1", "Outlet 2"],
            load: ["currentAmps": 1.4, "powerWatts": 270, "energyKWh": 1967.7], writableStateColumn: "1.3.6.1.4.1.318.1.1.4.4.2.1.3",
            states: ["on": 23, "off": 1]),
        // 64 rows, 40 of them numbered: the rest are filler.
        PDUCapture(
            capture: "apc-cpdu", deviceType: "apcCpdu", familyName: "APC CPDU-MIB", count: 40, firstNames: [],
            meters: [2: ["currentAmps": 0.28], 5: ["currentAmps": 0.27]], load: ["powerWatts": 258, "energyKWh": 791.8], states: ["on": 40]),
        // Metered only: the names come from the metered table, the state is unknown (there is no switched table).
        PDUCapture(
            capture: "dell-rpdu", deviceType: "dellrPdu", familyName: "Dell DellrPDU-MIB", count: 24, firstNames: ["Outlet 1", "Outlet 2", "Outlet 3"],
            meters: [1: ["currentAmps": 1], 3: ["currentAmps": 2]], load: ["currentAmps": 19.3, "powerWatts": 3790, "energyKWh": 63013.9],
            states: ["unknown": 24]),
        // No outlet table in the capture: eight outlets on unit 1 plus the filler rows a fixed-size table has.
        PDUCapture(
            capture: "enlogic-pdu_v2", deviceType: "enlogicv1", familyName: "Enlogic", count: 8, firstNames: ["Outlet 1", "Outlet 2"],
            load: ["currentAmps": 2.77, "powerWatts": 1120, "energyKWh": 52777.6],
            companion: { _ in
                (1...10).flatMap { outlet -> [String] in
                    let number = outlet <= 8 ? outlet : 0
                    return [
                        "1.3.6.1.4.1.38446.1.5.4.1.2.1.\(outlet)|2|\(number)", "1.3.6.1.4.1.38446.1.5.4.1.3.1.\(outlet)|4|\(number == 0 ? "" : "Outlet \(outlet)")",
                        "1.3.6.1.4.1.38446.1.5.4.1.4.1.\(outlet)|2|\(outlet == 2 ? 0 : 1)",
                    ]
                }
            }, states: ["on": 7, "off": 1]),
        // No status column: the companion adds outletStatusStatus (outletOn(3)) for the capture's twelve rows.
        PDUCapture(
            capture: "ipoman", deviceType: "ipoman", familyName: "Ingrasys IPOMANII-MIB", count: 12, firstNames: ["a-1", "a-2", "a-3", "f-1"],
            meters: [1: ["currentAmps": 0.4], 2: ["currentAmps": 0.51]], load: ["currentAmps": 3.83],
            companion: { lines in
                column(lines, rows: "1.3.6.1.4.1.2468.1.4.2.1.3.2.2.1.2", column: "1.3.6.1.4.1.2468.1.4.2.1.3.2.3.1.2") { _, _ in "2|3" }
            }, states: ["on": 12]),
        // No outletOperationalState: the companion adds it, writable, for the capture's rows.
        PDUCapture(
            capture: "raritan-pdu", deviceType: "raritanDominionPduMib1", familyName: "Raritan PDU-MIB (PX1)", count: 12,
            firstNames: ["OUTLET1", "OUTLET2"], load: ["currentAmps": 2.971, "powerWatts": 580, "energyKWh": 0],
            companion: { lines in
                column(lines, rows: "1.3.6.1.4.1.13742.4.1.2.2.1.2", column: "1.3.6.1.4.1.13742.4.1.2.2.1.3") { _, _ in "2|1" }
            },
            writableStateColumn: "1.3.6.1.4.1.13742.4.1.2.2.1.3", states: ["on": 12]),
        // PDU2-MIB: outletName where set, else the printed label; the state from the onOff sensor; values with each
        // sensor's decimal digits.
        PDUCapture(
            capture: "raritan-pdu_px3", deviceType: "raritanDominionPduMib1", familyName: "Raritan PDU2-MIB", count: 24,
            firstNames: ["1", "DEVICE 8:PS1:Planned", "3"],
            meters: [2: ["currentAmps": 0.927, "energyKWh": 6564.342]], load: ["currentAmps": 7.467, "powerWatts": 1665, "energyKWh": 74057.676],
            states: ["on": 24]),
        // Names and loads, no status: the companion adds outletStatus on(1) for the thirty rows.
        PDUCapture(
            capture: "sentry3_switched", deviceType: "sentry3", familyName: "ServerTech Sentry3-MIB", count: 30,
            firstNames: ["Outlet AA1", "Outlet AA2"], meters: [8: ["currentAmps": 0.64], 10: ["currentAmps": 0.65]],
            companion: { lines in
                column(lines, rows: "1.3.6.1.4.1.1718.3.2.3.1.3", column: "1.3.6.1.4.1.1718.3.2.3.1.5") { _, _ in "2|1" }
            }, states: ["on": 30]),
        // Units and cords without outlets: the companion gives each of the capture's two cords four outlets (names,
        // st4OutletState), indexed unit.cord.outlet as the capture's cords are.
        PDUCapture(
            capture: "sentry4", deviceType: "sentry4", familyName: "ServerTech Sentry4-MIB", count: 8, firstNames: ["AA1", "AA2"],
            companion: { lines in
                instances(lines, column: "1.3.6.1.4.1.1718.4.1.3.2.1.2").enumerated().flatMap { cordPosition, cord in
                    (1...4).flatMap { outlet in
                        [
                            "1.3.6.1.4.1.1718.4.1.8.2.1.3.\(cord).\(outlet)|4|\(cordPosition == 0 ? "AA" : "BA")\(outlet)",
                            "1.3.6.1.4.1.1718.4.1.8.3.1.1.\(cord).\(outlet)|2|\(outlet == 4 ? 2 : 1)",
                        ]
                    }
                }
            }, states: ["on": 6, "off": 2]),
        // Totals and phases without outlets: the companion adds four switched outlets.
        PDUCapture(
            capture: "vertiv-pdu_mg02e4w1", deviceType: "geistV5", familyName: "Vertiv/Geist VERTIV-V5-MIB", count: 4, firstNames: ["Outlet 1"],
            load: ["currentAmps": 0.95, "powerWatts": 1017, "energyKWh": 8483.906],
            companion: { _ in
                (1...4).flatMap { outlet in
                    ["1.3.6.1.4.1.21239.5.2.3.5.1.3.\(outlet)|4|Outlet \(outlet)", "1.3.6.1.4.1.21239.5.2.3.5.1.4.\(outlet)|2|1"]
                }
            }, states: ["on": 4]),
    ]
}

/// The real PDU captures through the API: outlets listed as each capture holds them (count, names, index layout,
/// filler rows), meters and the unit's load in the agent's units, and a switch read back where the capture's state
/// column is also its command column.
@Suite(.serialized) struct PDUCaptureTests {
    static func body(_ value: JSONValue) -> ByteBuffer { ByteBuffer(string: value.jsonText) }

    @Test(arguments: PDUCapture.all) func listsTheCaptureAsItIs(capture: PDUCapture) async throws {
        var lines = try PDUCapture.lines(capture.capture)
        lines += capture.companion(lines)
        if let column = capture.writableStateColumn {
            lines = lines.map { line in
                let fields = line.split(separator: "|", omittingEmptySubsequences: false)
                guard fields.count == 3, fields[0].hasPrefix(column + "."), fields[1] == "2" else { return line }
                return "\(fields[0])|2:writecache|value=\(fields[2])"
            }
        }
        // snmpsim keys the device by community = file name; a dash is fine, the file is the capture's own name.
        let simulator = try await SNMPSimulator(devices: [capture.capture: lines])
        defer { simulator.stop() }
        let agent = try await TestAgent {
            $0.snmp.timeoutSeconds = 2
            $0.snmp.outletVerifySeconds = 2
        }
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter { client in
            let device: JSONValue = ["deviceType": .string(capture.deviceType), "name": "pdu", "host": .string("127.0.0.1:\(simulator.port)"),
                                     "snmpCommunity": .string(capture.capture), "snmpVersion": "2c"]
            let put = try await client.execute(uri: "/v1/network-devices/pdu", method: .put, headers: headers, body: Self.body(device))
            #expect(put.status == .created, "\(put.text)")
            let listing = try await client.execute(uri: "/v1/network-devices/pdu/outlets", method: .get, headers: headers)
            let result = listing.envelope["result"]
            #expect(result?["family"]?.stringValue?.hasPrefix(capture.familyName) == true, "\(listing.text)")
            guard case .array(let outlets)? = result?["outlets"] else {
                Issue.record("no outlets: \(listing.text)")
                return
            }
            #expect(outlets.count == capture.count, "\(listing.text)")
            #expect(outlets.map { $0["number"]?.intValue ?? 0 } == Array(1...capture.count), "\(listing.text)")
            #expect(Array(outlets.prefix(capture.firstNames.count).map { $0["name"]?.stringValue ?? "" }) == capture.firstNames, "\(listing.text)")
            let states = Dictionary(grouping: outlets.map { $0["state"]?.stringValue ?? "?" }, by: { $0 }).mapValues(\.count)
            #expect(states == capture.states, "\(listing.text)")
            for (number, readings) in capture.meters {
                for (quantity, value) in readings {
                    #expect(outlets[number - 1][quantity]?.doubleValue == value, "outlet \(number) \(quantity): \(listing.text)")
                }
            }
            for quantity in ["currentAmps", "powerWatts", "energyKWh"] {
                #expect(result?["load"]?[quantity]?.doubleValue == capture.load[quantity], "load \(quantity): \(listing.text)")
            }

            guard let column = capture.writableStateColumn else { return }
            let outlet = capture.count
            let off = try await client.execute(uri: "/v1/network-devices/pdu/outlets/\(outlet)/off?wait=20", method: .post, headers: headers)
            #expect(off.envelope["result"]?["result"]?["state"] == "off" && off.envelope["result"]?["result"]?["before"] == "on", "\(off.text)")
            let written = try await simulator.get(community: capture.capture, oid: "\(column).\(outlet)")
            #expect(written != "1", "the simulator holds the written command: \(written)")
            let on = try await client.execute(uri: "/v1/network-devices/pdu/outlets/\(outlet)/on?wait=20", method: .post, headers: headers)
            #expect(on.envelope["result"]?["result"]?["state"] == "on", "\(on.text)")
        }
    }
}
