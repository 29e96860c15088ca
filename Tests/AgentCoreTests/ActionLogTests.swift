import AgentCore
import Foundation
import Testing

/// The seed's activity-log row: relation, endpoint, method and requestSource, stored and read back.
@Suite struct ActionLogTests {
    static func row(_ entry: ActionLogEntry) throws -> JSONValue {
        try JSONCoding.decoder.decode(JSONValue.self, from: JSONCoding.encoder.encode(ActionLogRow(entry)))
    }

    @Test func requestOriginAndRelationRoundTrip() async throws {
        let fixture = try CoreFixture()
        defer { fixture.directory.remove() }
        // Written while handling a request, and by a task that request started: both carry the request.
        try await RequestOrigin.$current.withValue(RequestOrigin(endpoint: "/v1/network-devices/7/ports/2/assignments", method: "PUT")) {
            try await fixture.actionLog.append(
                ActionLogEntry(rootType: "snmp_switch", rootId: "7", description: "Port assignments set", relationType: "servers", relationId: "61"))
            try await Task { try await fixture.actionLog.append(ActionLogEntry(rootType: "serverPower", rootId: "61", description: "job")) }.value
        }
        // The agent's own work (a poll, a timer) has no request.
        try await fixture.actionLog.append(ActionLogEntry(rootType: "agents", rootId: "1", description: "Regenerated DHCP Configuration"))
        let rows = try await fixture.actionLog.recent(limit: 10).map(Self.row)
        #expect(rows.count == 3)
        #expect(rows[2]["endpoint"] == "/v1/network-devices/7/ports/2/assignments" && rows[2]["method"] == "PUT" && rows[2]["requestSource"] == "api")
        #expect(rows[2]["relationType"] == "servers" && rows[2]["relationId"] == "61")
        #expect(rows[1]["endpoint"] == "/v1/network-devices/7/ports/2/assignments" && rows[1]["relationId"] == "")
        #expect(rows[0]["requestSource"] == "system" && rows[0]["endpoint"] == "" && rows[0]["method"] == "")
        #expect(rows[0]["modelchanges"] == [] && rows[0]["postdata"] == "" && rows[0]["userId"] == "system")
    }
}
