import AgentCore
import Foundation
import Hummingbird
import Metrics
import SNMP

/// Agent-level routes: ping, info, health, metrics, jobs, action log.
struct AgentRoutes {
    let runtime: AgentRuntime

    func register(on router: Router<AgentRequestContext>) {
        router.get("/healthz") { _, _ in Envelope.text("ok\n") }
        router.get("/metrics") { _, _ in
            // Gauges read from state at scrape time, so they are current whatever the loops are doing.
            await runtime.outbox.recordBacklogMetrics()
            var text = AgentMetrics.render()
            // Ports polled within three intervals; one that stopped being polled leaves the series.
            let polledSince = Date().addingTimeInterval(-3 * runtime.configuration.snmp.pollIntervalSeconds)
            do {
                text += try await runtime.networkDevices.bandwidth.portCounterExposition(polledSince: polledSince)
            } catch {
                // The agent's own metrics still answer; the port series are missing from this scrape, the counter below
                // says so to an alert, and the log says why.
                Counter(label: "rackagent_port_counter_export_failures_total").increment()
                runtime.logger.warning("metrics: port counters not exported", metadata: ["error": "\(AgentError.from(error).message)"])
            }
            return Envelope.text(text, contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
        router.get("/v1/ping") { _, _ in Envelope.success("pong") }
        router.get("/v1/info") { request, _ in
            try await Envelope.success(encoding: info(refresh: request.stringQuery("refresh") == "1"))
        }
        router.get("/v1/jobs/{id}") { _, context in
            let id = try context.pathParameter("id")
            guard let job = try await runtime.jobs.job(id: id) else { throw AgentError.notFound("job", id) }
            return Envelope.success(job.apiRepresentation(revealing: runtime.jobs.takeHandedOverSecrets(of: job)))
        }
        router.get("/v1/jobs") { request, _ in
            var state: JobState?
            if let text = request.stringQuery("state") {
                guard let parsed = JobState(rawValue: text) else {
                    throw AgentError.invalidField("state", "must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                state = parsed
            }
            let limit = try request.integerQuery("limit", default: 100, range: 1...1000)
            let jobs = try await runtime.jobs.jobs(state: state, limit: limit)
            return Envelope.success(.array(jobs.map(\.apiRepresentation)))
        }
        router.get("/v1/logs") { request, _ in
            let limit = try request.integerQuery("limit", default: 100, range: 1...1000)
            let entries = try await runtime.actionLog.recent(limit: limit)
            return try Envelope.success(encoding: entries.map(ActionLogEntry.maskedForReading).map(ActionLogRow.init))
        }
    }

    struct Info: Encodable {
        struct Agent: Encodable {
            let version: String
            let startedAt: Date
            let uptimeSeconds: Int
            let stateDirectory: String
        }
        let agent: Agent
        let tools: [ToolDescription]
        let libraries: [String: String]
        let capabilities: [String]
    }

    func info(refresh: Bool) async -> Info {
        Info(
            agent: .init(
                version: AgentVersion.current, startedAt: runtime.startedAt,
                uptimeSeconds: Int(Date().timeIntervalSince(runtime.startedAt)),
                stateDirectory: runtime.configuration.stateDirectory),
            tools: await runtime.tools(refresh: refresh), libraries: AgentRuntime.linkedLibraries,
            capabilities: runtime.capabilities)
    }
}
