import AgentCore
import ControllerAPI
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

/// A body with typed fields, to exercise the decoding errors of the envelope.
struct Probe: Decodable {
    struct Connection: Decodable {
        let ip: String
        let port: Int
    }
    let name: String
    let connection: Connection
    let tags: [String]?
}

@Suite struct EnvelopeTests {
    func probeRoutes(_ runtime: AgentRuntime) -> (Router<AgentRequestContext>) -> Void {
        { router in
            router.post("/v1/test/probe") { request, _ in
                let payload = try await RequestPayload.read(request, limit: runtime.configuration.api.maxBodyBytes)
                let probe = try payload.decode(Probe.self)
                return Envelope.success(.string(probe.name))
            }
            router.get("/v1/test/unsupported") { _, _ -> Response in throw AgentError.unsupported("not on this device") }
            router.get("/v1/test/crash") { _, _ -> Response in
                struct Unexpected: Error {}
                throw Unexpected()
            }
        }
    }

    @Test func successEnvelope() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        try await agent.withRouter { client in
            let response = try await client.execute(uri: "/v1/ping", method: .get, headers: agent.authorization)
            #expect(response.status == .ok)
            #expect(response.envelope == ["result": "pong", "message": "success"])
        }
    }

    @Test func everyErrorClassHasItsStatusAndCode() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter(extraRoutes: probeRoutes(agent.runtime)) { client in
            func call(_ uri: String, _ method: HTTPRequest.Method = .post, body: String? = nil) async throws -> TestResponse {
                try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
            }
            let cases: [(TestResponse, HTTPResponse.Status, String, String?)] = [
                (try await call("/v1/test/probe", body: "{not json"), .badRequest, "malformed_json", nil),
                (try await call("/v1/test/probe", body: #"{"name": 5, "connection": {"ip": "x", "port": 1}}"#), .badRequest, "invalid_field", "name"),
                (try await call("/v1/test/probe", body: #"{"name": "a"}"#), .badRequest, "missing_field", "connection"),
                (try await call("/v1/test/probe", body: #"{"name": "a", "connection": {"ip": "x"}}"#), .badRequest, "missing_field", "connection.port"),
                (try await call("/v1/test/probe", body: #"{"name": "a", "connection": {"ip": "x", "port": "x"}}"#), .badRequest, "invalid_field", "connection.port"),
                (try await call("/v1/test/probe", body: #"{"name": "a", "connection": {"ip": "x", "port": 1}, "tags": [1]}"#), .badRequest, "invalid_field", "tags[0]"),
                (try await call("/v1/test/probe", body: "[]"), .badRequest, "malformed_json", nil),
                (try await call("/v1/nothing-here", .get), .notFound, "route_not_found", nil),
                (try await call("/v1/jobs/unknown-job", .get), .notFound, "not_found", nil),
                (try await call("/v1/test/unsupported", .get), .unprocessableContent, "unsupported", nil),
                (try await call("/v1/test/crash", .get), .internalServerError, "internal_error", nil),
            ]
            for (response, status, code, field) in cases {
                #expect(response.status == status, "\(response.text)")
                #expect(response.envelope["message"] == "Exception")
                #expect(response.envelope["error"]?["code"] == .string(code), "\(response.text)")
                #expect(response.envelope["result"]?.stringValue?.isEmpty == false)
                if let field { #expect(response.envelope["error"]?["details"]?["field"] == .string(field), "\(response.text)") }
            }
            // The 500 does not leak the error's internals.
            let crash = try await call("/v1/test/crash", .get)
            #expect(!crash.text.contains("Unexpected"))
        }
    }

    @Test func bodiesOverTheLimitAre413() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter(extraRoutes: probeRoutes(agent.runtime)) { client in
            let large = ByteBuffer(repeating: UInt8(ascii: "a"), count: 1_048_577)
            let response = try await client.execute(uri: "/v1/test/probe", method: .post, headers: headers, body: large)
            #expect(response.status == .contentTooLarge)
            #expect(response.envelope["error"]?["code"] == "payload_too_large")
            let atLimit = ByteBuffer(string: #"{"name": "ok", "connection": {"ip": "x", "port": 1}}"#)
            #expect(try await client.execute(uri: "/v1/test/probe", method: .post, headers: headers, body: atLimit).status == .ok)
        }
    }

    @Test func actionLogRowsHaveTheSeedShape() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        try await agent.runtime.actionLog.append(
            ActionLogEntry(rootType: "agents", rootId: "1", description: "Regenerated DHCP Configuration", meta: ["password": "x"]))
        try await agent.withRouter { client in
            let response = try await client.execute(uri: "/v1/logs?limit=5", method: .get, headers: agent.authorization)
            guard case .array(let rows) = response.envelope["result"], let row = rows.first else {
                Issue.record("no rows: \(response.text)")
                return
            }
            for key in ["id", "rootType", "rootId", "description", "loglevel", "created_at", "meta", "userId"] {
                #expect(row[key] != nil, "missing \(key)")
            }
            #expect(row["description"] == "Regenerated DHCP Configuration")
            #expect(row["loglevel"] == "info")
            #expect(row["meta"]?["href"] == "")
            #expect(row["meta"]?["password"] == .string(Secret.mask))
            #expect(row["created_at"]?.stringValue?.hasSuffix(".000000Z") == true || row["created_at"]?.stringValue?.hasSuffix("Z") == true)
            let bad = try await client.execute(uri: "/v1/logs?limit=0", method: .get, headers: agent.authorization)
            #expect(bad.status == .badRequest)
            #expect(bad.envelope["error"]?["details"]?["field"] == "limit")
        }
    }

    @Test func infoReportsVersionsAndLinkedLibraries() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        #expect(AgentRuntime.linkedLibraries["netsnmp"]?.isEmpty == false)
        #expect(AgentRuntime.linkedLibraries["libssh2"]?.isEmpty == false)
        try await agent.withRouter { client in
            let response = try await client.execute(uri: "/v1/info", method: .get, headers: agent.authorization)
            let result = response.envelope["result"]
            #expect(result?["agent"]?["version"] == .string(AgentVersion.current))
            #expect(result?["libraries"]?["netsnmp"]?.stringValue?.isEmpty == false)
            #expect(result?["libraries"]?["libssh2"]?.stringValue?.isEmpty == false)
            guard case .array(let tools) = result?["tools"] else {
                Issue.record("no tools")
                return
            }
            #expect(tools.contains { $0["name"] == "ipmitool" })
        }
    }

    @Test func metricsCountRequestsByRouteAndStatus() async throws {
        AgentMetrics.bootstrap()
        let agent = try await TestAgent()
        defer { agent.remove() }
        try await agent.withRouter { client in
            _ = try await client.execute(uri: "/v1/ping", method: .get, headers: agent.authorization)
            _ = try await client.execute(uri: "/v1/ping", method: .get)
            let metrics = try await client.execute(uri: "/metrics", method: .get, headers: agent.authorization)
            #expect(metrics.text.contains("rackagent_http_requests_total"))
            #expect(metrics.text.contains(#"route="/v1/ping""#))
            #expect(metrics.text.contains(#"status="401""#))
            #expect(metrics.text.contains("rackagent_http_request_duration_seconds"))
        }
    }
}

/// The path a request is logged and recorded under: its own, unless a route parameter is a token of any kind.
@Suite struct RequestOriginPathTests {
    @Test func aTokenInThePathIsShownAsItsRoute() {
        let token = String(repeating: "ab", count: 32)
        #expect(RequestOriginPath.shown("/v1/consoles/\(token)", route: "/v1/consoles/{token}") == "/v1/consoles/{token}")
        #expect(RequestOriginPath.shown("/boot/\(token)/kickstart", route: "/boot/{bootToken}/kickstart") == "/boot/{bootToken}/kickstart")
        #expect(RequestOriginPath.shown("/v1/installations/61", route: "/v1/installations/{serverId}") == "/v1/installations/61")
        #expect(RequestOriginPath.shown("/v1/ping", route: nil) == "/v1/ping")
    }
}
