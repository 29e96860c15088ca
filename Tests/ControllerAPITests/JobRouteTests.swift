import AgentCore
import ControllerAPI
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

@Suite struct JobRouteTests {
    /// A test route that starts a job sleeping `milliseconds` then answering its body.
    static func sleeperRoute(_ runtime: AgentRuntime) -> (Router<AgentRequestContext>) -> Void {
        { router in
            router.post("/v1/test/sleep/{milliseconds}") { request, context in
                let payload = try await RequestPayload.read(request, limit: 1 << 20)
                let milliseconds = Int(try context.pathParameter("milliseconds")) ?? 0
                let echo = try payload.decode(JSONValue.self)
                return try await JobSubmission(runtime: runtime).respond(
                    to: request, payload: payload, kind: "test.sleep", target: "test", description: "Slept",
                    rootType: "tests", rootId: "1"
                ) { _ in
                    try await Task.sleep(for: .milliseconds(milliseconds))
                    return echo
                }
            }
        }
    }

    @Test func submitPollAndList() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        let headers = agent.authorization
        try await agent.withRouter(extraRoutes: Self.sleeperRoute(agent.runtime)) { client in
            let accepted = try await client.execute(uri: "/v1/test/sleep/10", method: .post, headers: headers, body: ByteBuffer(string: #"{"a":1}"#))
            #expect(accepted.status == .accepted)
            let jobId = try #require(accepted.envelope["result"]?["jobId"]?.stringValue)
            #expect(accepted.envelope["result"]?["state"] == "queued")
            _ = try await agent.runtime.jobs.waitForEnd(jobId: jobId)
            let polled = try await client.execute(uri: "/v1/jobs/\(jobId)", method: .get, headers: headers)
            #expect(polled.envelope["result"]?["state"] == "succeeded")
            #expect(polled.envelope["result"]?["result"] == ["a": 1])
            let listed = try await client.execute(uri: "/v1/jobs?state=succeeded", method: .get, headers: headers)
            guard case .array(let jobs) = listed.envelope["result"] else {
                Issue.record("no list")
                return
            }
            #expect(jobs.contains { $0["jobId"] == .string(jobId) })
            let waited = try await client.execute(uri: "/v1/test/sleep/5?wait=10", method: .post, headers: headers, body: ByteBuffer(string: "{}"))
            #expect(waited.status == .ok)
            #expect(waited.envelope["result"]?["state"] == "succeeded")
        }
    }

    @Test func idempotencyKeyOverHTTP() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        var headers = agent.authorization
        headers[HTTPField.Name("Idempotency-Key")!] = "power-42-attempt-1"
        let keyed = headers
        try await agent.withRouter(extraRoutes: Self.sleeperRoute(agent.runtime)) { client in
            let first = try await client.execute(uri: "/v1/test/sleep/50", method: .post, headers: keyed, body: ByteBuffer(string: #"{"x":1}"#))
            let second = try await client.execute(uri: "/v1/test/sleep/50", method: .post, headers: keyed, body: ByteBuffer(string: #"{"x":1}"#))
            #expect(first.envelope["result"]?["jobId"] == second.envelope["result"]?["jobId"])
            #expect(try await agent.runtime.jobs.jobs(state: nil, limit: 10).count == 1)
            let different = try await client.execute(uri: "/v1/test/sleep/50", method: .post, headers: keyed, body: ByteBuffer(string: #"{"x":2}"#))
            #expect(different.status == .conflict)
            #expect(different.envelope["error"]?["code"] == "idempotency_key_reused")
        }
    }

    @Test func jobsSurviveARestartOfTheServer() async throws {
        let agent = try await TestAgent()
        defer { agent.remove() }
        let headers = agent.authorization
        let jobId = try await agent.withRouter(extraRoutes: Self.sleeperRoute(agent.runtime)) { client in
            let accepted = try await client.execute(uri: "/v1/test/sleep/600000", method: .post, headers: headers, body: ByteBuffer(string: "{}"))
            return try #require(accepted.envelope["result"]?["jobId"]?.stringValue)
        }
        let finished = try await agent.withRouter(extraRoutes: Self.sleeperRoute(agent.runtime)) { client in
            let done = try await client.execute(uri: "/v1/test/sleep/1?wait=10", method: .post, headers: headers, body: ByteBuffer(string: "{}"))
            return try #require(done.envelope["result"]?["jobId"]?.stringValue)
        }
        // A new server object on the same state directory: the job that was running is failed, the finished one kept.
        let restarted = try await AgentRuntime(configuration: agent.runtime.configuration, logger: Logger(label: "test"))
        let interrupted = try #require(try await restarted.jobs.job(id: jobId))
        #expect(interrupted.state == .failed)
        #expect(interrupted.error?.code == "agent_restarted")
        #expect(try await restarted.jobs.job(id: finished)?.state == .succeeded)
        let events = try await restarted.outbox.pendingEvents()
        #expect(events.filter { $0.type == "job.finished" }.count == 2)
    }
}
